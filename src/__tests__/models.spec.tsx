/**
 * The Models panel and version view against a fake registry server (a `fetch`
 * stub in the server settings): the REST paths and bodies the registry API
 * sends, the 403 four-eyes refusal as a readable error, the panel's search,
 * selection and actions, the version view's overview, audit timeline,
 * lineage and model card (user text as text, the HTML card only in a
 * sandboxed iframe), and the pure helpers.
 */

import * as React from 'react';
import { act } from 'react';
import { Root } from 'react-dom/client';
import {
  fakeServerSettings,
  ICall as IRequest,
  mountEachTest,
  versionViewActions,
  flush,
  EVIL,
  modelsPanelActions,
  fakeVersion,
  showVersionView
} from './utils';

import { ModelActions } from '../models/actions';
import { errorText, IModelVersion, RegistryAPI } from '../models/api';
import {
  aliasesByVersion,
  approvalActions,
  approvalState,
  auditValue,
  describeChange,
  formatUtc,
  isPlausibleName,
  loggedModelPaths,
  shortDigest,
  versionArgs
} from '../models/format';
import { ModelsPanelModel, ModelsPanelView } from '../models/panel';
import { cardDocument, VersionViewModel } from '../models/versionview';

const RUN = 'c'.repeat(32);

/** A request, with its path below `jupyter-mm/api/` and its query arguments. */
interface ICall extends IRequest {
  path: string;
  query: URLSearchParams;
}

type Route = (call: ICall) => { status?: number; body: unknown } | undefined;

function fakeServer(route: Route): { api: RegistryAPI; calls: ICall[] } {
  const calls: ICall[] = [];
  const { settings } = fakeServerSettings(request => {
    const parsed = new URL(request.url);
    const path = parsed.pathname.replace('/jupyter-mm/api/', '');
    const call = {
      ...request,
      path: decodeURIComponent(path),
      query: parsed.searchParams
    };
    calls.push(call);
    return (
      route(call) ?? {
        status: 404,
        body: { error_code: 'RESOURCE_DOES_NOT_EXIST', message: 'no route' }
      }
    );
  });
  return { api: new RegistryAPI(settings), calls };
}

function version(overrides: Partial<IModelVersion> = {}): IModelVersion {
  return fakeVersion({
    source: `runs:/${RUN}/models/model`,
    model_path: 'models/model',
    run_id: RUN,
    description: EVIL,
    creation_time: Date.UTC(2026, 10, 27, 12, 0, 0),
    ...overrides
  });
}

/** The server's answer when the requester of an approval tries to decide it. */
const FOUR_EYES_REFUSAL = {
  status: 403,
  body: {
    error_code: 'PERMISSION_DENIED',
    message: 'alice requested the approval and cannot decide it'
  }
};

const MODEL = {
  name: 'credit-risk',
  description: EVIL,
  owner: 'alice',
  creation_time: 1,
  last_update_time: 1,
  tags: { team: EVIL },
  aliases: { champion: 1 },
  last_version: 2
};

