/**
 * Live registry events: the batcher gathers a burst into one change set
 * handed over at most once per delay (renames chained, deletions kept), and
 * the Models panel and version view models apply it: the panel searches
 * again with the filter last searched, keeping the selection (through a
 * rename) and the half-typed filter; a stale reply never wins; a deleted
 * version's view shows a notice (as text) over what it showed.
 */

import * as React from 'react';
import { act } from 'react';
import { createRoot } from 'react-dom/client';
import { EVIL, unmountRoot, versionViewActions } from './utils';

import { Event, ServerConnection } from '@jupyterlab/services';

import { IRegisteredModel, IModelVersion, RegistryAPI } from '../models/api';
import {
  follow,
  IRegistryChanges,
  IRegistryEvent,
  REGISTRY_EVENT_SCHEMA,
  registryEvent,
  RegistryEventBatcher
} from '../models/live';
import { ModelsPanelModel } from '../models/panel';
import { VersionView, VersionViewModel } from '../models/versionview';

let lastSeq = 0;

/** The next audit entry's event (numbered as the audit trail numbers them). */
function event(
  action: string,
  fields: Partial<IRegistryEvent> = {}
): IRegistryEvent {
  return { action, seq: ++lastSeq, actor: 'bob', ...fields };
}

describe('registryEvent', () => {
  it('picks the registry events out of the event bus', () => {
    const emission = {
      schema_id: REGISTRY_EVENT_SCHEMA,
      action: 'alias.set',
      seq: 3,
      actor: 'bob',
      model: 'm'
    } as unknown as Event.Emission;
    expect(registryEvent(emission)?.model).toBe('m');
    expect(
      registryEvent({
        schema_id: 'https://events.jupyter.org/jupyter_mm/store/v1',
        action: 'run-created'
      } as unknown as Event.Emission)
    ).toBeNull();
  });
});

describe('RegistryEventBatcher', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('hands over one batch per burst, at most once per delay', () => {
    const batches: IRegistryChanges[] = [];
    const batcher = new RegistryEventBatcher(c => batches.push(c), 300);
    batcher.add(event('model.created', { model: 'a' }));
    batcher.add(event('version.created', { model: 'a', version: 1 }));
    jest.advanceTimersByTime(299);
    batcher.add(event('alias.set', { model: 'b', version: 2, alias: 'x' }));
    expect(batches).toHaveLength(0);
    jest.advanceTimersByTime(1);
    expect(batches).toHaveLength(1);
    expect([...batches[0].models].sort()).toEqual(['a', 'b']);
    expect(batches[0].global).toBe(false);

    // The next event starts a new batch.
    batcher.add(event('policy.set'));
    jest.advanceTimersByTime(300);
    expect(batches).toHaveLength(2);
    expect(batches[1].global).toBe(true);
    expect(batches[1].models.size).toBe(0);
    jest.advanceTimersByTime(1000);
    expect(batches).toHaveLength(2);
  });

  it('chains renames and remembers deletions', () => {
    const batches: IRegistryChanges[] = [];
    const batcher = new RegistryEventBatcher(c => batches.push(c), 300);
    batcher.add(event('model.renamed', { model: 'b', previous_name: 'a' }));
    batcher.add(event('model.renamed', { model: 'c', previous_name: 'b' }));
    batcher.add(event('version.deleted', { model: 'c', version: 2 }));
    batcher.add(event('model.deleted', { model: 'gone' }));
    batcher.add(event('model.deleted', { model: 'back' }));
    batcher.add(event('model.created', { model: 'back' }));
    jest.advanceTimersByTime(300);
    const [changes] = batches;
    expect([...changes.renamed].sort()).toEqual([
      ['a', 'c'],
      ['b', 'c']
    ]);
    expect(follow(changes, 'a', 1)).toEqual({
      name: 'c',
      gone: false,
      changed: true
    });
    expect(follow(changes, 'a', 2).gone).toBe(true);
    expect(follow(changes, 'gone', 1).gone).toBe(true);
    expect(follow(changes, 'back', 1).gone).toBe(false);
    expect(follow(changes, 'other', 1)).toEqual({
      name: 'other',
      gone: false,
      changed: false
    });

    // Renamed back within a batch: no rename left, the name still changed.
    batcher.add(event('model.renamed', { model: 'y', previous_name: 'x' }));
    batcher.add(event('model.renamed', { model: 'x', previous_name: 'y' }));
    jest.advanceTimersByTime(300);
    expect([...batches[1].renamed]).toEqual([['y', 'x']]);
    expect(follow(batches[1], 'x')).toEqual({
      name: 'x',
      gone: false,
      changed: true
    });
  });

  it('concerns every view after a gap in the numbers (missed events)', () => {
    const batches: IRegistryChanges[] = [];
    const batcher = new RegistryEventBatcher(c => batches.push(c), 300);
    batcher.add(event('alias.set', { model: 'a', version: 1, alias: 'x' }));
    jest.advanceTimersByTime(300);
    expect(batches[0].global).toBe(false);
    lastSeq += 2; // two entries the WebSocket never delivered
    batcher.add(event('alias.set', { model: 'a', version: 2, alias: 'x' }));
    jest.advanceTimersByTime(300);
    expect(batches[1].global).toBe(true);
    expect(follow(batches[1], 'unrelated').changed).toBe(true);
  });

  it('drops the pending batch when disposed', () => {
    const flush = jest.fn();
    const batcher = new RegistryEventBatcher(flush, 300);
    batcher.add(event('model.created', { model: 'a' }));
    batcher.dispose();
    batcher.add(event('model.created', { model: 'b' }));
    jest.advanceTimersByTime(1000);
    expect(flush).not.toHaveBeenCalled();
  });
});

