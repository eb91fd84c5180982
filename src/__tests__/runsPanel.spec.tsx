/**
 * Rendering tests of the run panel: virtual rows, text-only cells, sorting,
 * the inline filter error, selection and command-driven buttons.
 */

import * as React from 'react';
import { act } from 'react';
import { Root } from 'react-dom/client';
import { experiment, mountRoot, unmountRoot } from './utils';

import { CommandRegistry } from '@lumino/commands';

import { IRunsApi, ISearchQuery } from '../api';
import {
  IExperiment,
  IRun,
  IRunModel,
  IRunModelsReply,
  ISearchReply
} from '../schema';
import { modelToRegister, registerRunCommands } from '../commands';
import { CommandIDs } from '../commandIds';
import { RunsModel } from '../runsModel';
import { RunsPanelView } from '../runsPanel';

// jsdom lays nothing out: give the scrolling table a viewport of 600 x 400 px
// (what the virtualizer reads), as a browser would.
const viewport = { clientHeight: 600, clientWidth: 400 };
const saved = new Map<string, PropertyDescriptor | undefined>();
beforeAll(() => {
  for (const [name, size] of Object.entries(viewport)) {
    saved.set(
      name,
      Object.getOwnPropertyDescriptor(HTMLElement.prototype, name) ??
        Object.getOwnPropertyDescriptor(Element.prototype, name)
    );
    Object.defineProperty(HTMLElement.prototype, name, {
      configurable: true,
      get(this: HTMLElement) {
        return this.classList.contains('jp-mm-runs-table') ? size : 0;
      }
    });
  }
});
afterAll(() => {
  for (const name of Object.keys(viewport)) {
    delete (HTMLElement.prototype as any)[name];
  }
});

function hex(i: number): string {
  return i.toString(16).padStart(32, '0');
}

class Api implements IRunsApi {
  constructor(public runs: IRun[]) {}
  queries: ISearchQuery[] = [];
  async experiments(): Promise<IExperiment[]> {
    return [experiment('0', 'Default <b>x</b>')];
  }
  async search(query: ISearchQuery): Promise<ISearchReply> {
    this.queries.push(query);
    if (query.filter === 'metrics.auc >') {
      const message =
        'expected a value at position 13, found end of input\n  metrics.auc >\n               ^';
      const { ServerConnection } = await import('@jupyterlab/services');
      throw new ServerConnection.ResponseError(
        new Response(JSON.stringify({ message }), { status: 400 }),
        message
      );
    }
    let runs = this.runs;
    if (query.order_by?.[0] === 'attributes.run_name ASC') {
      runs = runs
        .slice()
        .sort((a, b) => (a.name ?? '').localeCompare(b.name ?? ''));
    }
    const offset = query.page_token ? Number(query.page_token) : 0;
    const size = query.max_results ?? 100;
    return {
      runs: runs.slice(offset, offset + size),
      next_page_token:
        offset + size < runs.length ? String(offset + size) : null
    };
  }
  async getRun(id: string) {
    return this.runs.find(r => r.id === id)!;
  }
  async updateRun(id: string) {
    return this.getRun(id);
  }
  async deleteRun(id: string) {
    return this.getRun(id);
  }
  async restoreRun(id: string) {
    return this.getRun(id);
  }
  async cellRecord() {
    return {};
  }
  /** `runs/{id}/models`: what `models` holds for the run (none by default). */
  models = new Map<string, IRunModel[]>();
  modelQueries: string[] = [];
  async runModels(id: string): Promise<IRunModelsReply> {
    this.modelQueries.push(id);
    return { run_id: id, models: this.models.get(id) ?? [], versions: [] };
  }
}

function runs(n: number): IRun[] {
  return Array.from({ length: n }, (_, i) => ({
    id: hex(i),
    name: `run-${String(n - i).padStart(5, '0')}`,
    status: i === 0 ? 'RUNNING' : i === 1 ? 'FAILED' : 'FINISHED',
    start_time: 1_000_000 - i,
    lifecycle_stage: 'active'
  }));
}

