/**
 * Unit tests of the views' data models: metric values and smoothing, plotly
 * traces, down-sampling queries, the compare table, parallel coordinates,
 * scatter points, artifact previews and CSV parsing.
 */

import {
  buildTree,
  formatBytes,
  imageType,
  parseCSV,
  previewKind,
  visibleNodes
} from '../views/artifacts';
import { escapeForPlotly } from '../views/chart';
import {
  axisValues,
  compareRows,
  defaultKey,
  parcoordsDimensions,
  scatterPoints
} from '../views/compare';
import { diffSummary, partsQuery } from '../views/diffview';
import {
  emaSmooth,
  formatDuration,
  formatValue,
  historyQueries,
  relayoutXRange,
  seriesToTraces,
  toNumber
} from '../views/metrics';
import { parseRunIds, restoredNotebook, runFromUrl } from '../views/plugin';
import { overviewItems, recordsOf } from '../views/runmodel';
import { noNotebookReason, noSnapshotReason, olderFirst } from '../runFacts';
import { IDiffReply } from '../views/types';
import { IArtifact, IFullRun as IRun, IMetricSeries } from '../schema';

function entries<T>(pairs: Array<[string, T]>): Record<string, T> {
  const out: Record<string, T> = {};
  pairs.forEach(([k, v]) => (out[k] = v));
  return out;
}

const A = 'a'.repeat(32);
const B = 'b'.repeat(32);
const C = 'c'.repeat(32);

function run(id: string, extra: Partial<IRun> = {}): IRun {
  return {
    id,
    name: `run-${id[0]}`,
    experiment_id: '0',
    experiment: 'Default',
    status: 'FINISHED',
    start_time: 1_000_000,
    end_time: 1_062_000,
    user: 'ana',
    lifecycle_stage: 'active',
    notes: '',
    params: {},
    metrics: {},
    tags: {},
    ...extra
  };
}

function artifact(path: string, media_type = ''): IArtifact {
  return {
    path,
    is_dir: false,
    size: 10,
    digest: 'x',
    media_type,
    created_time: 0
  };
}

describe('metric values', () => {
  it('reads the wire spellings of non-finite values', () => {
    expect(toNumber(1.5)).toBe(1.5);
    expect(toNumber('NaN')).toBeNaN();
    expect(toNumber('Infinity')).toBe(Infinity);
    expect(toNumber('-Infinity')).toBe(-Infinity);
    expect(toNumber(null)).toBeNaN();
  });

  it('formats values compactly', () => {
    expect(formatValue(3)).toBe('3');
    expect(formatValue(0.123456789)).toBe('0.123457');
    expect(formatValue(1e-7)).toBe('1.0000e-7');
    expect(formatValue('NaN')).toBe('NaN');
    expect(formatValue(null)).toBe('');
  });

  it('formats durations', () => {
    expect(formatDuration(5200)).toBe('5.2 s');
    expect(formatDuration(62_000)).toBe('1 min 2 s');
    expect(formatDuration(3_720_000)).toBe('1 h 2 min');
    expect(formatDuration(null)).toBe('—');
  });
});

describe('emaSmooth', () => {
  it('is the identity at weight 0', () => {
    expect(emaSmooth([1, 5, 2], 0)).toEqual([1, 5, 2]);
  });

  it('is debiased: a constant series stays constant', () => {
    const out = emaSmooth([4, 4, 4, 4], 0.9);
    out.forEach(v => expect(v).toBeCloseTo(4, 12));
  });

  it('follows the exponential average', () => {
    // w = 0.5: ema1 = 0.5*1 / (1-0.5) = 1; ema2 = (0.25 + 1.5) / 0.75
    const [a, b] = emaSmooth([1, 3], 0.5);
    expect(a).toBeCloseTo(1);
    expect(b).toBeCloseTo(1.75 / 0.75);
  });

  it('skips non-finite points without poisoning the average', () => {
    const out = emaSmooth([2, NaN, 2, Infinity, 2], 0.6);
    expect(out[1]).toBeNaN();
    expect(out[3]).toBe(Infinity);
    expect(out[4]).toBeCloseTo(2);
  });
});

