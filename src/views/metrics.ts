/**
 * Metric histories to chart data: wire values to numbers, EMA smoothing,
 * plotly traces, and the down-sampling query for the visible range.
 *
 * Pure functions, no plotly import: the chart module loads plotly lazily.
 */

import { IHistoryQuery, Range } from './types';
import { aggregateCurves } from '../grouping';
import { IMetricSeries } from '../schema';

/**
 * Points asked for per curve: about one per pixel column of a wide chart,
 * twice (the server keeps each bucket's minimum and maximum).
 */
export const POINTS_PER_CURVE = 2000;

/**
 * What the x axis shows: the step, seconds since the run started, or the
 * wall-clock time.
 */
export type XAxisKind = 'step' | 'time' | 'wall';

/**
 * The x axis kinds, with their labels, in the order the controls offer them.
 */
export const X_AXIS_KINDS: ReadonlyArray<[XAxisKind, string]> = [
  ['step', 'step'],
  ['time', 'time (s since start)'],
  ['wall', 'wall time']
];

/**
 * Plotly draws epoch milliseconds on a date axis as UTC: wall times are
 * shifted by the browser's offset so the axis reads local time.
 */
export function wallX(ms: number): number {
  return ms - new Date(ms).getTimezoneOffset() * 60000;
}

/**
 * The epoch milliseconds of a wall-time axis value (inverse of `wallX`).
 */
export function wallMs(x: number): number {
  return x + new Date(x).getTimezoneOffset() * 60000;
}

/**
 * A wire value (`WireNumber`: `"NaN"`, `"Infinity"`, `"-Infinity"` or a number),
 * or a param, as a number.
 */
export function toNumber(value: number | string | null | undefined): number {
  if (typeof value === 'number') {
    return value;
  }
  switch (value) {
    case 'Infinity':
      return Infinity;
    case '-Infinity':
      return -Infinity;
    case null:
    case undefined:
      return NaN;
    default:
      return Number(value);
  }
}

/**
 * Exponential moving average, debiased like TensorBoard's smoothing so the
 * first points are not pulled towards zero.
 *
 * @param values the raw values
 * @param weight 0 (no smoothing) to below 1 (heavier)
 * @returns smoothed values; a non-finite input point stays as it is and does
 *   not enter the average
 */
export function emaSmooth(values: number[], weight: number): number[] {
  const w = Math.min(Math.max(weight, 0), 0.999);
  if (w === 0) {
    return values.slice();
  }
  const out = new Array<number>(values.length);
  let last = 0;
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) {
      out[i] = v;
      continue;
    }
    last = last * w + (1 - w) * v;
    count++;
    out[i] = last / (1 - Math.pow(w, count));
  }
  return out;
}

/**
 * The x values of a series for an axis kind.
 *
 * @param startTime the run's start (ms), origin of the time axis
 */
export function xValues(
  series: IMetricSeries,
  axis: XAxisKind,
  startTime: number
): number[] {
  if (axis === 'step') {
    return series.step.slice();
  }
  if (axis === 'wall') {
    return series.timestamp.map(wallX);
  }
  return series.timestamp.map(t => (t - startTime) / 1000);
}

/**
 * Options of {@link seriesToTraces}.
 */
export interface ITraceOptions {
  axis: XAxisKind;
  /**
   * EMA weight, 0 for none.
   */
  smoothing: number;
  /**
   * Each run's start time (ms), by run id.
   */
  startTimes: Record<string, number>;
  /**
   * Legend name of a series (default its key).
   */
  name?: (series: IMetricSeries) => string;
  /**
   * Colour of a series (default plotly's cycle).
   */
  color?: (series: IMetricSeries, index: number) => string | undefined;
}

/**
 * A plotly scatter trace, typed loosely so this module needs no plotly import.
 */
