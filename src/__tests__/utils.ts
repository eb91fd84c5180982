/**
 * What several specs share: a React root mounted in the document for each test, and a fake
 * Jupyter server answering the REST calls.
 */

import { ServerConnection } from '@jupyterlab/services';
import { act } from 'react';
import * as React from 'react';
import { createRoot, Root } from 'react-dom/client';

import { IModelVersion, RegistryAPI } from '../models/api';
import type { askForm } from '../models/dialogs';
import {
  IModelsPanelActions,
  ModelsPanelModel,
  ModelsPanelView
} from '../models/panel';
import {
  IVersionViewActions,
  VersionView,
  VersionViewModel
} from '../models/versionview';
import { IExperiment, IVersionMonitoring } from '../schema';
import { ViewsAPI } from '../views/api';

// Every spec that imports these helpers renders with React's `act`: tell React it runs in a test.
(globalThis as any).IS_REACT_ACT_ENVIRONMENT = true;

/**
 * A fresh element in the document and a React root rendering into it.
 */
export function mountRoot(): { host: HTMLDivElement; root: Root } {
  const host = document.createElement('div');
  document.body.appendChild(host);
  return { host, root: createRoot(host) };
}

/**
 * Unmount what `mountRoot` made and take its element out of the document.
 */
export function unmountRoot(host: HTMLElement, root: Root): void {
  act(() => root.unmount());
  host.remove();
}

/**
 * A fresh `mountRoot` before each test of the enclosing `describe`, handed to `use`, and
 * unmounted after it: `mountEachTest(m => ({ host, root } = m));`.
 */
export function mountEachTest(
  use: (mounted: { host: HTMLDivElement; root: Root }) => void
): void {
  let mounted: { host: HTMLDivElement; root: Root };
  beforeEach(() => {
    mounted = mountRoot();
    use(mounted);
  });
  afterEach(() => unmountRoot(mounted.host, mounted.root));
}

/**
 * A request the fake server received (the cache-busting number jupyter_server's client appends
 * is cut from the URL).
 */
export interface ICall {
  method: string;
  url: string;
  body: any;
}

/**
 * Server settings whose `fetch` answers from `routes` and records the calls. A reply's body is
 * sent as JSON, or as it is when it is a string (with `type` as its content type).
 */
export function fakeServerSettings(
  routes: (call: ICall) => { status?: number; body: unknown; type?: string }
): { settings: ServerConnection.ISettings; calls: ICall[] } {
  const calls: ICall[] = [];
  const settings = ServerConnection.makeSettings({
    baseUrl: 'http://localhost:8888/',
    fetch: (async (input: RequestInfo, init?: RequestInit) => {
      const request = typeof input === 'string' ? null : input;
      const url = request ? request.url : String(input);
      const method = (request?.method ?? init?.method ?? 'GET').toUpperCase();
      const text = request ? await request.text() : (init?.body as string);
      const call = {
        method,
        url: url.replace(/[?&]\d{10,}$/, ''),
        body: text ? JSON.parse(text) : null
      };
      calls.push(call);
      const reply = routes(call);
      const body =
        typeof reply.body === 'string'
          ? reply.body
          : JSON.stringify(reply.body);
      return new Response(body, {
        status: reply.status ?? 200,
        headers: { 'Content-Type': reply.type ?? 'application/json' }
      });
    }) as typeof fetch
  });
  return { settings, calls };
}

/**
 * An active experiment without tags, created at time 0.
 */
export function experiment(id: string, name: string): IExperiment {
  return {
    id,
    name,
    lifecycle_stage: 'active',
    artifact_location: null,
    creation_time: 0,
    last_update_time: 0,
    tags: {}
  };
}

/**
 * Markup that must come out as text wherever user or remote text is shown.
 */
export const EVIL = '<img src=x onerror="window.__pwned=1">';

/**
 * The source run of `fakeVersion`.
 */
export const FAKE_RUN = 'a'.repeat(32);