describe('seriesToTraces', () => {
  const series: IMetricSeries = {
    run_id: A,
    key: 'loss',
    step: [0, 1, 2],
    timestamp: [1_000_500, 1_001_000, 1_003_000],
    value: [1, 'NaN', 0.5]
  };

  it('makes one line per series, NaN as a gap', () => {
    const traces = seriesToTraces([series], {
      axis: 'step',
      smoothing: 0,
      startTimes: { [A]: 1_000_000 }
    });
    expect(traces).toHaveLength(1);
    expect(traces[0].x).toEqual([0, 1, 2]);
    expect(traces[0].y).toEqual([1, null, 0.5]);
    expect(traces[0].name).toBe('loss');
  });

  it('uses seconds since the run started on the time axis', () => {
    const [trace] = seriesToTraces([series], {
      axis: 'time',
      smoothing: 0,
      startTimes: { [A]: 1_000_000 }
    });
    expect(trace.x).toEqual([0.5, 1, 3]);
  });

  it('keeps the raw line faint behind the smoothed one', () => {
    const traces = seriesToTraces([series], {
      axis: 'step',
      smoothing: 0.5,
      startTimes: {},
      name: s => `run ${s.run_id.slice(0, 2)}`,
      color: () => '#123456'
    });
    expect(traces).toHaveLength(2);
    expect(traces[0].meta!.raw).toBe(true);
    expect(traces[0].opacity).toBeLessThan(1);
    expect(traces[0].showlegend).toBe(false);
    expect(traces[1].name).toBe('run aa');
    expect(traces[1].line.color).toBe('#123456');
    expect(traces[0].y).toEqual([1, null, 0.5]);
    expect(traces[1].y[2]).not.toBe(0.5);
  });
});

describe('single-point metrics', () => {
  it('draws a metric logged once as a marker, long histories as lines', () => {
    const once: IMetricSeries = {
      run_id: A,
      key: 'auc',
      step: [0],
      timestamp: [1_000_500],
      value: [0.91]
    };
    const long: IMetricSeries = {
      ...once,
      key: 'loss',
      step: [0, 1, 2, 3],
      timestamp: [1, 2, 3, 4],
      value: [4, 3, 2, 1]
    };
    const [a, b] = seriesToTraces([once, long], {
      axis: 'step',
      smoothing: 0,
      startTimes: {},
      color: () => '#123456'
    });
    expect(a.mode).toBe('lines+markers');
    expect(a.marker).toEqual({ size: 8, color: '#123456' });
    expect(b.mode).toBe('lines');
    expect(b.marker).toBeUndefined();
  });
});

describe('run links', () => {
  it('reads the run to open from ?mm-run=<id>, ignoring anything else', () => {
    expect(runFromUrl(`http://h/lab?mm-run=${A}`)).toBe(A);
    expect(
      runFromUrl(`http://h/lab/tree/x.ipynb?a=1&mm-run=${B.toUpperCase()}`)
    ).toBe(B);
    expect(runFromUrl('http://h/lab?mm-run=not-a-run')).toBeNull();
    expect(runFromUrl('http://h/lab')).toBeNull();
    expect(runFromUrl('::')).toBeNull();
  });
});

describe('what a run has', () => {
  it('finds records and snapshots in the artifact list', () => {
    expect(Array.from(recordsOf([])).sort()).toEqual([]);
    expect(
      Array.from(
        recordsOf([
          { path: '.mm/cell.json' },
          { path: '.mm/execution_log.json' },
          { path: '.mm/notebook/end.ipynb' },
          { path: 'model/MLmodel' }
        ])
      ).sort()
    ).toEqual(['cell', 'execution-log', 'snapshot']);
  });

  it('says why a run has no snapshot or notebook cell', () => {
    expect(noSnapshotReason({ tags: { 'mm.snapshot.end': 'frontend' } })).toBe(
      null
    );
    expect(noSnapshotReason({ tags: { 'mm.snapshot.kernel': 'disk' } })).toBe(
      null
    );
    expect(noSnapshotReason({ tags: { 'mm.cell.execution_count': '3' } })).toBe(
      null
    );
    expect(noSnapshotReason({ tags: {} })).toMatch(/no notebook snapshot/);
    expect(noSnapshotReason({ tags: { 'mm.source.type': 'LOCAL' } })).toMatch(
      /script/
    );
    expect(noNotebookReason({ tags: { 'mm.notebook.path': 'a.ipynb' } })).toBe(
      null
    );
    expect(noNotebookReason({ tags: { 'mm.source.type': 'LOCAL' } })).toMatch(
      /script/
    );
  });

  it('orders two runs older first', () => {
    const old = run(A, { start_time: 1 });
    const recent = run(B, { start_time: 2 });
    expect(olderFirst(recent, old).map(r => r.id)).toEqual([A, B]);
    expect(olderFirst(old, recent).map(r => r.id)).toEqual([A, B]);
  });

  it('defaults the scatter to a param and a metric that vary', () => {
    const runs = [
      run(A, { params: { a: '1', b: '1' }, metrics: { acc: 1, loss: 1 } }),
      run(B, { params: { a: '1', b: '2' }, metrics: { acc: 1, loss: 2 } })
    ];
    expect(defaultKey(runs, 'params')).toBe('b');
    expect(defaultKey(runs, 'metrics')).toBe('loss');
    expect(defaultKey([runs[0]], 'params')).toBe('a');
    expect(defaultKey([], 'params')).toBe('');
  });
});

