/**
 * Run grouping: groups by a param or tag, their metric stats, the grouped
 * table's lines, and group curves aligned by step (mean and min–max band).
 */

import {
  aggregateCurves,
  compareGroupValues,
  formatStats,
  groupKeys,
  groupRuns,
  groupValue,
  groupedItems,
  isGroupKey,
  stats
} from '../grouping';
import { groupTraces, withAlpha } from '../views/metrics';
import { IMetricSeries, IRun } from '../schema';

function run(
  id: string,
  params: Record<string, string>,
  metrics: Record<string, number | string> = {},
  tags: Record<string, string> = {}
): IRun {
  return { id, name: id, params, metrics, tags } as IRun;
}

const RUNS = [
  run('a', { lr: '0.1' }, { auc: 0.8 }, { team: 'x' }),
  run('b', { lr: '0.01' }, { auc: 0.6 }),
  run('c', { lr: '0.1' }, { auc: 0.9, loss: 'NaN' }, { 'mm.cell.id': 'c1' }),
  run('d', {}, { auc: 0.5 }),
  run('e', { lr: '0.1' }, { auc: 'Infinity' })
];

describe('grouping', () => {
  it('offers params and user tags as group keys', () => {
    expect(groupKeys(RUNS)).toEqual(['params.lr', 'tags.team']);
    expect(isGroupKey('params.lr')).toBe(true);
    expect(isGroupKey('tags.team')).toBe(true);
    expect(isGroupKey('metrics.auc')).toBe(false);
    expect(isGroupKey('attributes.name')).toBe(false);
    expect(groupValue(RUNS[0], 'tags.team')).toBe('x');
    expect(groupValue(RUNS[1], 'tags.team')).toBeNull();
    expect(groupValue(RUNS[0], 'metrics.auc')).toBeNull();
  });

  it('orders values numerically when they are numbers, (none) last', () => {
    const values = ['10', '(x)', '2', null, '0.5', 'b', 'a'];
    expect(values.sort(compareGroupValues)).toEqual([
      '0.5',
      '2',
      '10',
      '(x)',
      'a',
      'b',
      null
    ]);
  });

  it('splits runs by value with each group mean, min and max', () => {
    const groups = groupRuns(RUNS, 'params.lr', ['auc', 'loss']);
    expect(groups.map(g => [g.label, g.runs.map(r => r.id)])).toEqual([
      ['0.01', ['b']],
      ['0.1', ['a', 'c', 'e']],
      ['(none)', ['d']]
    ]);
    // Non-finite values (e's ∞, c's NaN) are left out of the stats.
    expect(groups[1].metrics.auc).toEqual({
      count: 2,
      mean: expect.closeTo(0.85, 10),
      min: 0.8,
      max: 0.9
    });
    expect(groups[1].metrics.loss).toBeNull();
    expect(groups[2].value).toBeNull();
    expect(new Set(groups.map(g => g.id)).size).toBe(3);
  });

  it('formats stats as mean (min–max)', () => {
    expect(formatStats(stats([0.8, 0.9]))).toBe('0.85 (0.8–0.9)');
    expect(formatStats(stats([2, 2]))).toBe('2');
    expect(formatStats(stats([NaN]))).toBe('');
    expect(formatStats(null)).toBe('');
  });

  it('lists headers then runs, none under a collapsed group', () => {
    const groups = groupRuns(RUNS, 'params.lr');
    const items = groupedItems(groups, new Set([groups[1].id]));
    expect(
      items.map(i => (i.kind === 'group' ? `[${i.group.label}]` : i.run.id))
    ).toEqual(['[0.01]', 'b', '[0.1]', '[(none)]', 'd']);
    expect(items[2]).toMatchObject({ kind: 'group', collapsed: true });
  });

  it('groups thousands of runs in one pass', () => {
    const many = Array.from({ length: 20000 }, (_, i) =>
      run(`r${i}`, { seed: String(i % 7) }, { auc: i })
    );
    const groups = groupRuns(many, 'params.seed', ['auc']);
    expect(groups).toHaveLength(7);
    expect(groups.reduce((n, g) => n + g.runs.length, 0)).toBe(20000);
    expect(groups[0].metrics.auc).toMatchObject({ min: 0, max: 19999 });
  });
});