describe('format helpers', () => {
  it('names approval states and the actions they allow', () => {
    expect(approvalState({ approval: null })).toBe('none');
    const pending = {
      approval: { status: 'PendingManualApproval' } as any
    };
    expect(approvalState(pending)).toBe('pending');
    expect(approvalActions(pending)).toEqual({ request: false, decide: true });
    expect(approvalActions({ approval: null })).toEqual({
      request: true,
      decide: false
    });
    // A rejection is final.
    expect(
      approvalActions({ approval: { status: 'Rejected' } as any })
    ).toEqual({ request: false, decide: false });
    // An approval can still be revoked (by a commented rejection).
    expect(
      approvalActions({ approval: { status: 'Approved' } as any })
    ).toEqual({ request: false, decide: true });
  });

  it('says what an audit entry changed', () => {
    const entry = {
      seq: 3,
      time: 0,
      time_utc: '',
      actor: 'bob',
      model: 'm',
      comment: null
    };
    expect(
      describeChange({
        ...entry,
        action: 'alias.moved',
        version: 2,
        alias: 'champion',
        from: { version: 1 },
        to: { version: 2 }
      })
    ).toBe('v2 @champion: v1 → v2');
    expect(
      describeChange({
        ...entry,
        action: 'approval.approved',
        version: 1,
        alias: null,
        from: { status: 'PendingManualApproval' },
        to: { status: 'Approved' }
      })
    ).toBe('v1: PendingManualApproval → Approved');
    expect(
      describeChange({
        ...entry,
        action: 'alias.deleted',
        version: null,
        alias: 'champion',
        from: { version: 2 },
        to: null
      })
    ).toBe('@champion: v2 → ∅');
    expect(
      describeChange({
        ...entry,
        action: 'version.created',
        version: 4,
        alias: null,
        from: null,
        to: { version: 4 }
      })
    ).toBe('v4: created');
    expect(
      auditValue({ status: 'PendingManualApproval', evidence: ['https://x'] })
    ).toBe('PendingManualApproval (evidence: https://x)');
    expect(auditValue({ description: 'd' })).toBe('{"description":"d"}');
  });

  it('groups aliases, reads logged models and formats values', () => {
    expect(aliasesByVersion({ champion: 1, challenger: 2, b: 1 })).toEqual({
      1: ['b', 'champion'],
      2: ['challenger']
    });
    expect(
      loggedModelPaths({
        'mm.models': JSON.stringify({
          pd: { artifact_path: 'models/pd', flavor: 'sklearn' },
          aa: {}
        })
      })
    ).toEqual([
      { name: 'aa', path: 'models/aa' },
      { name: 'pd', path: 'models/pd' }
    ]);
    // the mlflow client's logged models (MLflow 3) are offered too
    const mlflowId = 'm-' + 'a'.repeat(32);
    expect(
      loggedModelPaths({
        'mm.mlflow.models': JSON.stringify({ [mlflowId]: 'rf', bad: 'x' })
      })
    ).toEqual([{ name: 'rf', path: `models/${mlflowId}` }]);
    expect(
      loggedModelPaths({
        'mm.models': JSON.stringify({ pd: {} }),
        'mm.mlflow.models': JSON.stringify({ [mlflowId]: 'rf' })
      }).map(m => m.path)
    ).toEqual(['models/pd', `models/${mlflowId}`]);
    expect(loggedModelPaths({ 'mm.models': 'not json' })).toEqual([]);
    expect(loggedModelPaths(undefined)).toEqual([]);
    expect(formatUtc(Date.UTC(2026, 2, 31, 23, 59, 58))).toBe(
      '2026-03-31 23:59:58 UTC'
    );
    expect(formatUtc(null)).toBe('—');
    expect(shortDigest('ab'.repeat(32))).toBe('abababababab…');
    expect(isPlausibleName('credit-risk')).toBe(true);
    expect(isPlausibleName('  ')).toBe(false);
    expect(isPlausibleName('a\u0001b')).toBe(false);
    expect(versionArgs({ name: 'm', version: 2 })).toEqual({
      name: 'm',
      version: 2
    });
    expect(versionArgs({ name: 'm', version: '0' })).toBeNull();
    expect(versionArgs({ version: 1 })).toBeNull();
  });
});