export interface ITrace {
  type: 'scatter';
  mode: 'lines' | 'lines+markers';
  marker?: { size: number; color?: string };
  name: string;
  x: number[];
  y: Array<number | null>;
  line: { width: number; color?: string };
  opacity?: number;
  showlegend?: boolean;
  legendgroup: string;
  /**
   * Identity across redraws, so a curve hidden from the legend stays hidden
   * when live points (or another run's first ones) arrive.
   */
  uid: string;
  hoverinfo?: string;
  hovertemplate?: string;
  /**
   * A group's band edge fills the space down to the trace before it.
   */
  fill?: 'tonexty';
  fillcolor?: string;
  meta?: ITraceMeta;
}

/**
 * What a trace draws: a run's curve (raw: the faint unsmoothed one), or a
 * group's mean or band edge.
 */
export interface ITraceMeta {
  key: string;
  runId?: string;
  raw?: boolean;
  group?: string;
  band?: 'min' | 'max' | 'mean';
}

/**
 * Series with fewer finite points than this are drawn with markers, so a
 * single point (a metric logged once) is visible.
 */
export const SHOW_MARKERS_BELOW = 3;

/**
 * Plotly traces for metric series: one line per series; with smoothing the
 * raw line is kept faint behind the smoothed one. NaN and infinite values
 * become gaps (plotly draws no point for null).
 */
export function seriesToTraces(
  series: IMetricSeries[],
  options: ITraceOptions
): ITrace[] {
  const traces: ITrace[] = [];
  series.forEach((s, index) => {
    const name = options.name ? options.name(s) : s.key;
    const color = options.color ? options.color(s, index) : undefined;
    const x = xValues(s, options.axis, options.startTimes[s.run_id] ?? 0);
    const raw = s.value.map(toNumber);
    const group = `${s.run_id}/${s.key}`;
    const xLabel =
      options.axis === 'step'
        ? 'step %{x}'
        : options.axis === 'wall'
          ? '%{x}'
          : '%{x:.3f} s';
    if (options.smoothing > 0) {
      traces.push({
        type: 'scatter',
        mode: 'lines',
        name: `${name} (raw)`,
        x,
        y: gaps(raw),
        line: { width: 1, color },
        opacity: 0.3,
        showlegend: false,
        legendgroup: group,
        uid: `${traceUid(group)}-raw`,
        hoverinfo: 'skip',
        meta: { runId: s.run_id, key: s.key, raw: true }
      });
    }
    // A metric logged once (a final accuracy) is one point: a line alone
    // would draw nothing, so short series get markers too.
    const lone = raw.filter(Number.isFinite).length < SHOW_MARKERS_BELOW;
    traces.push({
      type: 'scatter',
      mode: lone ? 'lines+markers' : 'lines',
      ...(lone ? { marker: { size: 8, color } } : {}),
      name,
      x,
      y: gaps(options.smoothing > 0 ? emaSmooth(raw, options.smoothing) : raw),
      line: { width: 1.5, color },
      legendgroup: group,
      uid: traceUid(group),
      hovertemplate: `%{y:.6g}<br>${xLabel}<extra>%{fullData.name}</extra>`,
      meta: { runId: s.run_id, key: s.key, raw: false }
    });
  });
  return traces;
}

/**
 * A group of runs drawn as one line (the mean) in a shaded band (min to max).
 */
export interface ITraceGroup {
  name: string;
  runIds: ReadonlyArray<string>;
  color: string;
}

/**
 * Plotly traces for groups of runs: for each group and key, the min edge (no
 * line), the max edge filling down to it (`tonexty`: the band) and the mean
 * line on top, all three in one legend entry (the group's name), so a click
 * on it hides the group. Curves are aligned by x ({@link aggregateCurves});
 * smoothing smooths the mean and the edges.
 */