/**
 * Two more runs, for specs that show several.
 */
export const OTHER_RUN = 'b'.repeat(32);
export const THIRD_RUN = 'c'.repeat(32);

type Reply = { status?: number; body: unknown };

/**
 * A fake server: `route` answers by method and path below `jupyter-mm/api/` (with the query);
 * an unrouted call is a 404.
 */
export function routedServer(
  route: (method: string, path: string, call: ICall) => Reply | undefined
): { settings: ServerConnection.ISettings; calls: ICall[] } {
  return fakeServerSettings(call => {
    const url = new URL(call.url);
    const path = decodeURIComponent(
      url.pathname.replace('/jupyter-mm/api/', '')
    );
    return (
      route(call.method, path + url.search, call) ?? {
        status: 404,
        body: { message: `no route ${call.method} ${path}` }
      }
    );
  });
}

/**
 * Let pending promises and zero-delay timers run, inside `act`.
 */
export async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) {
    await act(() => new Promise<void>(resolve => setTimeout(resolve, 0)));
  }
}

/**
 * A scripted `askForm`: each call gets the next answer and is recorded.
 */
export function scripted(answers: Array<Record<string, string> | null>): {
  ask: typeof askForm;
  asked: Array<Parameters<typeof askForm>[0]>;
} {
  const asked: Array<Parameters<typeof askForm>[0]> = [];
  const ask = (async options => {
    asked.push(options);
    return answers.shift() ?? null;
  }) as typeof askForm;
  return { ask, asked };
}

/**
 * Version 1 of `credit-risk`, registered from `FAKE_RUN`.
 */
export function fakeVersion(
  overrides: Partial<IModelVersion> = {}
): IModelVersion {
  return {
    name: 'credit-risk',
    version: 1,
    source: `runs:/${FAKE_RUN}/models/pd`,
    run_id: FAKE_RUN,
    model_path: 'models/pd',
    status: 'READY',
    description: '',
    user_id: 'alice',
    creation_time: 1,
    last_update_time: null,
    tags: {},
    aliases: [],
    approval: null,
    lifecycle: 'active',
    deprecation: null,
    ...overrides
  };
}

/**
 * The version view's actions as mocks (`overrides` replace some).
 */
export function versionViewActions(
  overrides: Partial<Record<keyof IVersionViewActions, jest.Mock>> = {}
): IVersionViewActions & Record<string, jest.Mock> {
  return {
    openRun: jest.fn(),
    openVersion: jest.fn(),
    decide: jest.fn(),
    setAlias: jest.fn(),
    deleteAlias: jest.fn(),
    changed: jest.fn(),
    setLifecycle: jest.fn(),
    checkReproducibility: jest.fn(() => Promise.resolve(null)),
    ...overrides
  };
}

/**
 * The Models panel's actions as mocks.
 */
export function modelsPanelActions(): IModelsPanelActions &
  Record<string, jest.Mock> {
  return {
    openVersion: jest.fn(),
    openRun: jest.fn(),
    decide: jest.fn(),
    setAlias: jest.fn(),
    deleteAlias: jest.fn(),
    register: jest.fn()
  };
}

/**
 * A champion monitor's two evaluations, as the monitoring routes list them: in range, then drift.
 */
export function driftHistory(): IVersionMonitoring['history'] {
  return [
    {
      monitor: 'champion',
      step: 1,
      at: '2026-01-01T00:50:00+00:00',
      status: 'ok',
      rows: 1000,
      drift_share: 0
    },
    {
      monitor: 'champion',
      step: 2,
      at: '2026-01-01T02:50:00+00:00',
      status: 'drift',
      rows: 1000,
      drift_share: 0.5
    }
  ];
}

/**
 * A fake registry for the version view of model `credit` (its version 1 and an empty audit trail),
 * with `routes`, by URL without the query, answering the rest; anything else is a 404.
 */
