/**
 * A metric chart: plotly.js (loaded on first use) over a DOM node, querying
 * down-sampled histories for the visible range and again on every zoom.
 */

import type * as PlotlyTypes from 'plotly.js';

import { ISignal, Signal } from '@lumino/signaling';

import { ViewsAPI } from './api';
import {
  groupTraces,
  historyQueries,
  ITraceGroup,
  relayoutXRange,
  sameRange,
  seriesToTraces,
  xExtent,
  XAxisKind
} from './metrics';
import { IMetricSeries } from '../schema';
import { NewestReply } from '../newestReply';

type PlotlyModule = typeof PlotlyTypes;

let plotlyPromise: Promise<PlotlyModule> | null = null;

/**
 * plotly.js, imported once on first use (a separate chunk, so the extension
 * itself loads fast).
 */
export function loadPlotly(): Promise<PlotlyModule> {
  if (!plotlyPromise) {
    plotlyPromise = import('plotly.js-dist-min').then(
      module => ((module as any).default ?? module) as PlotlyModule
    );
    plotlyPromise.catch(() => {
      plotlyPromise = null;
    });
  }
  return plotlyPromise;
}

/**
 * Colours used for runs, in order (plotly's default cycle).
 */
export const RUN_COLORS = [
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf'
];

/**
 * The colour of the run at `index`: plotly's cycle, then (beyond ten runs)
 * hues a golden angle apart, so twenty runs still get twenty colours.
 */
export function runColor(index: number): string {
  const i = Math.max(index, 0);
  if (i < RUN_COLORS.length) {
    return RUN_COLORS[i];
  }
  const hue = Math.round((i * 137.508) % 360);
  return `hsl(${hue}, 65%, ${i % 2 ? 42 : 55}%)`;
}

/**
 * Chart display settings shared by the charts of a view.
 */
export interface IChartSettings {
  axis: XAxisKind;
  /**
   * EMA weight, 0 for none.
   */
  smoothing: number;
  logY: boolean;
}

/**
 * Emitted when the JupyterLab theme changes, so charts re-read the theme's
 * colours.
 */
export const themeChanged = new Signal<unknown, void>({});

/**
 * Layout colours from the JupyterLab theme's CSS variables.
 */
export function themeLayout(): Partial<PlotlyTypes.Layout> {
  const style = getComputedStyle(document.body);
  const get = (name: string, fallback: string) =>
    style.getPropertyValue(name).trim() || fallback;
  const font = get('--jp-ui-font-color1', '#333');
  const grid = get('--jp-border-color2', '#e0e0e0');
  const axis = { gridcolor: grid, zerolinecolor: grid, linecolor: grid };
  return {
    paper_bgcolor: 'rgba(0,0,0,0)',
    plot_bgcolor: 'rgba(0,0,0,0)',
    font: {
      color: font,
      family: get('--jp-ui-font-family', 'sans-serif'),
      size: 11
    },
    xaxis: axis,
    yaxis: axis,
    legend: { font: { color: font } }
  };
}

/**
 * Draws the histories of some metric keys of some runs in one chart.
 */
export class MetricChart {
  constructor(options: MetricChart.IOptions) {
    this.node = options.node;
    this._api = options.api;
    this._runIds = options.runIds;
    this._keys = options.keys;
    this._startTimes = options.startTimes;
    this._settings = options.settings;
    this._name = options.name;
    this._color = options.color;
    this._title = options.title ?? '';
    this._grouping = options.grouping ?? null;
    this._legend = options.legend ?? true;
    this._onXRange = options.onXRange;
    this._range = options.xRange ?? null;
    this._fullRange = options.fullRange ?? null;
    this._onExtent = options.onExtent;
    themeChanged.connect(this._onTheme, this);
    if (typeof ResizeObserver !== 'undefined') {
      this._resizeObserver = new ResizeObserver(() => this._resize());
      this._resizeObserver.observe(this.node);
    }
  }

  /**
   * The node plotly draws into.
   */
  readonly node: HTMLElement;

  /**
   * Emitted after each draw, with the number of points drawn.
   */
  get drawn(): ISignal<this, number> {
    return this._drawn;
  }

  /**
   * The series last drawn.
   */
  get series(): IMetricSeries[] {
    return this._series;
  }

  /**
   * The error of the last load, if it failed.
   */
  get error(): string | null {
    return this._error;
  }

  /**
   * Query the visible range again and redraw (live updates).
   */
  refresh(): Promise<void> {
    return this._load();
  }

  /**
   * Show the x range `range` (null: all), as if the user had zoomed there;
   * `onXRange` is not called (the caller is why it changed).
   */
  setXRange(range: [number, number] | null): Promise<void> {
    if (sameRange(range, this._range)) {
      return Promise.resolve();
    }
    this._range = range;
    this._xRevision++;
    return this._load();
  }

