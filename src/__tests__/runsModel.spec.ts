/**
 * The run table's model against a fake REST API that implements paging,
 * ordering, the run-id filter and filter errors like the server does.
 */

import { ServerConnection } from '@jupyterlab/services';

import {
  IRunsApi,
  ISearchQuery,
  filterErrorPosition,
  firstLine,
  runPath
} from '../api';
import { IExperiment, IRun, ISearchReply } from '../schema';
import {
  cellText,
  clashingNames,
  compareRuns,
  differingColumns,
  fitColumnWidth,
  formatDuration,
  formatMetric,
  isSortable,
  orderByClause,
  parseColumn,
  quoteKey,
  quoteString,
  serverColumns,
  withColumn
} from '../columns';
import { parseTag } from '../commands';
import { RunsModel } from '../runsModel';
import { IStoreEvent } from '../storeEvents';
import { experiment } from './utils';
import { badgeText, isTracked, latestByCell, toggleTrack } from '../trackCell';

function hex(i: number): string {
  return i.toString(16).padStart(32, '0');
}

function makeRun(i: number, extra: Partial<IRun> = {}): IRun {
  return {
    id: hex(i),
    name: `run-${i}`,
    experiment_id: '0',
    status: 'FINISHED',
    start_time: 1_000_000 + i,
    end_time: 1_000_500 + i,
    lifecycle_stage: 'active',
    params: { lr: String(i / 10) },
    metrics: { auc: i / 100 },
    tags: {},
    ...extra
  };
}

/**
 * An in-memory server: newest first by default, `metrics.auc` ordering,
 * offset page tokens, `attributes.run_id IN (...)` filters.
 */
class FakeApi implements IRunsApi {
  runs: IRun[] = [];
  queries: ISearchQuery[] = [];
  experimentsList: IExperiment[] = [
    experiment('0', 'Default'),
    experiment('1', 'credit')
  ];
  /** When set, searches wait for this promise. */
  gate: Promise<void> | null = null;

  async experiments(): Promise<IExperiment[]> {
    return this.experimentsList;
  }

