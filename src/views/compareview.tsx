/**
 * The compare view: N runs side by side. Metric curves overlaid, a
 * params/metrics table with differing values highlighted (identical rows
 * collapsible), parallel coordinates, a param-vs-metric scatter, and a
 * notebook diff between two chosen runs.
 */

import * as React from 'react';

import { ISignal, Signal } from '@lumino/signaling';

import { ViewsAPI } from './api';
import {
  IChartSettings,
  MetricChart,
  RUN_COLORS,
  runColor,
  escapeForPlotly
} from './chart';
import {
  compareRows,
  defaultKey,
  parcoordsDimensions,
  scatterPoints,
  sectionKeys
} from './compare';
import { Coalescer, LIVE_INTERVAL } from './live';
import { IStoreEvent } from '../storeEvents';
import { IFullRun as IRun } from '../schema';
import {
  ChartControls,
  ChartView,
  LoadingRuns,
  ModelViewWidget,
  RunLegend
} from './widgets';
import { FigureChoice, figureLayout, PlotlyFigure } from './figure';
import { Section } from './components/section';
import { errorText } from '../format';
import { columnLabel } from '../columns';
import { GroupByOptions } from '../groupByOptions';
import {
  IRunGroup,
  formatStats,
  groupKeys,
  groupRuns,
  isGroupKey
} from '../grouping';
import { noSnapshotReason, olderFirst } from '../runFacts';

/**
 * The runs being compared. While any of them runs, the store's events keep it
 * current: at most once a second, the runs an event named are read again and
 * the charts of the metric keys that got points re-query their histories.
 */
export class CompareModel {
  constructor(
    readonly api: ViewsAPI,
    readonly runIds: string[],
    interval: number = LIVE_INTERVAL
  ) {
    this._live = new Coalescer(events => void this._apply(events), interval);
  }

  runs: IRun[] = [];
  errors: string[] = [];
  loaded = false;

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get isDisposed(): boolean {
    return this._live.isDisposed;
  }

  async load(): Promise<void> {
    const results = await Promise.all(
      this.runIds.map(id =>
        this.api.getRun(id).then(
          run => ({ run, error: null }),
          error => ({ run: null, error: errorText(error) })
        )
      )
    );
    this.runs = [];
    this.errors = [];
    results.forEach((r, i) => {
      if (r.run) {
        this.runs.push(r.run);
      } else {
        this.errors.push(`${this.runIds[i]}: ${r.error}`);
      }
    });
    this.loaded = true;
    this._changed.emit();
  }

  /**
   * A store event: noted when it names one of the runs.
   */
  storeEvent(event: IStoreEvent): void {
    if (this.runIds.includes(event.run_id)) {
      this._live.add([event]);
    }
  }

  /**
   * Events were missed: read every run again and re-query every chart (as
   * if points of unknown keys had been appended to each).
   */
  resync(): void {
    this._live.add(
      this.runIds.map(run_id => ({ action: 'metrics-appended', run_id }))
    );
  }

  /**
   * A number that changes whenever the histories of `key` may have new
   * points (a chart's `tick`).
   */
  metricsTick(key: string): number {
    return this._allTick + (this._keyTicks.get(key) ?? 0);
  }

  /**
   * A short label of a run: its name, else its id's first characters.
   */
  label(runId: string): string {
    const run = this.runs.find(r => r.id === runId);
    return run?.name || runId.slice(0, 8);
  }

  color(runId: string): string {
    return runColor(this.runIds.indexOf(runId));
  }

  /**
   * A chart of the metric `key` over the loaded runs (the compare view's and the charts
   * workspace's): its series named and colored per run, and drawn again when the metric's
   * histories may have new points.
   */
  metricChart(
    key: string
  ): Pick<
    MetricChart.IOptions,
    'api' | 'runIds' | 'keys' | 'startTimes' | 'name' | 'color'
  > & { tick: number } {
    const startTimes: Record<string, number> = {};
    this.runs.forEach(r => (startTimes[r.id] = r.start_time));
    return {
      api: this.api,
      runIds: this.runs.map(r => r.id),
      keys: [key],
      startTimes,
      tick: this.metricsTick(key),
      name: s => this.label(s.run_id),
      color: s => this.color(s.run_id)
    };
  }