function model(name: string, last = 1): IRegisteredModel {
  return {
    name,
    description: null,
    owner: 'alice',
    creation_time: 1,
    last_update_time: 1,
    tags: {},
    aliases: {},
    last_version: last
  };
}

function version(name: string, v: number): IModelVersion {
  return {
    name,
    version: v,
    source: 's3://bucket/m',
    run_id: null,
    model_path: null,
    status: 'READY',
    description: null,
    user_id: 'alice',
    creation_time: 1,
    last_update_time: null,
    tags: {},
    aliases: [],
    approval: null
  };
}

/**
 * A registry whose models can change between requests, and whose replies
 * can be held back (to finish out of order).
 */
class FakeRegistry {
  models: IRegisteredModel[] = [model('a'), model('b')];
  versions: Record<string, number> = { a: 1, b: 1 };
  searches: string[] = [];
  held: Array<() => void> = [];
  hold = false;

  api(): RegistryAPI {
    const settings = ServerConnection.makeSettings({
      baseUrl: 'http://localhost:8888/',
      fetch: (async (input: RequestInfo) => {
        const request = input as Request;
        const url = new URL(request.url);
        const path = decodeURIComponent(
          url.pathname.replace('/jupyter-mm/api/', '')
        );
        const reply = this._route(path, url.searchParams);
        if (this.hold) {
          await new Promise<void>(resolve => this.held.push(resolve));
        }
        return new Response(JSON.stringify(reply.body), {
          status: reply.status,
          headers: { 'Content-Type': 'application/json' }
        });
      }) as typeof fetch
    });
    return new RegistryAPI(settings);
  }

  private _route(
    path: string,
    query: URLSearchParams
  ): { status: number; body: unknown } {
    if (path === 'registry/models') {
      const filter = query.get('filter') ?? '';
      this.searches.push(filter);
      const found = this.models.filter(m => !filter || m.name === filter);
      return { status: 200, body: { models: found } };
    }
    const parts = path.split('/');
    const found = this.models.find(m => m.name === parts[2]);
    if (!found) {
      return {
        status: 404,
        body: { error_code: 'RESOURCE_DOES_NOT_EXIST', message: 'no model' }
      };
    }
    if (parts.length === 3) {
      return { status: 200, body: found };
    }
    const count = this.versions[found.name] ?? 0;
    if (parts[3] === 'monitoring') {
      return {
        status: 200,
        body: { name: found.name, monitors: [], versions: [] }
      };
    }
    if (parts.length === 4) {
      const list = [];
      for (let v = count; v >= 1; v--) {
        list.push(version(found.name, v));
      }
      return { status: 200, body: { versions: list } };
    }
    if (parts[5] === 'card') {
      return { status: 200, body: { format: 'markdown', card: '# card' } };
    }
    if (parts[5] === 'lineage') {
      return {
        status: 404,
        body: { error_code: 'RESOURCE_DOES_NOT_EXIST', message: 'none' }
      };
    }
    return { status: 200, body: version(found.name, Number(parts[4])) };
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) {
    await act(() => new Promise<void>(resolve => setTimeout(resolve, 0)));
  }
}

