/**
 * The charts workspace's view-model: which runs it shows, its layout (the
 * charts, the x axis, smoothing) and how that layout is saved per experiment,
 * and the x range its charts share. Pure functions, no React or plotly.
 */

import type { IChartSettings } from './chart';
import { sameRange, X_AXIS_KINDS, XAxisKind } from './metrics';

/**
 * The most runs one workspace charts (each chart draws a curve per run).
 */
export const MAX_CHART_RUNS = 50;

/**
 * What a workspace remembers for an experiment.
 */
export interface IChartsLayout {
  /**
   * The charts' metric keys in order; null until the user adds or removes
   * one (then every metric of the runs has a chart).
   */
  charts: string[] | null;
  /**
   * The metric keys there were when `charts` was last edited: a key logged
   * since then gets a chart of its own, one removed stays removed.
   */
  known: string[];
  axis: XAxisKind;
  /**
   * EMA weight, 0 for none.
   */
  smoothing: number;
  logY: boolean;
}

/**
 * The layout of an experiment nothing was saved for.
 */
export const DEFAULT_LAYOUT: IChartsLayout = {
  charts: null,
  known: [],
  axis: 'step',
  smoothing: 0,
  logY: false
};

/**
 * The IStateDB key of an experiment's layout (`*`: all experiments).
 */
export function layoutKey(experimentId: string): string {
  return `jupyter-mm:charts-workspace:${experimentId}`;
}

/**
 * A saved layout, checked: what is missing or malformed (an older version,
 * a hand-edited workspace) takes the default.
 */
export function parseLayout(value: unknown): IChartsLayout {
  const saved = (value && typeof value === 'object' ? value : {}) as Record<
    string,
    unknown
  >;
  const strings = (v: unknown): string[] | null =>
    Array.isArray(v) && v.every(s => typeof s === 'string') ? [...v] : null;
  const axis = X_AXIS_KINDS.some(([kind]) => kind === saved.axis)
    ? (saved.axis as XAxisKind)
    : DEFAULT_LAYOUT.axis;
  const smoothing =
    typeof saved.smoothing === 'number' &&
    saved.smoothing >= 0 &&
    saved.smoothing < 1
      ? saved.smoothing
      : DEFAULT_LAYOUT.smoothing;
  return {
    charts: strings(saved.charts),
    known: strings(saved.known) ?? [],
    axis,
    smoothing,
    logY: saved.logY === true
  };
}

/**
 * The layout as saved (plain JSON).
 */
export function layoutJSON(layout: IChartsLayout): Record<string, unknown> {
  return {
    charts: layout.charts ? [...layout.charts] : null,
    known: [...layout.known],
    axis: layout.axis,
    smoothing: layout.smoothing,
    logY: layout.logY
  };
}

/**
 * The metric keys that get a chart, in order, given the keys the runs have.
 * A key the runs lack gets none (but stays in the layout, for other runs).
 */
export function shownCharts(
  keys: ReadonlyArray<string>,
  layout: IChartsLayout
): string[] {
  if (layout.charts === null) {
    return [...keys];
  }
  const present = new Set(keys);
  const chosen = layout.charts.filter(k => present.has(k));
  const known = new Set([...layout.known, ...layout.charts]);
  return [...chosen, ...keys.filter(k => !known.has(k))];
}

/**
 * The metric keys the "Add chart" picker offers: the runs' keys not shown.
 */
export function addableCharts(
  keys: ReadonlyArray<string>,
  layout: IChartsLayout
): string[] {
  const shown = new Set(shownCharts(keys, layout));
  return keys.filter(k => !shown.has(k));
}

/**
 * The layout with the chart of `key` removed.
 */
export function removeChart(
  layout: IChartsLayout,
  keys: ReadonlyArray<string>,
  key: string
): IChartsLayout {
  return editCharts(
    layout,
    keys,
    shownCharts(keys, layout).filter(k => k !== key)
  );
}

/**
 * The layout with a chart of `key` added after the others.
 */
export function addChart(
  layout: IChartsLayout,
  keys: ReadonlyArray<string>,
  key: string
): IChartsLayout {
  const shown = shownCharts(keys, layout).filter(k => k !== key);
  return editCharts(layout, keys, [...shown, key]);
}

function editCharts(
  layout: IChartsLayout,
  keys: ReadonlyArray<string>,
  shown: string[]
): IChartsLayout {
  // Keys of other runs (absent now) keep their place after the shown ones.
  const present = new Set(keys);
  const absent = (layout.charts ?? []).filter(
    k => !present.has(k) && !shown.includes(k)
  );
  const known = [...new Set([...layout.known, ...keys])];
  return { ...layout, charts: [...shown, ...absent], known };
}

/**
 * The layout with new chart settings; a new x axis kind is a new zoom.
 */
export function withSettings(
  layout: IChartsLayout,
  settings: IChartSettings
): IChartsLayout {
  return {
    ...layout,
    axis: settings.axis,
    smoothing: settings.smoothing,
    logY: settings.logY
  };
}

/**
 * The runs a workspace opened from the run panel charts: the selected ones,
 * else the ones the panel lists, the first `MAX_CHART_RUNS` of them.
 *
 * @param more whether the panel has runs it has not loaded yet
 */
export function chartedRuns(
  selected: ReadonlyArray<string>,
  listed: ReadonlyArray<string>,
  more: boolean
): { runIds: string[]; note: string } {
  const from = selected.length > 0 ? selected : listed;
  const runIds = from.slice(0, MAX_CHART_RUNS);
  const total = `${from.length}${selected.length === 0 && more ? '+' : ''}`;
  const what = selected.length > 0 ? 'selected' : 'listed';
  const note =
    runIds.length < from.length || (selected.length === 0 && more)
      ? `Showing the first ${runIds.length} of ${total} ${what} runs.`
      : '';
  return { runIds, note };
}

/**
 * The x range the charts of a workspace share: a zoom in one is applied to
 * the others, and their answering relayouts change nothing.
 */
export class SharedXRange {
  /**
   * The range shown (null: everything).
   */
  get range(): [number, number] | null {
    return this._range;
  }

  /**
   * A chart's x range changed; true when that is news to the others.
   */
  set(range: [number, number] | null): boolean {
    if (sameRange(range, this._range)) {
      return false;
    }
    this._range = range ? [range[0], range[1]] : null;
    return true;
  }

  private _range: [number, number] | null = null;
}

/**
 * The x range spanning all of `ranges` (null: none), so charts of metrics
 * logged over different steps or times line up.
 */
export function unionRange(
  ranges: Iterable<[number, number] | null>
): [number, number] | null {
  let union: [number, number] | null = null;
  for (const r of ranges) {
    if (r) {
      union = union
        ? [Math.min(union[0], r[0]), Math.max(union[1], r[1])]
        : [r[0], r[1]];
    }
  }
  return union;
}