describe('RunsPanelView', () => {
  let host: HTMLDivElement;
  let root: Root;
  let model: RunsModel;
  let api: Api;
  let commands: CommandRegistry;

  async function mount(all: IRun[]): Promise<void> {
    api = new Api(all);
    model = new RunsModel({ api, pageSize: 100 });
    commands = new CommandRegistry();
    await act(async () => {
      await model.start();
      root.render(<RunsPanelView model={model} commands={commands} />);
    });
  }

  const shown = () =>
    Array.from(host.querySelectorAll('.jp-mm-runs-row[data-run-id]'));

  /** The run commands, on the mounted panel's registry, model and API. */
  let menuOpen = false;
  let menuUpdates = 0;

  function registerCommands(): void {
    act(() =>
      registerRunCommands({
        app: {
          commands,
          contextMenu: {
            addItem: () => undefined,
            menu: {
              get isAttached() {
                return menuOpen;
              },
              update: () => {
                menuUpdates += 1;
              }
            }
          }
        } as any,
        model,
        api,
        palette: null,
        focus: () => undefined
      })
    );
  }

  beforeEach(() => {
    ({ host, root } = mountRoot());
  });

  afterEach(() => {
    unmountRoot(host, root);
    model.dispose();
  });

  it('renders only the visible rows of a long list', async () => {
    await mount(runs(10_000));
    const rendered = shown().length;
    expect(rendered).toBeGreaterThan(10);
    expect(rendered).toBeLessThan(80);
    // Only the first page was fetched.
    expect(model.rows).toHaveLength(100);
    expect(host.querySelector('.jp-mm-runs-footer')?.textContent).toContain(
      '100+ runs'
    );
  });

  it('renders every value as text and statuses as badges', async () => {
    const all = runs(3);
    all[2].name = '<img src=x onerror="window.pwned=1">';
    await mount(all);
    expect(host.querySelector('img')).toBeNull();
    expect(host.textContent).toContain('<img src=x onerror="window.pwned=1">');
    expect(host.querySelector('option')?.textContent).toBe('Default <b>x</b>');
    expect(host.querySelector('.jp-mm-runs-badge-running')?.textContent).toBe(
      'running'
    );
    expect(host.querySelector('.jp-mm-runs-badge-failed')).not.toBeNull();
  });

  it('sorts on a header click', async () => {
    await mount(runs(5));
    const header = host.querySelector(
      '.jp-mm-runs-headcell[data-column="attributes.name"]'
    ) as HTMLElement;
    await act(async () => {
      header.click();
    });
    expect(header.getAttribute('aria-sort')).toBe('ascending');
    expect(api.queries[api.queries.length - 1].order_by).toEqual([
      'attributes.run_name ASC'
    ]);
    const first = shown()[0].querySelector('[data-column="attributes.name"]');
    expect(first?.textContent).toBe('run-00001');
  });

  it('groups runs under header rows, text only, virtualised', async () => {
    // By tens: eight runs with lr 0.1, one with markup as its lr, one without.
    const lr = (i: number) =>
      i % 10 < 8 ? '0.1' : i % 10 === 8 ? '<b>x</b>' : null;
    const all = runs(3000).map((run, i): IRun => ({
      ...run,
      params: lr(i) === null ? {} : { lr: lr(i) as string },
      metrics: { auc: lr(i) === '0.1' ? 0.5 + (i % 2) * 0.2 : 0.3 }
    }));
    await mount(all);
    await act(async () => {
      await model.setColumns(['attributes.name', 'metrics.auc']);
      await model.setGroupBy('params.lr');
    });
    const headers = () =>
      Array.from(host.querySelectorAll('.jp-mm-runs-group')).map(row => [
        row.querySelector('.jp-mm-runs-group-value')?.textContent,
        row.querySelector('.jp-mm-runs-group-count')?.textContent,
        row.querySelector('[data-column="metrics.auc"]')?.textContent
      ]);
    // The first page (100 runs): the first group is long, so only its
    // header is in view, with the first of its 80 runs.
    expect(headers()).toEqual([['0.1', ' · 80 runs', '0.6 (0.5–0.7)']]);
    expect(shown().length).toBeLessThan(80);
    expect(host.querySelector('b')).toBeNull();
    const header = host.querySelector('.jp-mm-runs-group') as HTMLElement;
    expect(header.getAttribute('aria-expanded')).toBe('true');
    // A click folds the group: the next headers come into view.
    await act(async () => {
      header.dispatchEvent(
        new MouseEvent('mousedown', { bubbles: true, button: 0 })
      );
    });
    // With the table's end in view, the next page is read: groups grow.
    expect(model.rows.length).toBeGreaterThan(100);
    const counts = model.groups!.map(g => ` · ${g.runs.length} runs`);
    expect(counts.map(c => Number(c.replace(/\D/g, '')))).toEqual([
      (model.rows.length * 8) / 10,
      model.rows.length / 10,
      model.rows.length / 10
    ]);
    expect(headers()).toEqual([
      ['0.1', counts[0], '0.6 (0.5–0.7)'],
      ['<b>x</b>', counts[1], '0.3'],
      ['(none)', counts[2], '0.3']
    ]);
    expect(
      host.querySelector('.jp-mm-runs-group')?.getAttribute('aria-expanded')
    ).toBe('false');
    // Keyboard: the focused header opens with ArrowRight.
    const table = host.querySelector('.jp-mm-runs-table') as HTMLElement;
    await act(async () => {
      table.dispatchEvent(
        new KeyboardEvent('keydown', { key: 'ArrowRight', bubbles: true })
      );
    });
    expect(
      host.querySelector('.jp-mm-runs-group')?.getAttribute('aria-expanded')
    ).toBe('true');
    expect(host.querySelector('.jp-mm-runs-footer')?.textContent).toContain(
      '3 groups'
    );
  });

  it('marks where the filter stopped parsing', async () => {
    await mount(runs(5));
    const input = host.querySelector(
      '.jp-mm-runs-filter-input'
    ) as HTMLInputElement;
    await act(async () => {
      await model.setFilter('metrics.auc >');
    });
    const error = host.querySelector('.jp-mm-filter-error');
    expect(error?.getAttribute('role')).toBe('alert');
    expect(host.querySelector('.jp-mm-filter-error-message')?.textContent).toBe(
      'expected a value at position 13, found end of input'
    );
    expect(host.querySelector('.jp-mm-filter-error-text')?.textContent).toBe(
      'metrics.auc > '
    );
    expect(host.querySelector('.jp-mm-filter-error-at')?.textContent).toBe(' ');
    expect(input.getAttribute('aria-invalid')).toBe('true');
    expect(host.querySelector('.jp-mm-runs-empty')?.textContent).toContain(
      'No runs match'
    );
  });

  it('selects rows with the mouse and enables actions by command', async () => {
    await mount(runs(6));
    registerCommands();
    const opened: string[] = [];
    const rows = shown() as HTMLElement[];
    const press = (el: HTMLElement, init: MouseEventInit = {}) =>
      act(() => {
        el.dispatchEvent(
          new MouseEvent('mousedown', { bubbles: true, button: 0, ...init })
        );
      });
    press(rows[1]);
    press(rows[3], { shiftKey: true });
    expect(host.querySelectorAll('[aria-selected="true"]')).toHaveLength(3);
    press(rows[2], { ctrlKey: true });
    expect(host.querySelectorAll('[aria-selected="true"]')).toHaveLength(2);
    expect(host.querySelector('.jp-mm-runs-footer')?.textContent).toContain(
      '2 selected'
    );

    const open = () =>
      host.querySelector(
        `[data-command="${CommandIDs.openSelected}"]`
      ) as HTMLButtonElement;
    // The run view's command is not there yet: Open is disabled.
    expect(open().disabled).toBe(true);
    act(() => {
      commands.addCommand(CommandIDs.openRun, {
        execute: args => {
          opened.push(args.runId as string);
        }
      });
    });
    expect(open().disabled).toBe(false);
    await act(async () => {
      open().click();
    });
    expect(opened).toEqual([hex(1), hex(3)]);
  });

  it('offers Register Model… for one run that logged a model, with the Models panel', async () => {
    const all = runs(3);
    all[1].tags = {
      'mm.models': JSON.stringify({
        pd: { artifact_path: 'models/pd', flavor: 'sklearn' },
        baseline: { artifact_path: 'models/baseline', flavor: 'sklearn' }
      })
    };
    all[2].tags = { 'mm.models': 'not json' };
    await mount(all);
    // The panel always asks for the tag, whatever the columns.
    const pages = api.queries.filter(q => q.columns?.includes('name'));
    expect(pages.length).toBeGreaterThan(0);
    for (const query of pages) {
      expect(query.columns).toContain('tags.mm.models');
    }
    // The server lists both (by name), as the tag does.
    api.models.set(
      hex(1),
      ['baseline', 'pd'].map(name => ({
        kind: 'mm',
        name,
        path: `models/${name}`,
        model_id: null,
        flavor: 'sklearn',
        logged_time: 1,
        source: `runs:/${hex(1)}/models/${name}`
      }))
    );
    registerCommands();
    const enabled = () => commands.isEnabled(CommandIDs.registerRunModel);
    await act(async () => model.select(hex(1)));
    // No Models panel (its command is missing): disabled.
    expect(enabled()).toBe(false);
    const calls: any[] = [];
    act(() => {
      commands.addCommand(CommandIDs.registerModel, {
        execute: args => {
          calls.push(args);
        }
      });
    });
    expect(enabled()).toBe(true);
    await commands.execute(CommandIDs.registerRunModel);
    // The first model by name; the form offers the others.
    expect(calls).toEqual([{ runId: hex(1), path: 'models/baseline' }]);

    // The server says hex(0) holds none: disabled, saying why.
    await act(async () => model.select(hex(0)));
    expect(enabled()).toBe(false);
    expect(commands.label(CommandIDs.registerRunModel)).toBe(
      'Register Model… (no model)'
    );
    expect(commands.caption(CommandIDs.registerRunModel)).toMatch(
      /^This run holds no model/
    );
    await act(async () => model.select(hex(2))); // an unreadable tag, no model
    expect(enabled()).toBe(false);
    await act(async () => model.select(hex(1), 'toggle')); // two runs
    expect(enabled()).toBe(false);
    await commands.execute(CommandIDs.registerRunModel);
    expect(calls).toHaveLength(1);
  });

  it('offers Register Model… for a run whose only model is an MLflow logged-model output, by the server', async () => {
    const all = runs(3); // no run's tags name a model
    await mount(all);
    const mlflow: IRunModel = {
      kind: 'mlflow',
      name: 'rf',
      path: null,
      model_id: `m-${hex(9)}`,
      flavor: 'sklearn',
      logged_time: 1,
      source: `models:/m-${hex(9)}`
    };
    api.models.set(hex(2), [mlflow]);
    registerCommands();
    const calls: any[] = [];
    act(() => {
      commands.addCommand(CommandIDs.registerModel, {
        execute: args => {
          calls.push(args);
        }
      });
    });
    const enabled = () => commands.isEnabled(CommandIDs.registerRunModel);
    menuOpen = true;
    const updates = menuUpdates;
    let answer: (() => void) | null = null;
    const slow = api.runModels.bind(api);
    api.runModels = id =>
      new Promise(resolve => {
        answer = () => void slow(id).then(resolve);
      });
    await act(async () => model.select(hex(0)));
    // Not answered yet: offered (the form asks again and says if none).
    expect(enabled()).toBe(true);
    await act(async () => answer!());
    // The answer (none) redraws the open context menu, disabled.
    expect(enabled()).toBe(false);
    expect(menuUpdates).toBe(updates + 1);
    api.runModels = slow;
    menuOpen = false;

    await act(async () => model.select(hex(2)));
    expect(enabled()).toBe(true);
    expect(commands.label(CommandIDs.registerRunModel)).toBe('Register Model…');
    await commands.execute(CommandIDs.registerRunModel);
    expect(calls).toEqual([{ runId: hex(2), path: mlflow.source }]);
    // Selecting the same row again asks nothing; another row asks again.
    const asked = api.modelQueries.length;
    await act(async () => model.select(hex(2)));
    expect(api.modelQueries).toHaveLength(asked);
    await act(async () => model.select(hex(1)));
    expect(api.modelQueries).toEqual([
      ...api.modelQueries.slice(0, asked),
      hex(1)
    ]);
  });
});