export function groupTraces(
  series: IMetricSeries[],
  groups: ReadonlyArray<ITraceGroup>,
  options: ITraceOptions
): ITrace[] {
  const traces: ITrace[] = [];
  const keys = Array.from(new Set(series.map(s => s.key)));
  const smooth = (values: number[]) =>
    gaps(options.smoothing > 0 ? emaSmooth(values, options.smoothing) : values);
  const xLabel = options.axis === 'step' ? 'step %{x}' : '%{x:.3f} s';
  for (const group of groups) {
    const members = new Set(group.runIds);
    for (const key of keys) {
      const curves = series
        .filter(s => s.key === key && members.has(s.run_id))
        .map(s => ({
          x: xValues(s, options.axis, options.startTimes[s.run_id] ?? 0),
          y: s.value.map(toNumber)
        }));
      if (curves.length === 0) {
        continue;
      }
      const agg = aggregateCurves(curves);
      const name = keys.length > 1 ? `${group.name} ${key}` : group.name;
      const legendgroup = `group/${group.name}/${key}`;
      const uid = traceUid(legendgroup);
      const edge = (band: 'min' | 'max'): ITrace => ({
        type: 'scatter',
        mode: 'lines',
        name: `${name} (${band})`,
        x: agg.x,
        y: smooth(agg[band]),
        line: { width: 0, color: group.color },
        showlegend: false,
        legendgroup,
        uid: `${uid}-${band}`,
        hoverinfo: 'skip',
        ...(band === 'max'
          ? { fill: 'tonexty', fillcolor: withAlpha(group.color, 0.2) }
          : {}),
        meta: { group: group.name, key, band }
      });
      const lone = agg.x.length < SHOW_MARKERS_BELOW;
      traces.push(edge('min'), edge('max'), {
        type: 'scatter',
        mode: lone ? 'lines+markers' : 'lines',
        ...(lone ? { marker: { size: 8, color: group.color } } : {}),
        name,
        x: agg.x,
        y: smooth(agg.mean),
        line: { width: 2, color: group.color },
        legendgroup,
        uid,
        hovertemplate:
          `mean %{y:.6g} of ${curves.length} run${curves.length === 1 ? '' : 's'}` +
          `<br>${xLabel}<extra>%{fullData.name}</extra>`,
        meta: { group: group.name, key, band: 'mean' }
      });
    }
  }
  return traces;
}

/**
 * A `#rrggbb` colour with an alpha, as `rgba()` (other colours unchanged).
 */
export function withAlpha(color: string, alpha: number): string {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(color);
  if (!m) {
    return color;
  }
  const [r, g, b] = m.slice(1).map(h => parseInt(h, 16));
  return `rgba(${r},${g},${b},${alpha})`;
}

/**
 * A trace uid from a run id and key: plotly puts uids into CSS class names
 * and selectors, so only letters and digits (a 32-bit FNV-1a hash of the key,
 * which is user text).
 */
export function traceUid(group: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < group.length; i++) {
    hash ^= group.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return `mm${hash.toString(16).padStart(8, '0')}`;
}

function gaps(values: number[]): Array<number | null> {
  return values.map(v => (Number.isFinite(v) ? v : null));
}

/**
 * The visible x range in a plotly `relayout` event: `[lo, hi]`, `null` when
 * the axis went back to autorange, `undefined` when the event does not
 * concern the x axis (a y zoom, a legend click).
 */
export function relayoutXRange(
  event: Record<string, unknown>
): [number, number] | null | undefined {
  if (event['xaxis.autorange'] === true) {
    return null;
  }
  let lo = event['xaxis.range[0]'];
  let hi = event['xaxis.range[1]'];
  const range = event['xaxis.range'];
  if (Array.isArray(range) && range.length === 2) {
    [lo, hi] = range;
  }
  const a = axisNumber(lo);
  const b = axisNumber(hi);
  if (lo === undefined || hi === undefined || isNaN(a) || isNaN(b)) {
    return undefined;
  }
  return a <= b ? [a, b] : [b, a];
}

