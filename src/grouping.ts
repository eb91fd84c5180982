/**
 * Run grouping (W&B's "Group by"): runs split by the value of a param or tag,
 * each group's mean, min and max of a metric, and the mean and min–max band
 * of the group's metric curves, aligned by step. Pure functions, shared by
 * the run panel (`runsModel.ts`) and the compare view (`views/`).
 */

import { IRun } from './schema';
import { formatMetric, metricNumber, parseColumn } from './columns';

/**
 * The label of the group of runs without the key.
 */
export const NO_VALUE_LABEL = '(none)';

/**
 * Whether a column id can group runs: a param or a tag.
 */
export function isGroupKey(id: string): boolean {
  const column = parseColumn(id);
  return column?.section === 'params' || column?.section === 'tags';
}

/**
 * Whether a tag is the user's (not jupyter-mm's or MLflow's own `mm.*` /
 * `mlflow.*` ones): only those are offered to group by.
 */
export function isUserTag(key: string): boolean {
  return !key.startsWith('mm.') && !key.startsWith('mlflow.');
}

/**
 * The keys `runs` can be grouped by: their params, then their user tags, as
 * column ids.
 */
export function groupKeys(runs: ReadonlyArray<IRun>): string[] {
  const params = new Set<string>();
  const tags = new Set<string>();
  for (const run of runs) {
    Object.keys(run.params ?? {}).forEach(k => params.add(k));
    Object.keys(run.tags ?? {})
      .filter(isUserTag)
      .forEach(k => tags.add(k));
  }
  return [
    ...[...params].sort().map(k => `params.${k}`),
    ...[...tags].sort().map(k => `tags.${k}`)
  ];
}

/**
 * A run's value of a group key (`params.lr`, `tags.team`), null when it has
 * none.
 */
export function groupValue(run: IRun, by: string): string | null {
  const column = parseColumn(by);
  if (column?.section !== 'params' && column?.section !== 'tags') {
    return null;
  }
  const values = run[column.section] as Record<string, string> | undefined;
  const value = values?.[column.key];
  return typeof value === 'string' ? value : null;
}

/**
 * Mean, min and max of the finite values among some (NaN and ±∞ are left
 * out: one diverged run must not make the mean infinite).
 */
export interface IStats {
  /**
   * How many finite values.
   */
  count: number;
  mean: number;
  min: number;
  max: number;
}

/**
 * The stats of some values, null when none is finite.
 */
export function stats(values: ReadonlyArray<number>): IStats | null {
  let count = 0;
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) {
      continue;
    }
    count++;
    sum += v;
    min = v < min ? v : min;
    max = v > max ? v : max;
  }
  return count === 0 ? null : { count, mean: sum / count, min, max };
}

/**
 * Stats as a table cell's text: `mean (min–max)`, or the mean alone when all
 * values are equal; '' for none.
 */
export function formatStats(s: IStats | null): string {
  if (!s) {
    return '';
  }
  const mean = formatMetric(s.mean);
  return s.min === s.max
    ? mean
    : `${mean} (${formatMetric(s.min)}–${formatMetric(s.max)})`;
}

/**
 * A group of runs sharing the value of the group key.
 */
export interface IRunGroup<R extends IRun = IRun> {
  /**
   * The shared value, null for the runs without the key.
   */
  value: string | null;
  /**
   * The value as shown (`(none)` for null).
   */
  label: string;
  /**
   * A key naming the group among the others (null included).
   */
  id: string;
  runs: R[];
  /**
   * The stats of each asked metric's latest values, by metric key.
   */
  metrics: Record<string, IStats | null>;
}

/**
 * Compare two group values: numbers first, in numeric order, then the other
 * values as text; the group without a value last.
 */