describe('modelToRegister', () => {
  const run = (tags?: Record<string, string>): IRun => ({ id: hex(7), tags });

  it('needs one run, the register command and a model if the server answered', () => {
    const logged = run({
      'mm.models': JSON.stringify({ m: { artifact_path: 'models/m' } })
    });
    expect(modelToRegister([logged], true)).toEqual({
      runId: hex(7),
      path: 'models/m'
    });
    expect(modelToRegister([logged], false)).toBeNull();
    expect(modelToRegister([logged, logged], true)).toBeNull();
    expect(modelToRegister([], true)).toBeNull();
    // No tag names a model: the run alone, until the server answers.
    expect(modelToRegister([run()], true)).toEqual({ runId: hex(7) });
    expect(modelToRegister([run({ 'mm.models': '[1]' })], true)).toEqual({
      runId: hex(7)
    });
    // An entry without its path: where mm.log_model puts it.
    expect(modelToRegister([run({ 'mm.models': '{"m": {}}' })], true)).toEqual({
      runId: hex(7),
      path: 'models/m'
    });
    // The server's answer wins over the tags.
    expect(modelToRegister([logged], true, [])).toBeNull();
    const mm: IRunModel = {
      kind: 'mm',
      name: 'm',
      path: 'models/m',
      model_id: null,
      flavor: 'sklearn',
      logged_time: 1,
      source: `runs:/${hex(7)}/models/m`
    };
    expect(modelToRegister([run()], true, [mm])).toEqual({
      runId: hex(7),
      path: 'models/m'
    });
  });
});