describe('down-sampling queries', () => {
  it('asks for everything when the axis is on autorange', () => {
    expect(historyQueries([A, B], ['loss'], 'step', null, {})).toEqual([
      { run_ids: [A, B], keys: ['loss'], max_points: 2000 }
    ]);
  });

  it('asks for the visible steps, widened to whole steps', () => {
    const [q] = historyQueries([A], ['loss'], 'step', [10.4, 99.2], {});
    expect(q.step_range).toEqual([10, 100]);
    expect(q.max_points).toBe(2000);
  });

  it('asks each run for its own time range on the time axis', () => {
    const qs = historyQueries([A, B], ['loss'], 'time', [1, 2], {
      [A]: 1_000_000,
      [B]: 5_000_000
    });
    expect(qs).toEqual([
      {
        run_ids: [A],
        keys: ['loss'],
        max_points: 2000,
        time_range: [1_001_000, 1_002_000]
      },
      {
        run_ids: [B],
        keys: ['loss'],
        max_points: 2000,
        time_range: [5_001_000, 5_002_000]
      }
    ]);
  });

  it('reads the x range from plotly relayout events', () => {
    expect(
      relayoutXRange({ 'xaxis.range[0]': 5, 'xaxis.range[1]': 2 })
    ).toEqual([2, 5]);
    expect(relayoutXRange({ 'xaxis.range': [1, 3] })).toEqual([1, 3]);
    expect(relayoutXRange({ 'xaxis.autorange': true })).toBeNull();
    expect(relayoutXRange({ 'yaxis.range[0]': 1 })).toBeUndefined();
  });
});

describe('compare table', () => {
  const runs = [
    run(A, { params: { lr: '0.1', model: 'logreg' }, metrics: { auc: 0.8 } }),
    run(B, { params: { lr: '0.1', model: 'gbm' }, metrics: { auc: 0.9 } }),
    run(C, { params: { lr: '0.1' }, metrics: { auc: 0.85, ks: 'NaN' } })
  ];

  it('flags the rows whose values differ; a missing value differs', () => {
    const rows = compareRows(runs);
    const byKey = entries(
      rows.map(r => [`${r.section}.${r.key}`, r] as [string, typeof r])
    );
    expect(rows.map(r => `${r.section}.${r.key}`)).toEqual([
      'params.lr',
      'params.model',
      'metrics.auc',
      'metrics.ks'
    ]);
    expect(byKey['params.lr'].differs).toBe(false);
    expect(byKey['params.model'].differs).toBe(true);
    expect(byKey['params.model'].values).toEqual(['logreg', 'gbm', null]);
    expect(byKey['metrics.ks'].differs).toBe(true);
  });

  it('marks the lowest and highest metric values', () => {
    const auc = compareRows(runs).find(r => r.key === 'auc')!;
    expect(auc.lowest).toBe(0);
    expect(auc.highest).toBe(1);
    const ks = compareRows(runs).find(r => r.key === 'ks')!;
    expect([ks.lowest, ks.highest]).toEqual([-1, -1]);
  });

  it('treats params as numbers only when every value is one', () => {
    expect(axisValues(runs, 'params', 'lr').numeric).toBe(true);
    const model = axisValues(runs, 'params', 'model');
    expect(model.numeric).toBe(false);
    expect(model.categories).toEqual(['gbm', 'logreg']);
    expect(model.values).toEqual([1, 0, null]);
  });

  it('builds parallel coordinates from varying params and the metrics', () => {
    const dims = parcoordsDimensions(runs);
    expect(dims.map(d => d.label)).toEqual([
      'param: model',
      'metric: auc',
      'metric: ks'
    ]);
    const model = dims[0];
    expect(model.ticktext).toEqual(['none', 'gbm', 'logreg']);
    expect(model.values).toEqual([1, 0, -1]);
    const ks = dims[2];
    // every run lacks a finite ks: all placed at the "none" position
    expect(new Set(ks.values).size).toBe(1);
  });

  it('scatters a param against a metric, leaving out runs missing either', () => {
    const points = scatterPoints(runs, 'model', 'auc');
    expect(points).toEqual({
      x: ['logreg', 'gbm'],
      y: [0.8, 0.9],
      names: ['run-a', 'run-b'],
      ids: [A, B],
      numericX: false
    });
  });
});