  /**
   * Stop following the store's events.
   */
  dispose(): void {
    this._live.dispose();
    Signal.clearData(this);
  }

  /**
   * Read again the runs the events named (status, latest metrics, new keys)
   * and mark the metric keys with new points; a run that cannot be read now
   * keeps what was shown.
   */
  private async _apply(events: IStoreEvent[]): Promise<void> {
    const named = new Set(events.map(e => e.run_id));
    const ids = this.runIds.filter(id => named.has(id));
    const fresh = await Promise.all(
      ids.map(id => this.api.getRun(id).catch(() => null))
    );
    if (this.isDisposed) {
      return;
    }
    const byId = new Map(this.runs.map(r => [r.id, r]));
    fresh.forEach(run => run && byId.set(run.id, run));
    this.runs = this.runIds
      .map(id => byId.get(id))
      .filter((r): r is IRun => !!r);
    this.errors = this.errors.filter(
      e => !byId.has(e.slice(0, e.indexOf(':')))
    );
    const keys = new Set<string>();
    let all = false;
    for (const event of events) {
      if (event.action === 'metrics-appended' && event.keys?.length) {
        event.keys.forEach(k => keys.add(k));
      } else if (
        event.action === 'metrics-appended' ||
        event.action === 'run-finished'
      ) {
        // The last points are written with the final status.
        all = true;
      }
    }
    keys.forEach(k => this._keyTicks.set(k, (this._keyTicks.get(k) ?? 0) + 1));
    this._allTick += all ? 1 : 0;
    this._changed.emit();
  }

  private _changed = new Signal<this, void>(this);
  private _live: Coalescer<IStoreEvent>;
  private _keyTicks = new Map<string, number>();
  private _allTick = 0;
}

/**
 * What the compare view needs besides its model.
 */
export interface ICompareContext {
  openRun: (runId: string) => void;
  openDiff: (base: string, other: string) => void;
}

export class CompareViewWidget extends ModelViewWidget<CompareModel> {
  constructor(
    model: CompareModel,
    private _context: ICompareContext
  ) {
    super(model, 'jp-mm-compareview');
  }

  render(): JSX.Element {
    return <CompareView model={this.model} context={this._context} />;
  }
}

export function CompareView(props: {
  model: CompareModel;
  context: ICompareContext;
}): JSX.Element {
  const { model, context } = props;
  if (!model.loaded) {
    return <LoadingRuns count={model.runIds.length} />;
  }
  const runs = model.runs;
  return <CompareBody model={model} context={context} runs={runs} />;
}

/**
 * The loaded compare view, with its "Group by" choice.
 */