describe('aggregateCurves', () => {
  it('aligns curves of different lengths by step', () => {
    const agg = aggregateCurves([
      { x: [0, 1, 2, 3], y: [1, 2, 3, 4] },
      { x: [0, 1], y: [3, 4] }
    ]);
    expect(agg.x).toEqual([0, 1, 2, 3]);
    expect(agg.mean).toEqual([2, 3, 3, 4]);
    expect(agg.min).toEqual([1, 2, 3, 4]);
    expect(agg.max).toEqual([3, 4, 3, 4]);
    expect(agg.count).toEqual([2, 2, 1, 1]);
  });

  it('reads between points where a curve has no value at a step', () => {
    // Down-sampled histories keep different steps.
    const agg = aggregateCurves([
      { x: [0, 10], y: [0, 10] },
      { x: [0, 5, 10], y: [2, 2, 2] }
    ]);
    expect(agg.x).toEqual([0, 5, 10]);
    expect(agg.mean).toEqual([1, 3.5, 6]);
    expect(agg.min).toEqual([0, 2, 2]);
    expect(agg.max).toEqual([2, 5, 10]);
  });

  it('skips non-finite points, unsorted input and empty curves', () => {
    const agg = aggregateCurves([
      { x: [2, 0, 1], y: [NaN, 4, 6] },
      { x: [], y: [] },
      { x: [1, 2], y: [Infinity, 8] }
    ]);
    expect(agg.x).toEqual([0, 1, 2]);
    expect(agg.mean).toEqual([4, 6, 8]);
    expect(agg.count).toEqual([1, 1, 1]);
    expect(aggregateCurves([]).x).toEqual([]);
  });
});

describe('groupTraces', () => {
  const series = (run_id: string, value: number[]): IMetricSeries => ({
    run_id,
    key: 'loss',
    step: value.map((_, i) => i),
    timestamp: value.map((_, i) => 1000 + i * 1000),
    value
  });

  it('draws each group as a band (min, max filled) under its mean line', () => {
    const traces = groupTraces(
      [series('a', [1, 2, 3]), series('b', [3, 4, 5]), series('c', [7, 7, 7])],
      [
        { name: '0.1', runIds: ['a', 'b'], color: '#1f77b4' },
        { name: '0.01', runIds: ['c'], color: '#ff7f0e' }
      ],
      { axis: 'step', smoothing: 0, startTimes: {} }
    );
    expect(traces.map(t => [t.name, t.meta?.band, t.fill])).toEqual([
      ['0.1 (min)', 'min', undefined],
      ['0.1 (max)', 'max', 'tonexty'],
      ['0.1', 'mean', undefined],
      ['0.01 (min)', 'min', undefined],
      ['0.01 (max)', 'max', 'tonexty'],
      ['0.01', 'mean', undefined]
    ]);
    expect(traces[0].y).toEqual([1, 2, 3]);
    expect(traces[1].y).toEqual([3, 4, 5]);
    expect(traces[2].y).toEqual([2, 3, 4]);
    expect(traces[1].fillcolor).toBe('rgba(31,119,180,0.2)');
    // One legend entry per group: the band's edges are not listed.
    expect(traces.filter(t => t.showlegend !== false).map(t => t.name)).toEqual(
      ['0.1', '0.01']
    );
    expect(new Set(traces.slice(0, 3).map(t => t.legendgroup)).size).toBe(1);
    expect(new Set(traces.map(t => t.uid)).size).toBe(6);
  });

  it('smooths the mean and the band; a group without curves is left out', () => {
    const traces = groupTraces(
      [series('a', [0, 10, 0, 10])],
      [
        { name: 'g', runIds: ['a'], color: 'red' },
        { name: 'empty', runIds: ['zz'], color: 'blue' }
      ],
      { axis: 'step', smoothing: 0.6, startTimes: {} }
    );
    expect(traces).toHaveLength(3);
    expect(traces[2].y).not.toEqual([0, 10, 0, 10]);
    expect(traces[1].fillcolor).toBe('red');
    expect(withAlpha('#ffffff', 0.5)).toBe('rgba(255,255,255,0.5)');
  });
});