describe('RegistryAPI', () => {
  it('sends the documented paths, queries and bodies', async () => {
    const { api, calls } = fakeServer(call => {
      if (call.path.endsWith('/versions') && call.method === 'POST') {
        return { status: 201, body: version() };
      }
      if (call.path === 'registry/models') {
        return { body: { models: [] } };
      }
      if (call.path === 'registry/audit') {
        return { body: { entries: [] } };
      }
      return { body: version() };
    });
    await api.searchModels(" name LIKE 'credit%' ");
    await api.createVersion('a/b c', RUN, 'models/model', 'best AUC');
    await api.decide('a/b c', 1, 'request', 'please', ['https://report']);
    await api.decide('a/b c', 1, 'approve', 'ok', ['ignored']);
    await api.setAlias('a/b c', 'champion', 1, 'go');
    await api.deleteAlias('a/b c', 'champion', 'done');
    await api.audit('a/b c');
    await api.card('a/b c', 1, 'json');
    await api.updateCard('a/b c', 1, { intended_use: 'x' }, 'why');
    expect(calls.map(c => `${c.method} ${c.path}`)).toEqual([
      'GET registry/models',
      'POST registry/models/a/b c/versions',
      'POST registry/models/a/b c/versions/1/approval/request',
      'POST registry/models/a/b c/versions/1/approval/approve',
      'PUT registry/models/a/b c/aliases/champion',
      'DELETE registry/models/a/b c/aliases/champion',
      'GET registry/audit',
      'GET registry/models/a/b c/versions/1/card',
      'PATCH registry/models/a/b c/versions/1/card'
    ]);
    // The name is one escaped path segment.
    expect(calls[1].url).toContain('registry/models/a%2Fb%20c/versions');
    expect(calls[0].query.get('filter')).toBe("name LIKE 'credit%'");
    expect(calls[1].body).toEqual({
      run_id: RUN,
      path: 'models/model',
      comment: 'best AUC'
    });
    expect(calls[2].body).toEqual({
      comment: 'please',
      evidence: ['https://report']
    });
    // Evidence goes with the request only.
    expect(calls[3].body).toEqual({ comment: 'ok' });
    expect(calls[4].body).toEqual({ version: 1, comment: 'go' });
    expect(calls[5].query.get('comment')).toBe('done');
    expect(calls[6].query.get('model')).toBe('a/b c');
    expect(calls[7].query.get('format')).toBe('json');
    expect(calls[8].body).toEqual({ intended_use: 'x', comment: 'why' });
    expect(() => api.getVersion('m', 0)).toThrow(/not a version/);
  });

  it('turns the four-eyes refusal into a readable error', async () => {
    const { api } = fakeServer(() => FOUR_EYES_REFUSAL);
    let caught: unknown = null;
    try {
      await api.decide('m', 1, 'approve', 'mine');
    } catch (error) {
      caught = error;
    }
    expect(errorText(caught)).toBe(
      'Refused (403): alice requested the approval and cannot decide it'
    );
  });
});

describe('ModelsPanel', () => {
  let host: HTMLDivElement;
  let root: Root;

  mountEachTest(m => ({ host, root } = m));

  const actions = modelsPanelActions;

  const route: Route = call => {
    if (call.path === 'registry/models') {
      if ((call.query.get('filter') ?? '').includes('bad')) {
        return {
          status: 400,
          body: {
            error_code: 'INVALID_PARAMETER_VALUE',
            message: 'unexpected token at position 5'
          }
        };
      }
      return { body: { models: [MODEL, { ...MODEL, name: 'other' }] } };
    }
    if (call.path === 'registry/models/credit-risk') {
      return { body: MODEL };
    }
    if (call.path === 'registry/models/credit-risk/versions') {
      return {
        body: {
          versions: [
            version({
              version: 2,
              approval: {
                status: 'PendingManualApproval',
                requested_by: 'alice',
                requested_time: 1,
                request_comment: EVIL,
                evidence: [],
                decided_by: null,
                decided_time: null,
                decision_comment: null
              }
            }),
            version({ aliases: ['champion'] })
          ]
        }
      };
    }
    return undefined;
  };

  it('lists models and versions as text, with badges and actions', async () => {
    const { api } = fakeServer(route);
    const model = new ModelsPanelModel(api);
    const acts = actions();
    act(() => root.render(<ModelsPanelView model={model} actions={acts} />));
    await act(() => model.search());
    await flush();
    expect(host.querySelector('img')).toBeNull();
    expect(host.textContent).toContain(EVIL);
    const items = host.querySelectorAll('.jp-mm-models-item');
    expect(items).toHaveLength(2);
    expect(items[0].getAttribute('aria-current')).toBe('true');
    const rows = host.querySelectorAll('.jp-mm-versions-table tbody tr');
    expect(rows).toHaveLength(2);
    expect(rows[0].textContent).toContain('pending approval');
    expect(rows[0].textContent).toContain('asked by alice');
    expect(rows[1].textContent).toContain('@champion');
    expect(rows[1].textContent).toContain('not submitted');

    const click = (row: Element, text: string) => {
      const button = Array.from(row.querySelectorAll('button')).find(
        b => b.textContent === text
      );
      expect(button).toBeDefined();
      act(() => button!.click());
    };
    click(rows[0], 'Approve');
    expect(acts.decide).toHaveBeenCalledWith('credit-risk', 2, 'approve');
    click(rows[0], 'Reject');
    expect(acts.decide).toHaveBeenCalledWith('credit-risk', 2, 'reject');
    // A pending version cannot be submitted again.
    expect(rows[0].textContent).not.toContain('Request approval');
    click(rows[1], 'Request approval');
    expect(acts.decide).toHaveBeenCalledWith('credit-risk', 1, 'request');
    click(rows[1], 'Set alias…');
    expect(acts.setAlias).toHaveBeenCalledWith('credit-risk', 1);
    act(() =>
      (
        rows[1].querySelector(
          '[aria-label="Delete alias champion"]'
        ) as HTMLButtonElement
      ).click()
    );
    expect(acts.deleteAlias).toHaveBeenCalledWith('credit-risk', 'champion');
    click(rows[1], 'v1');
    expect(acts.openVersion).toHaveBeenCalledWith('credit-risk', 1);
    click(rows[1], RUN.slice(0, 8));
    expect(acts.openRun).toHaveBeenCalledWith(RUN);
  });

  it('shows a filter the server refuses', async () => {
    const { api } = fakeServer(route);
    const model = new ModelsPanelModel(api);
    act(() =>
      root.render(<ModelsPanelView model={model} actions={actions()} />)
    );
    act(() => model.setFilter('name bad'));
    await act(() => model.search());
    await flush();
    expect(host.querySelector('[role="alert"]')?.textContent).toBe(
      'unexpected token at position 5'
    );
    expect(model.models).toEqual([]);
  });

  it('says why the selected model could not be loaded', async () => {
    const { api } = fakeServer(call =>
      call.path === 'registry/models/credit-risk/versions'
        ? { status: 500, body: { message: 'the store is unreachable' } }
        : route(call)
    );
    const model = new ModelsPanelModel(api);
    act(() =>
      root.render(<ModelsPanelView model={model} actions={actions()} />)
    );
    await act(() => model.search());
    await flush();
    expect(model.selected).toBe('credit-risk');
    expect(model.model).toBeNull();
    expect(host.querySelector('[role="alert"]')?.textContent).toContain(
      'the store is unreachable'
    );
  });
});

