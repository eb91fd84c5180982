/**
 * The charts workspace: one chart per metric across many runs (a curve per
 * run, coloured alike in every chart), one x axis kind, zoom and smoothing
 * for all, charts added and removed, the layout saved per experiment.
 */

import * as React from 'react';

import { ISignal, Signal } from '@lumino/signaling';

import { ViewsAPI } from './api';
import { IChartSettings } from './chart';
// The layout, saved; its charts and their edits; the x range shared.
import {
  DEFAULT_LAYOUT,
  IChartsLayout,
  layoutJSON,
  layoutKey,
  parseLayout,
  shownCharts,
  addableCharts,
  addChart,
  removeChart,
  withSettings,
  SharedXRange,
  unionRange
} from './charts';
import { sameRange } from './metrics';
import { sectionKeys } from './compare';
import { CompareModel } from './compareview';
import { IStoreEvent } from '../storeEvents';
// The view's parts, as the compare view's (legend first, as drawn).
import {
  RunLegend,
  ChartControls,
  ChartView,
  LoadingRuns,
  ModelViewWidget
} from './widgets';
import { FigureChoice } from './figure';

/**
 * Where layouts are kept (IStateDB in JupyterLab), by key.
 */
export interface IChartsMemory {
  fetch(key: string): Promise<unknown>;
  save(key: string, value: Record<string, unknown>): Promise<void>;
}

/**
 * The runs a workspace charts (followed live as the compare view follows
 * its runs) and the experiment's layout.
 */
export class ChartsModel {
  constructor(options: ChartsModel.IOptions) {
    this.api = options.api;
    this.experimentId = options.experimentId;
    this.title = options.title;
    this.note = options.note ?? '';
    this.runs = new CompareModel(options.api, options.runIds, options.interval);
    this._memory = options.memory ?? null;
    this.runs.changed.connect(() => this._changed.emit(), this);
  }

  readonly api: ViewsAPI;
  readonly experimentId: string;
  readonly title: string;
  /**
   * Why some runs are left out (the cap), or empty.
   */
  readonly note: string;
  /**
   * The runs, their colours and names, and their live updates.
   */
  readonly runs: CompareModel;

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get layout(): IChartsLayout {
    return this._layout;
  }

  /**
   * The x range every chart shows (null: all).
   */
  get xRange(): [number, number] | null {
    return this._xRange.range;
  }

  /**
   * The x range of all the charts' data: what each shows unzoomed, so they
   * line up.
   */
  get fullRange(): [number, number] | null {
    const shown = new Set(this.charts);
    return unionRange(
      [...this._extents].filter(([k]) => shown.has(k)).map(([, e]) => e)
    );
  }

  /**
   * A chart loaded all of its data: where it spans.
   */
  extent(key: string, extent: [number, number] | null): void {
    const before = this.fullRange;
    this._extents.set(key, extent);
    if (!sameRange(before, this.fullRange)) {
      this._changed.emit();
    }
  }

  /**
   * The metric keys the runs have.
   */
  get keys(): string[] {
    return sectionKeys(this.runs.runs, 'metrics');
  }

  get charts(): string[] {
    return shownCharts(this.keys, this._layout);
  }

  get addable(): string[] {
    return addableCharts(this.keys, this._layout);
  }

  get isDisposed(): boolean {
    return this.runs.isDisposed;
  }

  /**
   * Read the runs and the experiment's saved layout.
   */
  async load(): Promise<void> {
    const saved = this._memory
      ? this._memory.fetch(layoutKey(this.experimentId)).catch(() => null)
      : Promise.resolve(null);
    const [layout] = await Promise.all([saved, this.runs.load()]);
    if (layout) {
      this._layout = parseLayout(layout);
    }
    this._changed.emit();
  }

  addChart(key: string): void {
    this._setLayout(addChart(this._layout, this.keys, key));
  }

  removeChart(key: string): void {
    this._setLayout(removeChart(this._layout, this.keys, key));
  }

  setSettings(settings: IChartSettings): void {
    if (settings.axis !== this._layout.axis) {
      // Another axis: another scale, the charts say where their data spans.
      this._xRange.set(null);
      this._extents.clear();
    }
    this._setLayout(withSettings(this._layout, settings));
  }