describe('artifact previews', () => {
  it('picks a preview from the media type, else the name', () => {
    expect(previewKind(artifact('a.png', 'image/png'))).toBe('image');
    expect(previewKind(artifact('plot.svg'))).toBe('image');
    expect(previewKind(artifact('t.csv', 'text/csv'))).toBe('csv');
    expect(previewKind(artifact('t.tsv'))).toBe('csv');
    expect(previewKind(artifact('m.json', 'application/json'))).toBe('json');
    expect(
      previewKind(
        artifact('.mm/notebook/end.ipynb', 'application/x-ipynb+json')
      )
    ).toBe('notebook');
    expect(previewKind(artifact('r.html', 'text/html'))).toBe('html');
    expect(previewKind(artifact('log.txt', 'text/plain'))).toBe('text');
    expect(previewKind(artifact('model.pkl', 'application/octet-stream'))).toBe(
      'none'
    );
    expect(previewKind({ ...artifact('dir'), is_dir: true })).toBe('none');
    expect(imageType(artifact('x.svg', 'application/octet-stream'))).toBe(
      'image/svg+xml'
    );
  });

  it('previews the files a logged model and a run usually hold', () => {
    // mm.log_model's MLmodel as stores before the fix hold it, and as now.
    expect(
      previewKind(artifact('models/m/MLmodel', 'application/octet-stream'))
    ).toBe('text');
    expect(previewKind(artifact('models/m/MLmodel', 'text/plain'))).toBe(
      'text'
    );
    expect(previewKind(artifact('MLproject', 'application/octet-stream'))).toBe(
      'text'
    );
    expect(
      previewKind(artifact('models/m/conda.yaml', 'application/octet-stream'))
    ).toBe('text');
    expect(previewKind(artifact('c.yml'))).toBe('text');
    expect(previewKind(artifact('README.md', 'text/markdown'))).toBe('text');
    expect(previewKind(artifact('train.py', 'text/x-python'))).toBe('text');
    expect(previewKind(artifact('fit.log', 'application/octet-stream'))).toBe(
      'text'
    );
    expect(
      previewKind(artifact('data/t.parquet', 'application/octet-stream'))
    ).toBe('parquet');
    expect(previewKind(artifact('a.jpg', 'image/jpeg'))).toBe('image');
    expect(previewKind(artifact('a.gif'))).toBe('image');
    expect(previewKind(artifact('nb.ipynb', 'application/octet-stream'))).toBe(
      'notebook'
    );
    // A name is matched whole: "MLmodel.bin" is not the descriptor.
    expect(
      previewKind(artifact('MLmodel.bin', 'application/octet-stream'))
    ).toBe('none');
    expect(
      previewKind(artifact('models/m/model.skops', 'application/octet-stream'))
    ).toBe('none');
  });

  it('builds a tree: folders first, sizes summed, empty folders kept', () => {
    const sized = (path: string, size: number) => ({
      ...artifact(path),
      size
    });
    const tree = buildTree([
      sized('z.txt', 1),
      sized('data/deep/b.csv', 10),
      sized('data/a.json', 5),
      { ...artifact('empty'), is_dir: true, size: 0 },
      sized('a.txt', 2)
    ]);
    expect(tree.map(n => n.name)).toEqual(['data', 'empty', 'a.txt', 'z.txt']);
    const data = tree[0];
    expect(data.isDir && data.size).toBe(15);
    expect(data.children.map(n => n.path)).toEqual([
      'data/deep',
      'data/a.json'
    ]);
    expect(data.children[0].children[0].artifact?.path).toBe('data/deep/b.csv');
    expect(tree[1].children).toEqual([]);

    expect(visibleNodes(tree, new Set()).map(r => r.node.path)).toEqual([
      'data',
      'empty',
      'a.txt',
      'z.txt'
    ]);
    // A folder under a closed one stays hidden even when marked open.
    expect(
      visibleNodes(tree, new Set(['data/deep'])).map(r => r.node.path)
    ).toEqual(['data', 'empty', 'a.txt', 'z.txt']);
    expect(
      visibleNodes(tree, new Set(['data', 'data/deep'])).map(r => [
        r.node.path,
        r.depth
      ])
    ).toEqual([
      ['data', 1],
      ['data/deep', 2],
      ['data/deep/b.csv', 3],
      ['data/a.json', 2],
      ['empty', 1],
      ['a.txt', 1],
      ['z.txt', 1]
    ]);
  });

  it('parses CSV with quotes, doubled quotes and newlines in fields', () => {
    const text = 'a,b\r\n1,"x, y"\n2,"say ""hi""\nthere"\n';
    expect(parseCSV(text)).toEqual([
      ['a', 'b'],
      ['1', 'x, y'],
      ['2', 'say "hi"\nthere']
    ]);
    expect(parseCSV('a\tb\n1\t2', '\t')).toEqual([
      ['a', 'b'],
      ['1', '2']
    ]);
  });

  it('drops a partial last row of a cut text, and stops at maxRows', () => {
    expect(parseCSV('a,b\n1,2\n3,', ',', 100, false)).toEqual([
      ['a', 'b'],
      ['1', '2']
    ]);
    expect(parseCSV('h\n1\n2\n3\n', ',', 2)).toEqual([['h'], ['1']]);
  });

  it('formats sizes', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
  });
});

