/**
 * The compare view's data: the params/metrics table with differing values
 * flagged, parallel-coordinates dimensions and param-vs-metric scatters.
 * Pure functions over runs from `GET runs/{id}`.
 */

import { formatValue, toNumber } from './metrics';
import { IFullRun as IRun } from '../schema';

/**
 * One row of the comparison table.
 */
export interface ICompareRow {
  section: 'params' | 'metrics';
  key: string;
  /**
   * The value of each run as display text, `null` where the run has none.
   */
  values: Array<string | null>;
  /**
   * Whether the runs do not all hold the same value (a missing value differs
   * from any value).
   */
  differs: boolean;
  /**
   * For metrics: which run has the best value is unknown (higher or lower
   * may be better), so the extremes are marked instead: index of the lowest
   * and highest finite value, or -1.
   */
  lowest: number;
  highest: number;
}

/**
 * The comparison table: every param and metric key of any run, params first,
 * each section sorted by key.
 */
export function compareRows(runs: IRun[]): ICompareRow[] {
  const rows: ICompareRow[] = [];
  for (const section of ['params', 'metrics'] as const) {
    const keys = new Set<string>();
    for (const run of runs) {
      Object.keys(run[section] ?? {}).forEach(k => keys.add(k));
    }
    for (const key of Array.from(keys).sort()) {
      const raw = runs.map(run =>
        Object.prototype.hasOwnProperty.call(run[section] ?? {}, key)
          ? run[section][key]
          : null
      );
      const values = raw.map(v => (v === null ? null : formatValue(v)));
      const first = values[0];
      const differs = values.some(v => v !== first);
      let lowest = -1;
      let highest = -1;
      if (section === 'metrics' && differs) {
        raw.forEach((v, i) => {
          const n = v === null ? NaN : toNumber(v);
          if (!Number.isFinite(n)) {
            return;
          }
          if (lowest < 0 || n < toNumber(raw[lowest])) {
            lowest = i;
          }
          if (highest < 0 || n > toNumber(raw[highest])) {
            highest = i;
          }
        });
        if (lowest === highest) {
          lowest = highest = -1;
        }
      }
      rows.push({ section, key, values, differs, lowest, highest });
    }
  }
  return rows;
}

/**
 * A column of values as numbers when every present value is one, else as
 * categories (sorted), with each value's category index.
 */
export interface IAxisValues {
  numeric: boolean;
  values: Array<number | null>;
  /**
   * Category labels by index (categorical axes only).
   */
  categories: string[];
}

/**
 * Values of one param or metric across runs, for an axis.
 */
export function axisValues(
  runs: IRun[],
  section: 'params' | 'metrics',
  key: string
): IAxisValues {
  const raw = runs.map(run =>
    Object.prototype.hasOwnProperty.call(run[section] ?? {}, key)
      ? run[section][key]
      : null
  );
  const present = raw.filter(v => v !== null);
  const numeric =
    section === 'metrics' ||
    present.every(v => v !== '' && Number.isFinite(toNumber(v)));
  if (numeric) {
    return {
      numeric,
      values: raw.map(v => {
        const n = v === null ? NaN : toNumber(v);
        return Number.isFinite(n) ? n : null;
      }),
      categories: []
    };
  }
  const categories = Array.from(new Set(present.map(v => String(v)))).sort();
  return {
    numeric,
    values: raw.map(v => (v === null ? null : categories.indexOf(String(v)))),
    categories
  };
}

/**
 * A plotly parcoords dimension, typed loosely.
 */
export interface IParcoordsDimension {
  label: string;
  values: number[];
  tickvals?: number[];
  ticktext?: string[];
  range?: [number, number];
}

/**
 * Parallel-coordinates dimensions: the params that vary, then the metrics
 * (those that vary first). Runs missing a value are placed below the axis'
 * range, labelled "none", since parcoords cannot draw gaps.
 */
export function parcoordsDimensions(
  runs: IRun[],
  maxDimensions = 12
): IParcoordsDimension[] {
  const rows = compareRows(runs).filter(
    row => row.section === 'metrics' || row.differs
  );
  rows.sort((a, b) =>
    a.section !== b.section
      ? a.section === 'params'
        ? -1
        : 1
      : Number(b.differs) - Number(a.differs)
  );
  return rows.slice(0, maxDimensions).map(row => {
    const axis = axisValues(runs, row.section, row.key);
    const label = `${row.section === 'params' ? 'param' : 'metric'}: ${row.key}`;
    const missing = axis.values.some(v => v === null);
    if (axis.numeric) {
      const present = axis.values.filter((v): v is number => v !== null);
      const lo = present.length ? Math.min(...present) : 0;
      const hi = present.length ? Math.max(...present) : 1;
      const pad = hi > lo ? (hi - lo) * 0.1 : 1;
      const none = lo - pad;
      return {
        label,
        values: axis.values.map(v => (v === null ? none : v)),
        range: [missing ? none : lo, hi] as [number, number]
      };
    }
    const tickvals = axis.categories.map((_, i) => i);
    const ticktext = axis.categories.slice();
    if (missing) {
      tickvals.unshift(-1);
      ticktext.unshift('none');
    }
    return {
      label,
      values: axis.values.map(v => (v === null ? -1 : v)),
      tickvals,
      ticktext,
      range: [missing ? -1 : 0, Math.max(axis.categories.length - 1, 0)] as [
        number,
        number
      ]
    };
  });
}

/**
 * Scatter data of a param (x) against a metric (y); runs missing either are
 * left out.
 */
export function scatterPoints(
  runs: IRun[],
  param: string,
  metric: string
): {
  x: Array<number | string>;
  y: number[];
  names: string[];
  ids: string[];
  numericX: boolean;
} {
  const xs = axisValues(runs, 'params', param);
  const ys = axisValues(runs, 'metrics', metric);
  const x: Array<number | string> = [];
  const y: number[] = [];
  const names: string[] = [];
  const ids: string[] = [];
  runs.forEach((run, i) => {
    const xv = xs.values[i];
    const yv = ys.values[i];
    if (xv === null || yv === null) {
      return;
    }
    x.push(xs.numeric ? xv : xs.categories[xv]);
    y.push(yv);
    names.push(run.name || run.id.slice(0, 8));
    ids.push(run.id);
  });
  return { x, y, names, ids, numericX: xs.numeric };
}

/**
 * Keys of a section over all runs, sorted.
 */
export function sectionKeys(
  runs: IRun[],
  section: 'params' | 'metrics'
): string[] {
  const keys = new Set<string>();
  runs.forEach(run =>
    Object.keys(run[section] ?? {}).forEach(k => keys.add(k))
  );
  return Array.from(keys).sort();
}

/**
 * The key of a section to show first: the first (sorted) one whose values
 * differ across the runs, else the first one; '' when there is none. A
 * scatter of a param identical in every run shows nothing.
 */
export function defaultKey(
  runs: IRun[],
  section: 'params' | 'metrics'
): string {
  const rows = compareRows(runs).filter(r => r.section === section);
  return (rows.find(r => r.differs) ?? rows[0])?.key ?? '';
}