  /**
   * The x range shown when not zoomed (null: plotly's autorange), e.g. all
   * the data of every chart of a view; no new query.
   */
  setFullRange(range: [number, number] | null): Promise<void> {
    const shown = this._range === null && !sameRange(range, this._fullRange);
    this._fullRange = range;
    // Zoomed, it is drawn when the zoom ends (a new x revision then).
    return shown ? (this._xRevision++, this._draw()) : Promise.resolve();
  }

  /**
   * Change the display settings; the axis kind resets the zoom.
   */
  setSettings(settings: IChartSettings): Promise<void> {
    const axisChanged = settings.axis !== this._settings.axis;
    this._settings = { ...settings };
    if (axisChanged) {
      this._range = null;
      this._revision++;
      return this._load();
    }
    return this._draw();
  }

  /**
   * Draw groups of runs (mean line in a min–max band) instead of one line
   * per run, or (null) each run again. The histories loaded stay.
   */
  setGrouping(grouping: MetricChart.IGrouping | null): Promise<void> {
    this._grouping = grouping;
    return this._draw();
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    themeChanged.disconnect(this._onTheme, this);
    this._resizeObserver?.disconnect();
    Signal.clearData(this);
    if (this._plotly) {
      this._plotly.purge(this.node);
    }
  }

  private async _load(): Promise<void> {
    const isNewest = this._loads.begin();
    const queries = historyQueries(
      this._runIds,
      this._keys,
      this._settings.axis,
      this._range,
      this._startTimes
    );
    try {
      const [plotly, replies] = await Promise.all([
        loadPlotly(),
        Promise.all(queries.map(query => this._api.history(query)))
      ]);
      if (this._disposed || !isNewest()) {
        return; // a newer query is on its way
      }
      this._plotly = plotly;
      this._error = null;
      // Series in a stable order: run order, then key order.
      const all = ([] as IMetricSeries[]).concat(...replies);
      const order = (s: IMetricSeries) =>
        this._runIds.indexOf(s.run_id) * 10000 + this._keys.indexOf(s.key);
      this._series = all.sort((a, b) => order(a) - order(b));
      if (this._range === null) {
        // All of the data: where it spans (a zoom's reply spans the zoom).
        this._onExtent?.(
          xExtent(this._series, this._settings.axis, this._startTimes)
        );
      }
    } catch (error) {
      if (this._disposed || !isNewest()) {
        return;
      }
      this._error = error instanceof Error ? error.message : String(error);
      this.node.textContent = `Could not load the metric history: ${this._error}`;
      return;
    }
    await this._draw();
  }

  private async _draw(): Promise<void> {
    const plotly = this._plotly;
    if (!plotly || this._disposed) {
      return;
    }
    const options = {
      axis: this._settings.axis,
      smoothing: this._settings.smoothing,
      startTimes: this._startTimes,
      name: this._name,
      color: this._color
    };
    const grouping = this._grouping;
    const traces = grouping
      ? groupTraces(this._series, grouping.groups, options)
      : seriesToTraces(this._series, options);
    const theme = themeLayout();
    const legend =
      this._legend &&
      (grouping !== null ||
        traces.filter(t => t.showlegend !== false).length > 1);
    const layout: Partial<PlotlyTypes.Layout> = {
      ...theme,
      // Left-aligned: the toolbar (top right, on hover) must not cover it.
      title: this._title
        ? {
            text: escapeForPlotly(this._title),
            font: { size: 13 },
            x: 0,
            xref: 'paper',
            xanchor: 'left'
          }
        : undefined,
      autosize: true,
      height: legend ? 330 : 300,
      margin: { l: 56, r: 16, t: this._title ? 32 : 12, b: legend ? 72 : 40 },
      showlegend: legend,
      // What the user did survives redraws with new points (live updates):
      // runs hidden from the legend always, the zoom until the axis kind
      // changes, the y range until the scale changes.
      legend: {
        ...theme.legend,
        orientation: 'h',
        x: 0,
        y: -0.32,
        uirevision: 'legend',
        ...(grouping
          ? { title: { text: escapeForPlotly(grouping.title) + ' ' } }
          : {})
      } as Partial<PlotlyTypes.Legend>,
      hovermode: 'closest',
      uirevision: `${this._revision}`,
      xaxis: {
        ...theme.xaxis,
        title: { text: AXIS_TITLES[this._settings.axis] },
        type: this._settings.axis === 'wall' ? 'date' : 'linear',
        // A new revision whenever the range is set here, so it wins over
        // what plotly keeps of the user's last zoom.
        uirevision: `${this._revision}-${this._xRevision}`,
        // The range is this chart's state (set by a zoom here or, through
        // `setXRange`, in a chart it follows), so a redraw keeps it.
        ...(this._range || this._fullRange
          ? { range: [...(this._range ?? this._fullRange)!], autorange: false }
          : { autorange: true })
      },
      yaxis: {
        ...theme.yaxis,
        type: this._settings.logY ? 'log' : 'linear',
        uirevision: `${this._revision}-${this._settings.logY}`
      }
    };
    // Names are user text: plotly renders a subset of HTML in them.
    const safe = traces.map(t => ({ ...t, name: escapeForPlotly(t.name) }));
    await plotly.react(this.node, safe as any, layout, {
      displaylogo: false,
      responsive: false,
      modeBarButtonsToRemove: ['select2d', 'lasso2d']
    });
    if (!this._listening) {
      this._listening = true;
      (this.node as any).on('plotly_relayout', (event: any) =>
        this._onRelayout(event)
      );
    }
    this.node.dataset.points = String(
      this._series.reduce((n, s) => n + s.step.length, 0)
    );
    this.node.classList.add('jp-mm-chart-ready');
    this._drawn.emit(Number(this.node.dataset.points));
  }