describe('ModelsPanelModel.update', () => {
  it('keeps the selection and the typed filter, and shows new versions', async () => {
    const registry = new FakeRegistry();
    const panel = new ModelsPanelModel(registry.api());
    await panel.search();
    await panel.select('b');
    expect(panel.versions.map(v => v.version)).toEqual([1]);
    panel.setFilter('half-typ');

    registry.models = [model('a'), model('b', 2), model('c')];
    registry.versions.b = 2;
    await panel.update();
    expect(panel.selected).toBe('b');
    expect(panel.filter).toBe('half-typ');
    // The filter last searched (none), not the half-typed one.
    expect(registry.searches).toEqual(['', '']);
    expect(panel.models.map(m => m.name)).toEqual(['a', 'b', 'c']);
    expect(panel.versions.map(v => v.version)).toEqual([2, 1]);
    expect(panel.model?.last_version).toBe(2);
  });

  it('follows a rename of the selected model and moves on from a deletion', async () => {
    const registry = new FakeRegistry();
    const panel = new ModelsPanelModel(registry.api());
    await panel.search();
    await panel.select('b');

    registry.models = [model('a'), model('b2')];
    registry.versions = { a: 1, b2: 1 };
    const batches: IRegistryChanges[] = [];
    jest.useFakeTimers();
    try {
      const batcher = new RegistryEventBatcher(c => batches.push(c));
      batcher.add(event('model.renamed', { model: 'b2', previous_name: 'b' }));
      jest.runAllTimers();
    } finally {
      jest.useRealTimers();
    }
    await panel.update(batches[0]);
    expect(panel.selected).toBe('b2');
    expect(panel.model?.name).toBe('b2');

    registry.models = [model('a')];
    await panel.update();
    expect(panel.selected).toBe('a');
    expect(panel.versionsError).toBeNull();
  });

  it('never lets an older reply overwrite a newer one', async () => {
    const registry = new FakeRegistry();
    const panel = new ModelsPanelModel(registry.api());
    await panel.search();

    registry.hold = true;
    const older = panel.update();
    await settle();
    registry.models = [model('a'), model('b'), model('new')];
    const newer = panel.update();
    await settle();
    expect(registry.held).toHaveLength(2);
    registry.hold = false;
    registry.held[1](); // the newer search ends first
    await newer;
    registry.held[0]();
    await older;
    await settle();
    expect(panel.models.map(m => m.name)).toEqual(['a', 'b', 'new']);
  });
});

describe('VersionViewModel live', () => {
  it('follows a rename and shows a deletion as a text notice', async () => {
    const registry = new FakeRegistry();
    const view = new VersionViewModel(registry.api(), 'a', 1);
    await view.load();
    expect(view.data?.name).toBe('a');

    registry.models = [model('a2')];
    registry.versions = { a2: 1 };
    view.rename('a2');
    await view.load();
    expect(view.name).toBe('a2');
    expect(view.data?.name).toBe('a2');
    expect(view.error).toBeNull();

    const host = document.createElement('div');
    document.body.appendChild(host);
    const root = createRoot(host);
    const actions = versionViewActions();
    try {
      act(() => root.render(<VersionView model={view} actions={actions} />));
      act(() => view.markGone(`${EVIL} v1 was deleted`));
      const notice = host.querySelector('.jp-mm-version-gone');
      expect(notice?.getAttribute('role')).toBe('alert');
      expect(notice?.textContent).toBe(`${EVIL} v1 was deleted`);
      expect(host.querySelector('img')).toBeNull();
      // What it showed stays.
      expect(host.querySelector('.jp-mm-view-title')?.textContent).toBe(
        'a2 v1'
      );
    } finally {
      unmountRoot(host, root);
    }
  });
});