function CompareBody(props: {
  model: CompareModel;
  context: ICompareContext;
  runs: IRun[];
}): JSX.Element {
  const { model, context, runs } = props;
  const [chosenGroupBy, setGroupBy] = React.useState('');
  const keys = groupKeys(runs);
  const groupBy =
    isGroupKey(chosenGroupBy) && keys.includes(chosenGroupBy)
      ? chosenGroupBy
      : '';
  const groups = groupBy
    ? groupRuns(runs, groupBy, sectionKeys(runs, 'metrics'))
    : null;
  // Grouped, a run's swatch is its group's colour, as in the charts.
  const swatch = (runId: string) => {
    const at = groups?.findIndex(g => g.runs.some(r => r.id === runId)) ?? -1;
    return at < 0 ? model.color(runId) : groupColor(at);
  };
  return (
    <div className="jp-mm-view-body">
      <header className="jp-mm-view-header">
        <h1 className="jp-mm-view-title">Compare {runs.length} runs</h1>
      </header>
      {model.errors.map(e => (
        <p key={e} className="jp-mm-error" role="alert">
          Could not load run {e}
        </p>
      ))}
      <RunLegend
        runs={runs}
        label="Runs compared"
        color={swatch}
        name={id => model.label(id)}
        openRun={context.openRun}
      />
      <div className="jp-mm-chart-controls jp-mm-compare-grouping">
        <label>
          Group by{' '}
          <select
            className="jp-mm-select"
            aria-label="Group runs by"
            value={groupBy}
            onChange={e => setGroupBy(e.target.value)}
          >
            <GroupByOptions keys={keys} />
          </select>
        </label>
      </div>
      <CompareCharts model={model} groupBy={groupBy} groups={groups} />
      {groups && (
        <Section title="Groups" count={groups.length}>
          <GroupTable model={model} groupBy={groupBy} groups={groups} />
        </Section>
      )}
      <Section title="Params and metrics">
        <CompareTable model={model} />
      </Section>
      <Section title="Parallel coordinates">
        <Parcoords model={model} />
      </Section>
      <Section title="Param against metric">
        <Scatter model={model} />
      </Section>
      <Section title="Notebook diff">
        <DiffPicker model={model} context={context} />
      </Section>
    </div>
  );
}

/**
 * The colour of the i-th group.
 */
function groupColor(index: number): string {
  return RUN_COLORS[index % RUN_COLORS.length];
}

function CompareCharts(props: {
  model: CompareModel;
  groupBy: string;
  groups: IRunGroup<IRun>[] | null;
}): JSX.Element {
  const { model, groups } = props;
  const grouping = groups
    ? {
        title: columnLabel(props.groupBy),
        groups: groups.map((g, i) => ({
          name: g.label,
          runIds: g.runs.map(r => r.id),
          color: groupColor(i)
        }))
      }
    : null;
  const keys = sectionKeys(model.runs, 'metrics');
  const [settings, setSettings] = React.useState<IChartSettings>({
    axis: 'step',
    smoothing: 0,
    logY: false
  });
  return (
    <Section title="Metrics" count={keys.length}>
      {keys.length === 0 ? (
        <p className="jp-mm-empty">These runs have no metrics.</p>
      ) : (
        <>
          <ChartControls settings={settings} onChange={setSettings} />
          <div className="jp-mm-charts">
            {keys.map(key => (
              <ChartView
                key={key}
                {...model.metricChart(key)}
                title={key}
                settings={settings}
                grouping={grouping}
              />
            ))}
          </div>
        </>
      )}
    </Section>
  );
}

/**
 * Each group's runs and, for each metric, the mean, min and max of the
 * runs' latest values.
 */