export function compareGroupValues(a: string | null, b: string | null): number {
  if (a === null || b === null) {
    return a === b ? 0 : a === null ? 1 : -1;
  }
  const na = a.trim() === '' ? NaN : Number(a);
  const nb = b.trim() === '' ? NaN : Number(b);
  const numeric = Number(!Number.isNaN(nb)) - Number(!Number.isNaN(na));
  if (numeric !== 0) {
    return numeric;
  }
  if (!Number.isNaN(na) && na !== nb) {
    return na - nb;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Split runs by their value of `by` (runs keep their order within a group),
 * the groups in value order, with the stats of the latest value of each of
 * `metricKeys`. One pass over the runs, so thousands cost little.
 */
export function groupRuns<R extends IRun>(
  runs: ReadonlyArray<R>,
  by: string,
  metricKeys: ReadonlyArray<string> = []
): IRunGroup<R>[] {
  const byValue = new Map<string | null, R[]>();
  for (const run of runs) {
    const value = groupValue(run, by);
    const group = byValue.get(value);
    if (group) {
      group.push(run);
    } else {
      byValue.set(value, [run]);
    }
  }
  return [...byValue.keys()].sort(compareGroupValues).map(value => {
    const members = byValue.get(value) ?? [];
    const metrics: Record<string, IStats | null> = {};
    for (const key of metricKeys) {
      metrics[key] = stats(members.map(r => metricNumber(r.metrics?.[key])));
    }
    return {
      value,
      label: value ?? NO_VALUE_LABEL,
      id: groupId(value),
      runs: members,
      metrics
    };
  });
}

/**
 * The id of the group of a value (the group without one included).
 */
export function groupId(value: string | null): string {
  return value === null ? '\u0000none' : `=${value}`;
}

/**
 * A line of the grouped run table: a group's header, or one of its runs.
 */
export type GroupedItem<R extends IRun = IRun> =
  | { kind: 'group'; group: IRunGroup<R>; collapsed: boolean }
  | { kind: 'run'; run: R; group: IRunGroup<R> | null };

/**
 * The lines of the grouped table: each group's header, then its runs unless
 * the group is collapsed.
 */
export function groupedItems<R extends IRun>(
  groups: ReadonlyArray<IRunGroup<R>>,
  collapsed: ReadonlySet<string>
): GroupedItem<R>[] {
  const items: GroupedItem<R>[] = [];
  for (const group of groups) {
    const isCollapsed = collapsed.has(group.id);
    items.push({ kind: 'group', group, collapsed: isCollapsed });
    if (!isCollapsed) {
      for (const run of group.runs) {
        items.push({ kind: 'run', run, group });
      }
    }
  }
  return items;
}

/**
 * A curve as x values (steps, or seconds) and y values.
 */
export interface ICurve {
  x: ReadonlyArray<number>;
  y: ReadonlyArray<number>;
}

/**
 * Curves of a group aggregated at each x: the mean, min and max of the
 * curves that reach that x, and how many do.
 */
export interface IAggregateCurve {
  x: number[];
  mean: number[];
  min: number[];
  max: number[];
  count: number[];
}

/**
 * Aggregate curves of different lengths and x values (down-sampled
 * histories keep different steps): at every x of any curve, each curve whose
 * range covers that x contributes its value there, read linearly between its
 * two nearest points when it has none at that exact x. A curve that ended
 * (or has not started) does not pull the mean, so a shorter run never drags
 * the group's line to zero. Non-finite points are gaps, skipped.
 */
export function aggregateCurves(
  curves: ReadonlyArray<ICurve>
): IAggregateCurve {
  // Each curve's finite points, ordered by x.
  const clean = curves
    .map(c => {
      const points: Array<[number, number]> = [];
      const n = Math.min(c.x.length, c.y.length);
      for (let i = 0; i < n; i++) {
        if (Number.isFinite(c.x[i]) && Number.isFinite(c.y[i])) {
          points.push([c.x[i], c.y[i]]);
        }
      }
      points.sort((a, b) => a[0] - b[0]);
      return points;
    })
    .filter(points => points.length > 0);
  const seen = new Set<number>();
  clean.forEach(points => points.forEach(p => seen.add(p[0])));
  const xs = Array.from(seen).sort((a, b) => a - b);
  const out: IAggregateCurve = { x: [], mean: [], min: [], max: [], count: [] };
  // One cursor per curve: xs ascend, so each curve is walked once.
  const cursors = clean.map(() => 0);
  for (const x of xs) {
    let count = 0;
    let sum = 0;
    let min = Infinity;
    let max = -Infinity;
    clean.forEach((points, c) => {
      const last = points.length - 1;
      if (x < points[0][0] || x > points[last][0]) {
        return;
      }
      let i = cursors[c];
      while (i < last && points[i + 1][0] <= x) {
        i++;
      }
      cursors[c] = i;
      const [x0, y0] = points[i];
      let y = y0;
      if (x0 !== x && i < last) {
        const [x1, y1] = points[i + 1];
        y = y0 + ((y1 - y0) * (x - x0)) / (x1 - x0);
      }
      count++;
      sum += y;
      min = y < min ? y : min;
      max = y > max ? y : max;
    });
    if (count > 0) {
      out.x.push(x);
      out.mean.push(sum / count);
      out.min.push(min);
      out.max.push(max);
      out.count.push(count);
    }
  }
  return out;
}