  /**
   * The user zoomed a chart: every chart follows.
   */
  zoomed(range: [number, number] | null): void {
    if (this._xRange.set(range)) {
      this._changed.emit();
    }
  }

  storeEvent(event: IStoreEvent): void {
    this.runs.storeEvent(event);
  }

  resync(): void {
    this.runs.resync();
  }

  dispose(): void {
    this.runs.dispose();
    Signal.clearData(this);
  }

  private _setLayout(layout: IChartsLayout): void {
    this._layout = layout;
    this._changed.emit();
    void this._memory
      ?.save(layoutKey(this.experimentId), layoutJSON(layout))
      .catch(() => undefined); // kept for this session all the same
  }

  private _changed = new Signal<this, void>(this);
  private _layout: IChartsLayout = { ...DEFAULT_LAYOUT };
  private _xRange = new SharedXRange();
  private _extents = new Map<string, [number, number] | null>();
  private _memory: IChartsMemory | null;
}

export namespace ChartsModel {
  export interface IOptions {
    api: ViewsAPI;
    runIds: string[];
    /**
     * Whose layout this is (`*`: all experiments).
     */
    experimentId: string;
    title: string;
    note?: string;
    memory?: IChartsMemory | null;
    /**
     * The shortest time between two live re-queries (ms).
     */
    interval?: number;
  }
}

export class ChartsViewWidget extends ModelViewWidget<ChartsModel> {
  constructor(
    model: ChartsModel,
    private _openRun: (runId: string) => void
  ) {
    super(model, 'jp-mm-chartsview');
  }

  render(): JSX.Element {
    return <ChartsView model={this.model} openRun={this._openRun} />;
  }
}

export function ChartsView(props: {
  model: ChartsModel;
  openRun: (runId: string) => void;
}): JSX.Element {
  const { model } = props;
  const runs = model.runs;
  if (!runs.loaded) {
    return <LoadingRuns count={runs.runIds.length} />;
  }
  const layout = model.layout;
  const charts = model.charts;
  const addable = model.addable;
  return (
    <div className="jp-mm-view-body">
      <header className="jp-mm-view-header">
        <h1 className="jp-mm-view-title">
          Charts of {runs.runs.length} runs: {model.title}
        </h1>
      </header>
      {model.note && <p className="jp-mm-charts-note">{model.note}</p>}
      {runs.errors.map(e => (
        <p key={e} className="jp-mm-error" role="alert">
          Could not load run {e}
        </p>
      ))}
      <RunLegend
        runs={runs.runs}
        label="Runs charted"
        color={id => runs.color(id)}
        name={id => runs.label(id)}
        openRun={props.openRun}
      />
      <div className="jp-mm-charts-toolbar">
        <ChartControls
          settings={layout}
          onChange={settings => model.setSettings(settings)}
        />
        <FigureChoice
          labelClassName="jp-mm-charts-add"
          label="Add chart"
          value=""
          choices={addable}
          placeholder={addable.length ? 'metric…' : 'every metric is shown'}
          onChange={key => model.addChart(key)}
        />
      </div>
      {charts.length === 0 ? (
        <p className="jp-mm-empty">
          {model.keys.length
            ? 'No charts: add one above.'
            : 'These runs have no metrics.'}
        </p>
      ) : (
        <div className="jp-mm-charts jp-mm-charts-grid">
          {charts.map(key => (
            <section
              key={key}
              className="jp-mm-charts-cell"
              aria-label={`Chart of ${key}`}
            >
              <header className="jp-mm-charts-cell-header">
                <span className="jp-mm-charts-cell-title" title={key}>
                  {key}
                </span>
                <button
                  className="jp-mm-charts-remove jp-mm-button"
                  aria-label={`Remove the chart of ${key}`}
                  title="Remove this chart"
                  onClick={() => model.removeChart(key)}
                >
                  ×
                </button>
              </header>
              <ChartView
                {...runs.metricChart(key)}
                settings={layout}
                legend={false}
                xRange={model.xRange}
                onXRange={range => model.zoomed(range)}
                fullRange={model.fullRange}
                onExtent={extent => model.extent(key, extent)}
              />
            </section>
          ))}
        </div>
      )}
    </div>
  );
}