export function GroupTable(props: {
  model: CompareModel;
  groupBy: string;
  groups: IRunGroup<IRun>[];
}): JSX.Element {
  const { model, groups } = props;
  const metrics = sectionKeys(model.runs, 'metrics');
  return (
    <div className="jp-mm-table-scroll">
      <table className="jp-mm-table jp-mm-group-table">
        <thead>
          <tr>
            <th scope="col">{columnLabel(props.groupBy)}</th>
            <th scope="col">runs</th>
            {metrics.map(key => (
              <th scope="col" key={key}>
                {key}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {groups.map((group, i) => (
            <tr key={group.id} data-group={group.label}>
              <th scope="row">
                <span
                  className="jp-mm-swatch"
                  style={{ background: groupColor(i) }}
                  aria-hidden="true"
                />
                {group.label}
              </th>
              <td
                data-column="runs"
                title={group.runs.map(r => model.label(r.id)).join(', ')}
              >
                {group.runs.length}
              </td>
              {metrics.map(key => {
                const s = group.metrics[key];
                return (
                  <td
                    key={key}
                    data-column={`metrics.${key}`}
                    title={
                      s
                        ? `mean ${s.mean}, min ${s.min}, max ${s.max} over ${s.count} run${s.count === 1 ? '' : 's'}`
                        : undefined
                    }
                  >
                    {s ? (
                      formatStats(s)
                    ) : (
                      <span className="jp-mm-missing">—</span>
                    )}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/**
 * The params/metrics table: differing rows highlighted; identical rows can be
 * hidden (hidden by default when anything differs).
 */
export function CompareTable(props: { model: CompareModel }): JSX.Element {
  const { model } = props;
  const rows = compareRows(model.runs);
  const identical = rows.filter(r => !r.differs).length;
  const [hideIdentical, setHideIdentical] = React.useState(
    identical > 0 && identical < rows.length
  );
  const shown = hideIdentical ? rows.filter(r => r.differs) : rows;
  if (!rows.length) {
    return <p className="jp-mm-empty">No params or metrics.</p>;
  }
  return (
    <div className="jp-mm-compare-table">
      <label className="jp-mm-toggle">
        <input
          type="checkbox"
          checked={hideIdentical}
          onChange={e => setHideIdentical(e.target.checked)}
        />{' '}
        Hide identical values ({identical} of {rows.length} rows)
      </label>
      <div className="jp-mm-table-scroll">
        <table className="jp-mm-table">
          <thead>
            <tr>
              <th scope="col">key</th>
              {model.runs.map(run => (
                <th scope="col" key={run.id} title={run.id}>
                  <span
                    className="jp-mm-swatch"
                    style={{ background: model.color(run.id) }}
                    aria-hidden="true"
                  />
                  {model.label(run.id)}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {shown.map(row => (
              <tr
                key={`${row.section}.${row.key}`}
                className={row.differs ? 'jp-mm-differs' : 'jp-mm-same'}
                data-differs={row.differs}
              >
                <th scope="row">
                  <span className="jp-mm-section-label">
                    {row.section === 'params' ? 'param' : 'metric'}
                  </span>{' '}
                  {row.key}
                </th>
                {row.values.map((v, i) => (
                  <td
                    key={i}
                    className={
                      i === row.lowest
                        ? 'jp-mm-lowest'
                        : i === row.highest
                          ? 'jp-mm-highest'
                          : undefined
                    }
                    title={
                      i === row.lowest
                        ? 'lowest'
                        : i === row.highest
                          ? 'highest'
                          : undefined
                    }
                  >
                    {v === null ? <span className="jp-mm-missing">—</span> : v}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

function Parcoords(props: { model: CompareModel }): JSX.Element {
  const { model } = props;
  const dims = parcoordsDimensions(model.runs);
  if (dims.length < 2 || model.runs.length < 2) {
    return (
      <p className="jp-mm-empty">
        Needs two runs and two params or metrics that vary.
      </p>
    );
  }
  const colors = model.runs.map((_, i) => i);
  return (
    <PlotlyFigure
      className="jp-mm-parcoords"
      deps={[model.runs]}
      uirevision={dims.map(d => d.label).join('\n')}
      data={() => [
        {
          type: 'parcoords',
          line: {
            color: colors,
            colorscale: model.runs.map((r, i) => [
              model.runs.length > 1 ? i / (model.runs.length - 1) : 0,
              model.color(r.id)
            ]),
            cmin: 0,
            cmax: Math.max(model.runs.length - 1, 1)
          },
          dimensions: dims.map(d => ({
            ...d,
            label: escapeForPlotly(d.label),
            ticktext: d.ticktext?.map(escapeForPlotly)
          }))
        }
      ]}
      layout={() => ({ height: 360, margin: { l: 60, r: 60, t: 60, b: 30 } })}
    />
  );
}

function Scatter(props: { model: CompareModel }): JSX.Element {
  const { model } = props;
  const params = sectionKeys(model.runs, 'params');
  const metrics = sectionKeys(model.runs, 'metrics');
  const [chosenParam, setParam] = React.useState('');
  const [chosenMetric, setMetric] = React.useState('');
  // Until the user chooses (keys can appear later, with live runs): a param
  // and a metric that vary across the runs.
  const param = params.includes(chosenParam)
    ? chosenParam
    : defaultKey(model.runs, 'params');
  const metric = metrics.includes(chosenMetric)
    ? chosenMetric
    : defaultKey(model.runs, 'metrics');
  if (!params.length || !metrics.length) {
    return <p className="jp-mm-empty">Needs runs with params and metrics.</p>;
  }
  const points = scatterPoints(model.runs, param, metric);
  return (
    <div className="jp-mm-scatter">
      <div className="jp-mm-chart-controls">
        <FigureChoice
          label="param"
          value={param}
          choices={params}
          onChange={setParam}
        />
        <FigureChoice
          label="metric"
          value={metric}
          choices={metrics}
          onChange={setMetric}
        />
      </div>
      <PlotlyFigure
        className="jp-mm-scatter-plot"
        deps={[model.runs, param, metric]}
        uirevision={`${param}\n${metric}`}
        data={() => [
          {
            type: 'scatter',
            mode: 'markers',
            x: points.x.map(v =>
              typeof v === 'string' ? escapeForPlotly(v) : v
            ),
            y: points.y,
            text: points.names.map(escapeForPlotly),
            marker: {
              size: 10,
              color: points.ids.map(id => model.color(id))
            },
            hovertemplate: '%{text}<br>%{x} → %{y}<extra></extra>'
          }
        ]}
        layout={() =>
          figureLayout({
            height: 320,
            margin: { l: 60, r: 20, t: 20, b: 50 },
            x: { title: param, type: points.numericX ? 'linear' : 'category' },
            y: { title: metric }
          })
        }
      />
    </div>
  );
}

function DiffPicker(props: {
  model: CompareModel;
  context: ICompareContext;
}): JSX.Element {
  const { model, context } = props;
  const ids = model.runs.map(r => r.id);
  // From the older run to the newer one (a line the newer run added shows
  // as added), unless the user swaps them.
  const pair =
    model.runs.length >= 2 ? olderFirst(model.runs[0], model.runs[1]) : [];
  const [chosenBase, setBase] = React.useState<string | null>(null);
  const [chosenOther, setOther] = React.useState<string | null>(null);
  const base = chosenBase ?? pair[0]?.id ?? '';
  const other = chosenOther ?? pair[1]?.id ?? '';
  if (ids.length < 2) {
    return <p className="jp-mm-empty">Needs two runs.</p>;
  }
  const missing = [base, other]
    .map(id => model.runs.find(r => r.id === id))
    .find(r => r && noSnapshotReason(r) !== null);
  const blocked =
    base === other
      ? 'Choose two different runs.'
      : missing
        ? `Run ${model.label(missing.id)}: ${noSnapshotReason(missing)}`
        : null;
  const select = (value: string, set: (v: string) => void, label: string) => (
    <label>
      {label}{' '}
      <select
        className="jp-mm-select"
        value={value}
        onChange={e => set(e.target.value)}
      >
        {ids.map(id => (
          <option key={id} value={id}>
            {model.label(id)}
          </option>
        ))}
      </select>
    </label>
  );
  return (
    <div className="jp-mm-chart-controls">
      {select(base, setBase, 'from')}
      {select(other, setOther, 'to')}
      <button
        className="jp-mm-button jp-mod-styled"
        title="Swap the two runs"
        onClick={() => {
          setBase(other);
          setOther(base);
        }}
      >
        Swap
      </button>
      <button
        className="jp-mm-button jp-mod-styled"
        disabled={blocked !== null}
        title={
          blocked ??
          `Diff the notebook of ${model.label(base)} against ${model.label(other)}`
        }
        onClick={() => context.openDiff(base, other)}
      >
        Open notebook diff
      </button>
    </div>
  );
}