describe('VersionView', () => {
  let host: HTMLDivElement;
  let root: Root;

  mountEachTest(m => ({ host, root } = m));

  const approved = version({
    aliases: ['champion'],
    approval: {
      status: 'Approved',
      requested_by: 'alice',
      requested_time: Date.UTC(2026, 10, 27, 12, 1, 0),
      request_comment: 'validated',
      evidence: ['https://reports/val-1'],
      decided_by: 'bob',
      decided_time: Date.UTC(2026, 10, 27, 12, 2, 0),
      decision_comment: EVIL
    }
  });

  function route(state: { patched: any[] }): Route {
    return call => {
      const p = 'registry/models/credit-risk/versions/1';
      if (call.path === p) {
        return { body: approved };
      }
      if (call.path === 'registry/audit') {
        return {
          body: {
            entries: [
              {
                seq: 1,
                time: Date.UTC(2026, 10, 27, 12, 2, 0),
                time_utc: '',
                actor: 'bob',
                action: 'approval.approved',
                model: 'credit-risk',
                version: 1,
                alias: null,
                from: { status: 'PendingManualApproval' },
                to: { status: 'Approved' },
                comment: EVIL
              }
            ]
          }
        };
      }
      if (call.path === `${p}/lineage`) {
        return {
          body: {
            model: approved,
            run: {
              id: RUN,
              name: 'logit-v2',
              status: 'FINISHED',
              user: 'alice',
              experiment: 'Default',
              start_time: 1,
              end_time: 2,
              params: {},
              metrics: {},
              notebook_path: 'train.ipynb'
            },
            model_files: null,
            notebook: {
              snapshot: {
                path: '.mm/notebook/end.ipynb',
                digest: 'e'.repeat(64),
                size: 1,
                phase: 'end',
                source: 'live'
              },
              cell: null
            },
            execution_log: {
              path: '.mm/execution_log.json',
              digest: 'f'.repeat(64),
              size: 1,
              entries: 3,
              out_of_order: true,
              hidden_state: false,
              edited_after_run: [],
              missing_cells: []
            },
            datasets: [
              {
                name: EVIL,
                digest: 'ab'.repeat(32),
                context: 'training',
                row_count: 10
              }
            ],
            environment: null,
            git: null,
            missing: [{ part: 'git', reason: 'not in a git work tree' }]
          }
        };
      }
      if (call.path === `${p}/card` && call.method === 'GET') {
        const format = call.query.get('format');
        return {
          body: {
            name: 'credit-risk',
            version: 1,
            format,
            card:
              format === 'json'
                ? { model_details: { name: EVIL } }
                : format === 'html'
                  ? '<h1>Model card: credit-risk version 1</h1><p>&lt;b&gt;</p>'
                  : `# Model card\n${EVIL}`,
            fields: { intended_use: 'scoring', limitations: null }
          }
        };
      }
      if (call.path === `${p}/card` && call.method === 'PATCH') {
        state.patched.push(call.body);
        return { body: { name: 'credit-risk', version: 1, fields: {} } };
      }
      return undefined;
    };
  }

  const viewActions = versionViewActions;

  it('shows the overview, timeline, lineage and a sandboxed card', async () => {
    const { api } = fakeServer(route({ patched: [] }));
    const acts = viewActions();
    const model = await showVersionView(
      root,
      new VersionViewModel(api, 'credit-risk', 1),
      acts
    );
    expect(host.querySelector('img')).toBeNull();
    expect(host.querySelector('.jp-mm-decision')?.textContent).toBe(
      `Approved on 2026-11-27 12:02:00 UTC by bob — “${EVIL}”`
    );
    const entry = host.querySelector('.jp-mm-timeline-entry')!;
    expect(entry.getAttribute('data-action')).toBe('approval.approved');
    expect(entry.textContent).toContain('v1: PendingManualApproval → Approved');
    expect(entry.textContent).toContain(EVIL);
    const steps = Array.from(host.querySelectorAll('.jp-mm-lineage-step')).map(
      s => s.getAttribute('data-part')
    );
    expect(steps).toEqual([
      'version',
      'run',
      'notebook',
      'datasets',
      'environment',
      'git'
    ]);
    expect(host.querySelector('[data-part="notebook"]')?.textContent).toContain(
      'out of order: yes'
    );
    expect(host.querySelector('.jp-mm-lineage-missing')?.textContent).toContain(
      'not in a git work tree'
    );
    const frame = host.querySelector('iframe.jp-mm-card-frame')!;
    expect(frame.getAttribute('sandbox')).toBe('');
    expect(frame.getAttribute('srcdoc')).toContain(
      '<h1>Model card: credit-risk version 1</h1>'
    );

    // The Markdown and JSON cards are text.
    await act(() => model.loadCard('markdown'));
    expect(host.querySelector('.jp-mm-card-text')?.textContent).toBe(
      `# Model card\n${EVIL}`
    );
    await act(() => model.loadCard('json'));
    expect(host.querySelector('.jp-mm-card-text')?.textContent).toContain(
      JSON.stringify(EVIL)
    );
    expect(host.querySelector('img')).toBeNull();

    const runButton = Array.from(host.querySelectorAll('button')).find(
      b => b.textContent === 'logit-v2'
    )!;
    act(() => runButton.click());
    expect(acts.openRun).toHaveBeenCalledWith(RUN);
  });

  it('edits the card fields, clearing the blank ones', async () => {
    const state = { patched: [] as any[] };
    const { api } = fakeServer(route(state));
    const acts = viewActions();
    await showVersionView(
      root,
      new VersionViewModel(api, 'credit-risk', 1),
      acts
    );
    const edit = Array.from(host.querySelectorAll('button')).find(
      b => b.textContent === 'Edit fields…'
    )!;
    act(() => edit.click());
    const area = host.querySelector(
      'textarea[name="limitations"]'
    ) as HTMLTextAreaElement;
    expect(
      (host.querySelector('textarea[name="intended_use"]') as any).value
    ).toBe('scoring');
    const setter = Object.getOwnPropertyDescriptor(
      HTMLTextAreaElement.prototype,
      'value'
    )!.set!;
    act(() => {
      setter.call(area, 'not for SME loans');
      area.dispatchEvent(new Event('input', { bubbles: true }));
    });
    const form = host.querySelector('.jp-mm-card-form') as HTMLFormElement;
    await act(async () => {
      form.dispatchEvent(
        new Event('submit', { bubbles: true, cancelable: true })
      );
    });
    await flush();
    expect(state.patched).toEqual([
      {
        intended_use: 'scoring',
        users: null,
        limitations: 'not for SME loans',
        tradeoffs: null,
        ethical_considerations: null,
        comment: ''
      }
    ]);
    expect(acts.changed).toHaveBeenCalledWith('credit-risk');
    expect(host.querySelector('.jp-mm-card-form')).toBeNull();
  });

  it('shows the card format asked for last, whatever answers last', async () => {
    // A reload (after a save or a live event) may answer after a format click.
    const pending: Array<{ format: string; resolve: (r: any) => void }> = [];
    const api = {
      card: (_name: string, _version: number, format: string) =>
        new Promise(resolve => pending.push({ format, resolve }))
    } as any;
    const model = new VersionViewModel(api, 'credit-risk', 1);
    const first = model.loadCard('markdown');
    const second = model.loadCard('json');
    const reply = (format: string) => ({
      name: 'credit-risk',
      version: 1,
      format,
      card: format === 'json' ? { model_details: {} } : '# Model card'
    });
    pending[1].resolve(reply(pending[1].format));
    await second;
    pending[0].resolve(reply(pending[0].format));
    await first;
    expect(model.cardFormat).toBe('json');
    expect(model.card?.format).toBe('json');
  });

  it('builds a card document with the theme colours around escaped HTML', () => {
    const doc = cardDocument('<p>&lt;b&gt;</p>', null);
    expect(doc).toContain('<body><p>&lt;b&gt;</p></body>');
    expect(doc).toContain('background:#fff');
  });
});