/**
 * The smallest and largest finite x of some series on an axis (null: none),
 * so charts of different metrics can share one x range.
 */
export function xExtent(
  series: IMetricSeries[],
  axis: XAxisKind,
  startTimes: Record<string, number>
): [number, number] | null {
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of series) {
    for (const x of xValues(s, axis, startTimes[s.run_id] ?? 0)) {
      if (Number.isFinite(x)) {
        lo = Math.min(lo, x);
        hi = Math.max(hi, x);
      }
    }
  }
  return lo <= hi ? [lo, hi] : null;
}

/**
 * Whether two x ranges (null: all) are the same.
 */
export function sameRange(
  a: [number, number] | null,
  b: [number, number] | null
): boolean {
  return a === null || b === null ? a === b : a[0] === b[0] && a[1] === b[1];
}

/**
 * A relayout value as a number: a date axis (wall time) answers with text
 * such as `2026-12-05 23:10:00.5`, read as the UTC instant plotly means.
 */
function axisNumber(value: unknown): number {
  if (typeof value === 'string' && /^\d{4}-\d\d-\d\d/.test(value)) {
    const [date, time = '00'] = value.trim().split(/[ T]/);
    const [h, m = '00', sec = '00'] = time.split(':');
    return Date.parse(`${date}T${h}:${m}:${sec}Z`);
  }
  return Number(value);
}

/**
 * History queries for the visible x range: one per run on the time axis
 * (each run's seconds-since-start map to its own time range), else one.
 *
 * @param range visible x range, null for everything
 */
export function historyQueries(
  runIds: string[],
  keys: string[],
  axis: XAxisKind,
  range: [number, number] | null,
  startTimes: Record<string, number>,
  maxPoints = POINTS_PER_CURVE
): IHistoryQuery[] {
  if (range === null) {
    return [{ run_ids: runIds, keys, max_points: maxPoints }];
  }
  if (axis === 'step') {
    const stepRange: Range = [Math.floor(range[0]), Math.ceil(range[1])];
    return [
      { run_ids: runIds, keys, max_points: maxPoints, step_range: stepRange }
    ];
  }
  if (axis === 'wall') {
    const timeRange: Range = [
      Math.floor(wallMs(range[0])),
      Math.ceil(wallMs(range[1]))
    ];
    return [
      { run_ids: runIds, keys, max_points: maxPoints, time_range: timeRange }
    ];
  }
  return runIds.map(runId => {
    const start = startTimes[runId] ?? 0;
    const timeRange: Range = [
      Math.floor(start + range[0] * 1000),
      Math.ceil(start + range[1] * 1000)
    ];
    return {
      run_ids: [runId],
      keys,
      max_points: maxPoints,
      time_range: timeRange
    };
  });
}

/**
 * Whether log scale can show a series set (some positive finite value).
 */
export function hasPositive(series: IMetricSeries[]): boolean {
  return series.some(s => s.value.some(v => toNumber(v) > 0));
}

/**
 * Format a metric or param value for display as text.
 */
export function formatValue(value: number | string | null | undefined): string {
  if (value === null || value === undefined) {
    return '';
  }
  if (typeof value === 'string') {
    return value;
  }
  if (Number.isInteger(value)) {
    return String(value);
  }
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 1e-4 || abs >= 1e6)) {
    return value.toExponential(4);
  }
  return String(Number(value.toPrecision(6)));
}

/**
 * A duration in milliseconds as `1 h 2 min`, `3 min 4 s`, `5.2 s`.
 */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) {
    return '—';
  }
  const s = ms / 1000;
  if (s < 60) {
    return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  }
  const m = Math.floor(s / 60);
  if (m < 60) {
    return `${m} min ${Math.round(s - m * 60)} s`;
  }
  const h = Math.floor(m / 60);
  if (h < 48) {
    return `${h} h ${m - h * 60} min`;
  }
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}