describe('diff helpers', () => {
  it('maps toggles to the parts query', () => {
    expect(partsQuery({ sources: true, outputs: false, metadata: true })).toBe(
      'sources,metadata'
    );
    expect(
      partsQuery({ sources: false, outputs: false, metadata: false })
    ).toBe('');
  });

  it('summarises a diff', () => {
    const reply = {
      cells: { added: 1, removed: 0, modified: 2 },
      diff: [{ key: 'cells' }, { key: 'metadata' }]
    } as unknown as IDiffReply;
    expect(diffSummary(reply)).toBe(
      '2 cells changed, 1 added, 0 removed; notebook metadata changed'
    );
    expect(
      diffSummary({
        cells: { added: 0, removed: 0, modified: 0 },
        diff: []
      } as unknown as IDiffReply)
    ).toMatch(/same/);
  });
});

describe('commands helpers', () => {
  it('reads run ids from free text', () => {
    expect(parseRunIds(` ${A}, ${B.toUpperCase()}\n${A} nope`)).toEqual([A, B]);
  });

  it('restores a snapshot without the original notebook identity', () => {
    const nb = {
      nbformat: 4,
      nbformat_minor: 5,
      metadata: {
        jupyter_mm: { notebook_id: 'orig' },
        kernelspec: { name: 'p' }
      },
      cells: []
    };
    const copy = restoredNotebook(nb, A);
    expect(copy.metadata.jupyter_mm).toEqual({ restored_from_run: A });
    expect(copy.metadata.kernelspec).toEqual({ name: 'p' });
    expect(nb.metadata.jupyter_mm.notebook_id).toBe('orig');
  });
});

describe('run overview', () => {
  it('summarises status, git, environment and the execution flags', () => {
    const items = entries(
      overviewItems(
        {
          run: run(A, {
            status: 'RUNNING',
            end_time: null,
            tags: { 'mm.notebook.path': 'work/train.ipynb' }
          }),
          cell: { cell_id: 'c1', execution_count: 7 },
          git: { commit: '0123456789abcdef', branch: 'main', dirty: true },
          environment: {
            python: { version: '3.11.7', implementation: 'CPython' },
            platform: { system: 'Linux', machine: 'x86_64' },
            packages: { numpy: '2', pandas: '2' }
          },
          executionLog: {
            flags: { out_of_order: true, edited_after_run: [] }
          },
          snapshot: null
        },
        1_005_000
      )
    );
    expect(items['Duration']).toBe('5.0 s (running)');
    expect(items['Notebook']).toBe('work/train.ipynb');
    expect(items['Cell']).toBe('id c1 [7]');
    expect(items['Git']).toBe('main @ 0123456789 (uncommitted changes)');
    expect(items['Environment']).toBe(
      'CPython 3.11.7 · Linux x86_64 · 2 packages'
    );
    expect(items['Execution']).toBe('⚠ cells ran out of order');
  });

  it('falls back to the run tags for the flags', () => {
    const items = entries(
      overviewItems({
        run: run(A, {
          tags: { 'mm.out_of_order': 'false', 'mm.hidden_state': 'true' }
        }),
        cell: null,
        git: null,
        environment: null,
        executionLog: null,
        snapshot: null
      })
    );
    expect(items['Execution']).toBe(
      '⚠ hidden state: a cell changed after it ran'
    );
    expect(items['Git']).toBe('—');
  });

  it('escapes user text for plotly labels', () => {
    expect(escapeForPlotly('<b>a</b> & c')).toBe(
      '&lt;b&gt;a&lt;/b&gt; &amp; c'
    );
  });
});