describe('ModelActions', () => {
  afterEach(() => {
    document.body.innerHTML = '';
  });

  it('creates the model when it does not exist, then registers', async () => {
    const created: string[] = [];
    const { api, calls } = fakeServer(call => {
      if (call.path === 'registry/models/new-model' && call.method === 'GET') {
        return created.length
          ? { body: MODEL }
          : {
              status: 404,
              body: { error_code: 'RESOURCE_DOES_NOT_EXIST', message: 'no' }
            };
      }
      if (call.path === 'registry/models' && call.method === 'POST') {
        created.push(call.body.name);
        return { status: 201, body: { ...MODEL, name: call.body.name } };
      }
      if (call.path === 'registry/models/new-model/versions') {
        return { status: 201, body: version({ name: 'new-model' }) };
      }
      return undefined;
    });
    const actions = new ModelActions(api);
    const changed: string[] = [];
    actions.changed.connect((_, name) => changed.push(name));
    const v = await actions.register(RUN, 'models/pd', 'new-model', 'why');
    expect(v?.name).toBe('new-model');
    expect(created).toEqual(['new-model']);
    expect(calls.map(c => `${c.method} ${c.path}`)).toEqual([
      'GET registry/models/new-model',
      'POST registry/models',
      'POST registry/models/new-model/versions'
    ]);
    expect(changed).toEqual(['new-model']);
  });

  it('shows a refusal in an error dialog and announces nothing', async () => {
    const { api } = fakeServer(() => FOUR_EYES_REFUSAL);
    const actions = new ModelActions(api);
    const changed: string[] = [];
    actions.changed.connect((_, name) => changed.push(name));
    const done = actions.decide('credit-risk', 1, 'approve', {
      comment: 'mine'
    });
    // The dialog's header is rendered by React after its body: wait for both.
    let dialog: Element | null = null;
    for (
      let i = 0;
      i < 100 && !dialog?.textContent?.includes('Approve version failed');
      i++
    ) {
      await new Promise(resolve => setTimeout(resolve, 0));
      dialog = document.body.querySelector('.jp-Dialog');
    }
    expect(dialog?.textContent).toContain('Approve version failed');
    expect(dialog?.textContent).toContain(
      'Refused (403): alice requested the approval and cannot decide it'
    );
    (dialog!.querySelector('.jp-Dialog-footer button') as HTMLElement).click();
    expect(await done).toBeNull();
    expect(changed).toEqual([]);
  });
});