export function creditRegistry(
  routes: Record<string, (call: ICall) => Reply>
): { api: RegistryAPI; calls: ICall[] } {
  const registry = 'http://localhost:8888/jupyter-mm/api/registry';
  const all: Record<string, (call: ICall) => Reply> = {
    [`${registry}/models/credit/versions/1`]: () => ({
      body: fakeVersion({ name: 'credit' })
    }),
    [`${registry}/audit`]: () => ({ body: { entries: [] } }),
    ...routes
  };
  const { settings, calls } = fakeServerSettings(call => {
    const answer = all[call.url.split('?')[0]];
    return answer
      ? answer(call)
      : {
          status: 404,
          body: { error_code: 'RESOURCE_DOES_NOT_EXIST', message: 'no route' }
        };
  });
  return { api: new RegistryAPI(settings), calls };
}

/**
 * The Models panel rendered into `root` with mock actions, after its first search.
 */
export async function showModelsPanel(
  root: Root,
  api: RegistryAPI
): Promise<ModelsPanelModel> {
  const model = new ModelsPanelModel(api);
  act(() =>
    root.render(
      React.createElement(ModelsPanelView, {
        model,
        actions: modelsPanelActions()
      })
    )
  );
  await act(() => model.search());
  await flush();
  return model;
}

/**
 * A version view of `model` rendered into `root` with `actions`, after it loaded.
 */
export async function showVersionView(
  root: Root,
  model: VersionViewModel,
  actions: IVersionViewActions = versionViewActions()
): Promise<VersionViewModel> {
  act(() => root.render(React.createElement(VersionView, { model, actions })));
  await act(() => model.load());
  await flush();
  return model;
}

/**
 * A run as `GET runs/{id}` answers for the views' specs (`FAKE_RUN` is
 * alpha, any other beta), running, with one metric.
 */
export function fakeViewRun(
  id: string,
  overrides: Record<string, unknown> = {}
): any {
  return {
    id,
    name: id === FAKE_RUN ? 'alpha' : 'beta',
    experiment_id: '0',
    experiment: 'Default',
    status: 'RUNNING',
    start_time: 1_000_000,
    end_time: null,
    user: 'u',
    lifecycle_stage: 'active',
    notes: '',
    params: { lr: id === FAKE_RUN ? '0.1' : '0.3' },
    metrics: { loss: 1 },
    tags: {},
    ...overrides
  };
}

/**
 * A store of runs (`FAKE_RUN` and `other`, more added to `runs`);
 * `GET runs/{id}` and `metrics/history` (two points per run and key) answer
 * from it.
 */
export function fakeViewStore(other = OTHER_RUN): {
  api: ViewsAPI;
  calls: ICall[];
  runs: Record<string, any>;
  getRuns: () => string[];
  histories: () => ICall[];
} {
  const runs: Record<string, any> = {
    [FAKE_RUN]: fakeViewRun(FAKE_RUN),
    [other]: fakeViewRun(other)
  };
  const { settings, calls } = fakeServerSettings(call => {
    const match = /runs\/([0-9a-f]{32})$/.exec(call.url);
    if (match && runs[match[1]]) {
      return { body: runs[match[1]] };
    }
    if (call.url.includes('metrics/history')) {
      return {
        body: {
          series: call.body.run_ids.flatMap((id: string) =>
            call.body.keys.map((key: string) => ({
              run_id: id,
              key,
              step: [0, 1],
              timestamp: [1, 2],
              value: [1, 0.5]
            }))
          )
        }
      };
    }
    return {
      status: 404,
      body: { error_code: 'RESOURCE_DOES_NOT_EXIST', message: 'no' }
    };
  });
  return {
    api: new ViewsAPI(settings),
    calls,
    runs,
    getRuns: () =>
      calls
        .filter(c => c.method === 'GET' && /runs\/[0-9a-f]{32}$/.test(c.url))
        .map(c => c.url.slice(-32)),
    histories: () => calls.filter(c => c.url.includes('metrics/history'))
  };
}