  async search(query: ISearchQuery): Promise<ISearchReply> {
    this.queries.push(query);
    if (this.gate) {
      await this.gate;
    }
    if (query.filter && query.filter.includes('bad')) {
      const response = new Response(
        JSON.stringify({
          error_code: 'INVALID_PARAMETER_VALUE',
          message: `expected a value at position 4, found 'bad'\n  ${query.filter}\n      ^`
        }),
        { status: 400 }
      );
      throw new ServerConnection.ResponseError(
        response,
        `expected a value at position 4, found 'bad'\n  ${query.filter}\n      ^`
      );
    }
    const experiments = query.experiment_ids ?? [];
    let runs = this.runs.filter(
      r =>
        (experiments.length === 0 ||
          experiments.includes(r.experiment_id ?? '0')) &&
        (query.view === 'all' ||
          (query.view ?? 'active') === (r.lifecycle_stage ?? 'active'))
    );
    const ids = /attributes\.run_id IN \(([^)]*)\)/.exec(query.filter ?? '');
    if (ids) {
      const wanted = ids[1].split(',').map(s => s.trim().replace(/'/g, ''));
      runs = runs.filter(r => wanted.includes(r.id));
    }
    const order = query.order_by?.[0];
    if (order === 'metrics.auc ASC' || order === 'metrics.auc DESC') {
      runs = runs
        .slice()
        .sort((a, b) =>
          compareRuns(a, b, 'metrics.auc', order.endsWith('ASC'))
        );
    } else {
      runs = runs
        .slice()
        .sort((a, b) => (b.start_time ?? 0) - (a.start_time ?? 0));
    }
    const offset = query.page_token ? parseInt(query.page_token, 10) : 0;
    const size = query.max_results ?? 100;
    const page = runs.slice(offset, offset + size);
    const next = offset + size < runs.length ? String(offset + size) : null;
    return { runs: page.map(r => ({ ...r })), next_page_token: next };
  }

  async getRun(runId: string): Promise<IRun> {
    return this.runs.find(r => r.id === runId)!;
  }

  async updateRun(runId: string, update: Partial<IRun>): Promise<IRun> {
    const run = this.runs.find(r => r.id === runId)!;
    Object.assign(run, update);
    return run;
  }

  async deleteRun(runId: string): Promise<IRun> {
    return this.updateRun(runId, { lifecycle_stage: 'deleted' });
  }

  async restoreRun(runId: string): Promise<IRun> {
    return this.updateRun(runId, { lifecycle_stage: 'active' });
  }

  async cellRecord(): Promise<{ cell_id: string }> {
    return { cell_id: 'c1' };
  }
}

/** An IStateDB stand-in: what was saved last is what is fetched. */
function memoryStore(): RunsModel.IMemoryStore {
  const saved: RunsModel.IMemory[] = [];
  return {
    fetch: async () => saved[saved.length - 1] ?? null,
    save: async (value: RunsModel.IMemory) => {
      saved.push(JSON.parse(JSON.stringify(value)));
    }
  };
}

function waitFor(
  model: RunsModel,
  predicate: () => boolean,
  timeoutMs = 2000
): Promise<void> {
  return new Promise((resolve, reject) => {
    if (predicate()) {
      resolve();
      return;
    }
    const timer = setTimeout(() => {
      model.changed.disconnect(check);
      reject(new Error('condition not met before the deadline'));
    }, timeoutMs);
    const check = () => {
      if (predicate()) {
        clearTimeout(timer);
        model.changed.disconnect(check);
        resolve();
      }
    };
    model.changed.connect(check);
  });
}

describe('columns', () => {
  it('parses column ids and refuses unknown ones', () => {
    expect(parseColumn('metrics.val/auc')).toEqual({
      id: 'metrics.val/auc',
      section: 'metrics',
      key: 'val/auc'
    });
    expect(parseColumn('params.a.b')?.key).toBe('a.b');
    expect(parseColumn('attributes.nope')).toBeNull();
    expect(parseColumn('bogus.x')).toBeNull();
    expect(parseColumn('metrics.')).toBeNull();
  });

  it('builds order_by clauses the search grammar reads', () => {
    expect(orderByClause('attributes.name', true)).toBe(
      'attributes.run_name ASC'
    );
    expect(orderByClause('metrics.auc', false)).toBe('metrics.auc DESC');
    expect(orderByClause('params.learning rate', true)).toBe(
      'params.`learning rate` ASC'
    );
    expect(orderByClause('attributes.duration', true)).toBeNull();
    expect(isSortable('attributes.duration')).toBe(false);
    expect(quoteKey('a`b c')).toBe('`a``b c`');
    expect(quoteString("it's")).toBe("'it\\'s'");
  });

  it('asks the server only for the shown columns', () => {
    const columns = serverColumns([
      'attributes.user',
      'attributes.duration',
      'metrics.auc',
      'tags.team'
    ]);
    expect(columns).toEqual(
      expect.arrayContaining(['name', 'status', 'user', 'metrics.auc'])
    );
    expect(columns).toContain('tags.team');
    expect(columns).not.toContain('duration');
    expect(columns).not.toContain('params.*');
  });

  it('formats values as text', () => {
    expect(formatMetric(0.123456)).toBe('0.1235');
    expect(formatMetric('NaN')).toBe('NaN');
    expect(formatMetric('-Infinity')).toBe('-∞');
    expect(formatMetric(12)).toBe('12');
    expect(formatMetric(1.5e-7)).toBe('1.500e-7');
    expect(formatMetric(undefined)).toBe('');
    expect(formatDuration(42_000)).toBe('42 s');
    expect(formatDuration(185_000)).toBe('3 min 5 s');
    expect(formatDuration(3_660_000)).toBe('1 h 01 min');
    const run = makeRun(5, { status: 'RUNNING', end_time: null });
    expect(cellText(run, 'attributes.status')).toBe('running');
    expect(cellText(run, 'attributes.duration', 1_000_005 + 2_000)).toBe('2 s');
    expect(cellText(run, 'params.lr')).toBe('0.5');
    expect(cellText(run, 'params.missing')).toBe('');
  });

  it('sorts missing values last in both directions', () => {
    const a = makeRun(1, { metrics: { auc: 0.5 } });
    const b = makeRun(2, { metrics: {} });
    const c = makeRun(3, { metrics: { auc: 'NaN' } });
    expect(compareRuns(a, b, 'metrics.auc', true)).toBeLessThan(0);
    expect(compareRuns(a, b, 'metrics.auc', false)).toBeLessThan(0);
    expect(compareRuns(a, c, 'metrics.auc', false)).toBeLessThan(0);
  });
});

describe('differing columns', () => {
  it('offers the metrics and params whose values differ, missing counting', () => {
    const runs = [
      makeRun(1, { params: { lr: '0.1', seed: '1' }, metrics: { auc: 0.7 } }),
      makeRun(2, { params: { lr: '0.2', seed: '1' }, metrics: { auc: 0.7 } }),
      makeRun(3, {
        params: { lr: '0.3', seed: '1' },
        metrics: { auc: 0.7, loss: 1 }
      })
    ];
    // seed and auc are the same everywhere; loss is missing from two runs
    expect(differingColumns(runs)).toEqual(['metrics.loss', 'params.lr']);
    expect(differingColumns(runs.slice(0, 1))).toEqual([]);
    expect(differingColumns([])).toEqual([]);
    expect(differingColumns(runs, 1)).toEqual(['metrics.loss']);
  });

  it('tells apart runs that share a name', () => {
    const runs = [
      makeRun(1, { name: 'same' }),
      makeRun(2, { name: 'same' }),
      makeRun(3, { name: 'other' })
    ];
    expect([...clashingNames(runs)].sort()).toEqual([hex(1), hex(2)]);
    expect(clashingNames(runs.slice(1)).size).toBe(0);
  });

  it('sizes a column to its header and its widest value, within bounds', () => {
    const short = [makeRun(1, { params: { lr: '1' } })];
    const long = [makeRun(1, { params: { lr: 'x'.repeat(30) } })];
    // the header "Status" fits: no "Sta"
    expect(fitColumnWidth('attributes.status', short)).toBeGreaterThanOrEqual(
      'Status'.length * 7
    );
    expect(fitColumnWidth('params.lr', long)).toBeGreaterThan(
      fitColumnWidth('params.lr', short)
    );
    expect(
      fitColumnWidth('params.lr', [
        makeRun(1, { params: { lr: 'x'.repeat(500) } })
      ])
    ).toBe(220);
  });
});

describe('adding a column', () => {
  const shown = ['attributes.status', 'attributes.name', 'metrics.auc'];
  it('puts it beside its section, whatever was shown when it was chosen', () => {
    expect(withColumn(shown, 'metrics.loss')).toEqual([
      ...shown,
      'metrics.loss'
    ]);
    expect(withColumn([...shown, 'params.lr'], 'metrics.loss')).toEqual([
      ...shown,
      'metrics.loss',
      'params.lr'
    ]);
    expect(withColumn(['params.lr', 'tags.team'], 'attributes.name')).toEqual([
      'attributes.name',
      'params.lr',
      'tags.team'
    ]);
    expect(withColumn(shown, 'metrics.auc')).toEqual(shown);
  });
});

describe('default experiment', () => {
  const experiments = [
    experiment('0', 'Default'),
    experiment('1', 'demo'),
    { ...experiment('2', 'gone'), lifecycle_stage: 'deleted' as const }
  ];

  it('is the remembered one, else the one with the newest run', () => {
    expect(RunsModel.chooseExperiment(experiments, '2', '1')).toBe('2');
    expect(RunsModel.chooseExperiment(experiments, '*', '1')).toBe('*');
    // remembered but since removed from the store
    expect(RunsModel.chooseExperiment(experiments, '9', '1')).toBe('1');
    expect(RunsModel.chooseExperiment(experiments, null, '1')).toBe('1');
    // no run anywhere (or only in a deleted experiment): Default
    expect(RunsModel.chooseExperiment(experiments, null, null)).toBe('0');
    expect(RunsModel.chooseExperiment(experiments, null, '2')).toBe('0');
    expect(RunsModel.chooseExperiment(experiments.slice(1), null, null)).toBe(
      '1'
    );
  });
});

describe('api helpers', () => {
  it('reads the position out of a filter error', () => {
    const message =
      'expected a value at position 13, found end of input\n  metrics.auc >\n               ^';
    expect(filterErrorPosition(message)).toBe(13);
    expect(firstLine(message)).toBe(
      'expected a value at position 13, found end of input'
    );
    expect(filterErrorPosition('no idea')).toBeNull();
  });

  it('never builds a path from something that is not a run id', () => {
    expect(runPath(hex(7))).toBe(`runs/${hex(7)}`);
    expect(() => runPath('../status')).toThrow();
  });
});

describe('RunsModel', () => {
  let api: FakeApi;
  let model: RunsModel;

  beforeEach(() => {
    api = new FakeApi();
    for (let i = 0; i < 1000; i++) {
      api.runs.push(makeRun(i));
    }
    model = new RunsModel({ api, pageSize: 50, coalesceMs: 1 });
  });

  afterEach(() => model.dispose());

  it('loads the first page only, newest first', async () => {
    await model.start();
    expect(model.experimentId).toBe('0');
    expect(model.rows).toHaveLength(50);
    expect(model.rows[0].id).toBe(hex(999));
    expect(model.complete).toBe(false);
    const search = api.queries.find(q => q.max_results === 50)!;
    expect(search.columns).toEqual(expect.arrayContaining(['name', 'status']));
    expect(search.view).toBe('active');
  });

  it('pages on demand, jumping far with one bigger page', async () => {
    await model.start();
    model.ensureLoaded(10); // well inside the loaded rows: nothing
    expect(model.loading).toBe(false);
    model.ensureLoaded(40);
    await waitFor(model, () => model.rows.length === 100);
    const before = api.queries.length;
    model.ensureLoaded(700); // a jump: one request for what is needed
    await waitFor(model, () => model.rows.length >= 700 && !model.loading);
    expect(api.queries.length).toBe(before + 1);
    expect(api.queries[api.queries.length - 1].max_results).toBe(650);
    model.ensureLoaded(999);
    await waitFor(model, () => model.complete);
    expect(model.rows).toHaveLength(1000);
    expect(new Set(model.rows.map(r => r.id)).size).toBe(1000);
  });

  it('sorts server-side: ascending, descending, then back to newest', async () => {
    await model.start();
    await model.sortBy('metrics.auc');
    expect(model.order).toEqual({ column: 'metrics.auc', ascending: true });
    expect(api.queries[api.queries.length - 1].order_by).toEqual([
      'metrics.auc ASC'
    ]);
    expect(model.rows[0].id).toBe(hex(0));
    await model.sortBy('metrics.auc');
    expect(model.rows[0].id).toBe(hex(999));
    await model.sortBy('metrics.auc');
    expect(model.order).toBeNull();
    await model.sortBy('attributes.duration'); // not sortable: ignored
    expect(model.order).toBeNull();
  });

  it('shows a filter error with its position and no rows', async () => {
    await model.start();
    await model.setFilter('bad filter');
    expect(model.filterError).toEqual({
      message: "expected a value at position 4, found 'bad'",
      position: 4
    });
    expect(model.rows).toHaveLength(0);
    expect(model.error).toBeNull();
    await model.setFilter('');
    expect(model.filterError).toBeNull();
    expect(model.rows).toHaveLength(50);
  });

  it('drops answers to superseded queries', async () => {
    await model.start();
    let release!: () => void;
    api.gate = new Promise(resolve => (release = resolve));
    const slow = model.sortBy('metrics.auc');
    api.gate = null;
    const fast = model.sortBy('metrics.auc'); // descending, answered first
    await fast;
    release();
    await slow;
    expect(model.order?.ascending).toBe(false);
    expect(model.rows[0].id).toBe(hex(999));
  });

  it('patches rows from coalesced events: update, insert, drop', async () => {
    api.runs = [makeRun(1), makeRun(2), makeRun(3)];
    await model.start();
    const searches = api.queries.length;
    api.runs.push(
      makeRun(10, { status: 'RUNNING', metrics: { loss: 0.9 } }),
      makeRun(11, { status: 'RUNNING' })
    );
    api.runs[0].metrics = { auc: 0.99 };
    api.runs[2].lifecycle_stage = 'deleted';
    const untouched = model.rows.find(r => r.id === hex(2));
    for (const [action, id] of [
      ['run-created', hex(10)],
      ['metrics-appended', hex(10)],
      ['run-created', hex(11)],
      ['metrics-appended', hex(1)],
      ['run-updated', hex(3)]
    ] as Array<[IStoreEvent['action'], string]>) {
      model.handleEvent({
        action,
        run_id: id,
        experiment_id: '0',
        keys: action === 'metrics-appended' ? ['loss'] : undefined
      });
    }
    model.handleEvent({
      action: 'run-created',
      run_id: hex(50),
      experiment_id: '1'
    });
    await waitFor(model, () => model.rows.length === 4);
    // One search for the five events of this experiment.
    expect(api.queries.length).toBe(searches + 1);
    expect(api.queries[searches].filter).toContain('attributes.run_id IN (');
    expect(model.rows.map(r => r.id)).toEqual([
      hex(11),
      hex(10),
      hex(2),
      hex(1)
    ]);
    expect(model.rows.find(r => r.id === hex(1))?.metrics).toEqual({
      auc: 0.99
    });
    // Rows nobody touched keep their identity (React skips them).
    expect(model.rows.find(r => r.id === hex(2))).toBe(untouched);
    expect(model.keys.metrics).toContain('loss');
  });

  it('offers a new experiment named by an event, asking once', async () => {
    await model.start();
    let listings = 0;
    const list = api.experiments.bind(api);
    api.experiments = () => {
      listings += 1;
      return list();
    };
    api.experimentsList = [...api.experimentsList, experiment('7', 'new one')];
    for (let i = 0; i < 5; i++) {
      model.handleEvent({
        action: 'run-created',
        run_id: hex(100 + i),
        experiment_id: '7'
      });
    }
    await waitFor(model, () => model.experiments.some(e => e.id === '7'));
    expect(listings).toBe(1);
    // Runs of another experiment are not fetched.
    expect(api.queries.some(q => (q.filter ?? '').includes(hex(100)))).toBe(
      false
    );
  });

  it('keeps the user filter on live updates', async () => {
    api.runs = [makeRun(1)];
    await model.start();
    await model.setFilter('metrics.auc > 0');
    api.runs.push(makeRun(2));
    model.handleEvent({
      action: 'run-created',
      run_id: hex(2),
      experiment_id: '0'
    });
    await waitFor(model, () =>
      api.queries.some(q => (q.filter ?? '').startsWith('attributes.run_id'))
    );
    const live = api.queries.find(q =>
      (q.filter ?? '').startsWith('attributes.run_id')
    )!;
    expect(live.filter).toBe(
      `attributes.run_id IN ('${hex(2)}') AND (metrics.auc > 0)`
    );
  });

  it('reloads when events were missed (a gap, or a restarted server)', async () => {
    api.runs = [makeRun(1)];
    await model.start();
    const fullLoads = () =>
      api.queries.filter(q => !(q.filter ?? '').startsWith('attributes.run_id'))
        .length;
    const loads = fullLoads();
    const event = (id: number, stream: string, seq: number) =>
      model.handleEvent({
        action: 'run-created',
        run_id: hex(id),
        experiment_id: '0',
        stream,
        seq
      });
    // In order: patched from the events, no reload.
    api.runs.push(makeRun(2), makeRun(3));
    event(2, 'a', 7);
    event(3, 'a', 8);
    await waitFor(model, () => model.rows.length === 3);
    expect(fullLoads()).toBe(loads);
    // 9 and 10 were lost while the socket was down; 11 tells.
    api.runs.push(makeRun(4), makeRun(5), makeRun(6));
    event(6, 'a', 11);
    await waitFor(model, () => model.rows.length === 6);
    expect(fullLoads()).toBe(loads + 1);
    // The server restarted: a new stream starts at 1.
    api.runs.push(makeRun(7));
    event(7, 'b', 1);
    await waitFor(model, () => model.rows.length === 7);
    expect(fullLoads()).toBe(loads + 2);
  });

  it('selects with click, ctrl and shift', async () => {
    await model.start();
    const ids = model.rows.map(r => r.id);
    model.select(ids[2]);
    model.select(ids[5], 'range');
    expect([...model.selection].sort()).toEqual(ids.slice(2, 6).sort());
    model.select(ids[3], 'toggle');
    expect(model.selection.has(ids[3])).toBe(false);
    expect(model.selection.size).toBe(3);
    model.select(ids[7], 'range'); // from the last clicked row (3)
    expect([...model.selection].sort()).toEqual(ids.slice(3, 8).sort());
    model.select(ids[0]);
    expect([...model.selection]).toEqual([ids[0]]);
    expect(model.selectedRuns.map(r => r.id)).toEqual([ids[0]]);
  });

  it('opens on the experiment of the newest run, not an empty Default', async () => {
    api.runs = [
      makeRun(1, { experiment_id: '1' }),
      makeRun(2, { experiment_id: '1' })
    ];
    await model.start();
    expect(model.experimentId).toBe('1');
    expect(model.rows.map(r => r.id)).toEqual([hex(2), hex(1)]);
  });

  it('keeps an experiment and columns the user chose while it started', async () => {
    const memory = memoryStore();
    await memory.save({
      experimentId: null,
      columns: { '0': ['attributes.name'] },
      order: {},
      groupBy: {}
    });
    model.dispose();
    api.runs = [
      makeRun(1, { experiment_id: '1' }),
      makeRun(2, { experiment_id: '0' }) // the newest run
    ];
    let open = () => undefined as void;
    api.gate = new Promise<void>(resolve => (open = resolve));
    model = new RunsModel({ api, memory });
    const started = model.start();
    // The picker offers both; the newest-run search waits at the gate.
    await waitFor(model, () => model.experiments.length === 2);
    while (!api.queries.some(q => q.experiment_ids?.length === 0)) {
      await new Promise(resolve => setTimeout(resolve, 1));
    }
    const chosen = model.setExperiment('1'); // offered by a live update
    const toggled = model.toggleColumn('metrics.loss', true);
    open();
    api.gate = null;
    await Promise.all([started, chosen, toggled]);
    expect(model.experimentId).toBe('1');
    expect(model.columns).toContain('metrics.loss');
    expect(model.rows.map(r => r.id)).toEqual([hex(1)]);
    await model.setExperiment('0'); // what was saved for others still holds
    expect(model.columns).toEqual(['attributes.name']);
  });

  it('remembers only the experiment the user chose', async () => {
    const memory = memoryStore();
    model.dispose();
    api.runs = [];
    model = new RunsModel({ api, memory });
    await model.start(); // nothing anywhere: Default, not remembered
    expect(model.experimentId).toBe('0');
    api.runs = [makeRun(1, { experiment_id: '1' })];
    const next = new RunsModel({ api, memory });
    await next.start();
    expect(next.experimentId).toBe('1');
    await next.setExperiment('0');
    const last = new RunsModel({ api, memory });
    await last.start();
    expect(last.experimentId).toBe('0');
    next.dispose();
    last.dispose();
  });

  it('shows the runs of every experiment, with their experiment', async () => {
    api.runs = [
      makeRun(1, { experiment_id: '0', experiment: 'Default' }),
      makeRun(2, { experiment_id: '1', experiment: 'credit' })
    ];
    await model.start();
    await model.setExperiment(RunsModel.ALL_EXPERIMENTS);
    expect(model.allExperiments).toBe(true);
    expect(api.queries[api.queries.length - 1].experiment_ids).toEqual([]);
    expect(model.rows.map(r => r.id)).toEqual([hex(2), hex(1)]);
    expect(model.columns).toContain('attributes.experiment');
    expect(cellText(model.rows[0], 'attributes.experiment')).toBe('credit');
    // a live run of any experiment arrives
    api.runs.push(makeRun(3, { experiment_id: '7' }));
    model.handleEvent({
      action: 'run-created',
      run_id: hex(3),
      experiment_id: '7'
    } as IStoreEvent);
    await model.flush();
    expect(model.rows.map(r => r.id)).toEqual([hex(3), hex(2), hex(1)]);
  });

  it('keeps the user column choice over the differing columns', async () => {
    await model.start();
    expect(model.columns).toContain('metrics.auc');
    await model.toggleColumn('metrics.auc');
    expect(model.columnsChosen).toBe(true);
    expect(model.columns).not.toContain('metrics.auc');
    await model.reload();
    expect(model.columns).not.toContain('metrics.auc');
    expect(model.columns).toContain('params.lr');
  });

  it('shows or hides what the user asked for, whatever is shown by then', async () => {
    await model.start();
    // The default columns came to include auc before the click landed.
    expect(model.columns).toContain('metrics.auc');
    await model.toggleColumn('metrics.auc', true);
    expect(model.columns).toContain('metrics.auc');
    expect(model.columnsChosen).toBe(true);
    await model.toggleColumn('metrics.auc', false);
    await model.toggleColumn('metrics.auc', false);
    expect(model.columns).not.toContain('metrics.auc');
    await model.toggleColumn('metrics.auc', true);
    expect(model.columns.filter(c => c === 'metrics.auc')).toHaveLength(1);
  });

  it('remembers columns and order per experiment', async () => {
    const memory = memoryStore();
    model.dispose();
    model = new RunsModel({ api, pageSize: 50, memory });
    await model.start();
    await model.setColumns(['attributes.name', 'metrics.auc']);
    await model.sortBy('metrics.auc');
    api.runs.push(makeRun(5000, { experiment_id: '1' }));
    api.runs.push(makeRun(5001, { experiment_id: '1', params: {} }));
    await model.setExperiment('1');
    // No choice there: the defaults plus what differs across its runs.
    expect(model.columnsChosen).toBe(false);
    expect(model.columns).toEqual([
      'attributes.status',
      'attributes.name',
      'attributes.start_time',
      'metrics.auc',
      'params.lr'
    ]);
    await model.setExperiment('0');
    expect(model.columns).toEqual(['attributes.name', 'metrics.auc']);
    expect(model.order).toEqual({ column: 'metrics.auc', ascending: true });

    // A new session starts where the last one stopped.
    await model.setExperiment('1');
    const again = new RunsModel({ api, pageSize: 50, memory });
    await again.start();
    expect(again.experimentId).toBe('1');
    await again.setExperiment('0');
    expect(again.columns).toEqual(['attributes.name', 'metrics.auc']);
    again.dispose();
  });

  it('groups the loaded runs by a param, remembered per experiment', async () => {
    const memory = memoryStore();
    model.dispose();
    api.runs = [
      makeRun(1, { params: { lr: '0.1' }, metrics: { auc: 0.8 } }),
      makeRun(2, { params: { lr: '0.01' }, metrics: { auc: 0.6 } }),
      makeRun(3, { params: { lr: '0.1' }, metrics: { auc: 0.9 } }),
      makeRun(4, { params: {}, metrics: { auc: 0.5 } })
    ];
    model = new RunsModel({ api, pageSize: 50, memory });
    await model.start();
    await model.setColumns(['attributes.name', 'metrics.auc']);
    expect(model.groups).toBeNull();
    expect(model.groupedItems).toBeNull();
    await model.setGroupBy('params.lr');
    // Chosen columns without the key: the key is fetched too.
    expect(api.queries[api.queries.length - 1].columns).toContain('params.lr');
    expect(
      model.groups!.map(g => [g.label, g.runs.length, g.metrics.auc?.mean])
    ).toEqual([
      ['0.01', 1, 0.6],
      ['0.1', 2, expect.closeTo(0.85, 10)],
      ['(none)', 1, 0.5]
    ]);
    const lines = () =>
      model.groupedItems!.map(i =>
        i.kind === 'group' ? `[${i.group.label}]` : i.run.name
      );
    expect(lines()).toEqual([
      '[0.01]',
      'run-2',
      '[0.1]',
      'run-3',
      'run-1',
      '[(none)]',
      'run-4'
    ]);
    // Cached: the same arrays until something changes.
    expect(model.groupedItems).toBe(model.groupedItems);

    // Range selection follows the order shown.
    model.select(hex(2));
    model.select(hex(1), 'range');
    expect([...model.selection].sort()).toEqual([hex(1), hex(2), hex(3)]);

    model.toggleGroup(model.groups![1].id);
    expect(lines()).toEqual(['[0.01]', 'run-2', '[0.1]', '[(none)]', 'run-4']);
    expect(model.shownRuns.map(r => r.name)).toEqual(['run-2', 'run-4']);
    model.toggleGroup(model.groups![1].id);
    expect(lines()).toHaveLength(7);

    // A live run joins its group.
    api.runs.push(
      makeRun(5, { params: { lr: '0.01' }, metrics: { auc: 0.7 } })
    );
    model.handleEvent({ action: 'run-created', run_id: hex(5) } as IStoreEvent);
    await model.flush();
    expect(model.groups![0].runs.map(r => r.name)).toEqual(['run-5', 'run-2']);
    expect(model.groups![0].metrics.auc?.mean).toBeCloseTo(0.65);

    // Remembered for this experiment, not for another.
    const again = new RunsModel({ api, pageSize: 50, memory });
    await again.start();
    expect(again.groupBy).toBe('params.lr');
    await again.setExperiment('1');
    expect(again.groupBy).toBeNull();
    await again.setExperiment('0');
    expect(again.groupBy).toBe('params.lr');
    await again.setGroupBy(null);
    expect(again.groups).toBeNull();
    const last = new RunsModel({ api, pageSize: 50, memory });
    await last.start();
    expect(last.groupBy).toBeNull();
    // Only params and tags group.
    await last.setGroupBy('metrics.auc');
    expect(last.groupBy).toBeNull();
    again.dispose();
    last.dispose();
  });

  it('hides a deleted run unless deleted runs are shown', async () => {
    await model.start();
    const run = model.rows[0];
    model.updateRun(await api.deleteRun(run.id));
    expect(model.rows.some(r => r.id === run.id)).toBe(false);
    await model.setShowDeleted(true);
    expect(model.rows.find(r => r.id === run.id)?.lifecycle_stage).toBe(
      'deleted'
    );
  });
});

describe('tag dialog', () => {
  it('reads key=value, the value optional', () => {
    expect(parseTag(' team = risk ')).toEqual({ key: 'team', value: 'risk' });
    expect(parseTag('a=b=c')).toEqual({ key: 'a', value: 'b=c' });
    expect(parseTag('flag')).toEqual({ key: 'flag', value: '' });
    expect(parseTag(' =x')).toBeNull();
  });
});

describe('track cell', () => {
  it('toggles %%track on the first line', () => {
    expect(toggleTrack('x = 1')).toBe('%%track\nx = 1');
    expect(toggleTrack('%%track\nx = 1')).toBe('x = 1');
    expect(toggleTrack('%%track baseline -p a=1\nx')).toBe('x');
    expect(toggleTrack('%%track')).toBe('');
    expect(isTracked('  %%track name\n')).toBe(true);
    expect(isTracked('%%tracker\n')).toBe(false);
    expect(isTracked('x = 1\n%%track')).toBe(false);
  });

  it('finds the latest run of each cell', () => {
    const runs = [
      makeRun(3, { tags: { 'mm.cell.id': 'a' } }),
      makeRun(2, { tags: { 'mm.cell.id': 'b' } }),
      makeRun(1, { tags: { 'mm.cell.id': 'a' } }),
      makeRun(0, { tags: {} })
    ];
    const latest = latestByCell(runs);
    expect(latest.get('a')?.id).toBe(hex(3));
    expect(latest.get('b')?.id).toBe(hex(2));
    expect(latest.size).toBe(2);
    expect(badgeText(makeRun(4, { status: 'FAILED' }))).toBe('run-4 · failed');
  });
});