  private _onRelayout(event: Record<string, unknown>): void {
    let range = relayoutXRange(event);
    if (range !== undefined && range !== null && this._fullRange) {
      // A double click resets to the full range, as a range: not a zoom.
      range = sameRange(range, this._fullRange) ? null : range;
    }
    if (range === undefined) {
      return;
    }
    // Whatever plotly did to the x axis, this chart's range is drawn next.
    this._xRevision++;
    if (sameRange(range, this._range)) {
      if (range === null && this._fullRange) {
        void this._draw(); // plotly's own autorange: back to the full range
      }
      return;
    }
    this._range = range;
    void this._load();
    this._onXRange?.(range);
  }

  private _resize(): void {
    if (this._plotly && this.node.isConnected && this.node.offsetWidth > 0) {
      this._plotly.Plots.resize(this.node);
    }
  }

  private _onTheme(): void {
    void this._draw();
  }

  private _api: ViewsAPI;
  private _runIds: string[];
  private _keys: string[];
  private _startTimes: Record<string, number>;
  private _settings: IChartSettings;
  private _name?: (s: IMetricSeries) => string;
  private _color?: (s: IMetricSeries, index: number) => string | undefined;
  private _title: string;
  private _grouping: MetricChart.IGrouping | null;
  private _legend: boolean;
  private _onXRange?: (range: [number, number] | null) => void;
  private _onExtent?: (extent: [number, number] | null) => void;
  private _fullRange: [number, number] | null;
  private _range: [number, number] | null = null;
  private _revision = 0;
  private _xRevision = 0;
  private _loads = new NewestReply();
  private _series: IMetricSeries[] = [];
  private _error: string | null = null;
  private _plotly: PlotlyModule | null = null;
  private _listening = false;
  private _disposed = false;
  private _resizeObserver: ResizeObserver | null = null;
  private _drawn = new Signal<this, number>(this);
}

export namespace MetricChart {
  export interface IOptions {
    node: HTMLElement;
    api: ViewsAPI;
    runIds: string[];
    keys: string[];
    /**
     * Each run's start time (ms), origin of the time axis.
     */
    startTimes: Record<string, number>;
    settings: IChartSettings;
    title?: string;
    name?: (series: IMetricSeries) => string;
    color?: (series: IMetricSeries, index: number) => string | undefined;
    /**
     * Draw these groups of runs instead of each run.
     */
    grouping?: IGrouping | null;
    /**
     * Whether the chart draws its own legend (default true; a view showing
     * one legend for all its charts says false).
     */
    legend?: boolean;
    /**
     * The x range to start with (null or absent: all).
     */
    xRange?: [number, number] | null;
    /**
     * Called when the user zooms or pans the x axis (null: back to all).
     */
    onXRange?: (range: [number, number] | null) => void;
    /**
     * The x range shown when not zoomed (null or absent: autorange).
     */
    fullRange?: [number, number] | null;
    /**
     * Called with where the data spans on the x axis (null: no points)
     * after each load of all of it.
     */
    onExtent?: (extent: [number, number] | null) => void;
  }

  /**
   * Runs drawn by group: the groups, and the legend's title (the key).
   */
  export interface IGrouping {
    title: string;
    groups: ITraceGroup[];
  }
}

/**
 * The x axis title of each axis kind.
 */
const AXIS_TITLES: Record<XAxisKind, string> = {
  step: 'step',
  time: 'seconds since start',
  wall: 'wall time'
};

/**
 * Escape text for plotly labels, which interpret a subset of HTML tags.
 */
export function escapeForPlotly(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;');
}
