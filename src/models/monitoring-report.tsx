/**
 * The version view's drift report (`GET .../versions/{v}/monitoring`): for a
 * feature the user picks (by default the most drifted), the reference and
 * current proportions on the same bins, the score's distributions, and the
 * feature's statistic over the evaluations kept, as `mm.drift_report` shows
 * them in a notebook.
 *
 * Feature names and bin labels are user text: React text nodes in the page,
 * escaped for plotly (whose labels interpret a subset of HTML) in figures.
 */

import * as React from 'react';

import { escapeForPlotly } from '../views/chart';
import { FigureChoice, figureLayout, PlotlyFigure } from '../views/figure';
import type { IReportVerdict, IVersionMonitoringReport } from '../schema';

/**
 * The score's pseudo-feature in a report.
 */
export const SCORE = '__score__';

const BAND_RANK: Record<string, number> = { drift: 2, warning: 1 };

/**
 * How far past its threshold a verdict is, for ordering: its band (drift,
 * warning, the rest), then the statistic over its threshold (threshold over
 * p-value for a test that drifts below it).
 */
export function driftRank(v: IReportVerdict): [number, number] {
  const band = v.drifted ? 2 : (BAND_RANK[v.band] ?? 0);
  const below = (v as { direction?: string }).direction === 'p_value<threshold';
  const stat = below ? v.p_value : v.statistic;
  const threshold = v.threshold;
  if (typeof stat !== 'number' || typeof threshold !== 'number') {
    return [band, 0];
  }
  const ratio = below
    ? threshold / Math.max(stat, 1e-300)
    : stat / (threshold || 1e-300);
  return [band, Number.isFinite(ratio) ? ratio : Number.MAX_VALUE];
}

/**
 * The feature shown first: the most drifted feature (never the score), or ''
 * when the report judged none.
 */
export function mostDrifted(verdicts: IReportVerdict[]): string {
  let best: IReportVerdict | null = null;
  for (const v of verdicts) {
    if (v.feature === SCORE) {
      continue;
    }
    if (best === null) {
      best = v;
      continue;
    }
    const [a, b] = [driftRank(v), driftRank(best)];
    if (a[0] > b[0] || (a[0] === b[0] && a[1] > b[1])) {
      best = v;
    }
  }
  return best?.feature ?? '';
}

/**
 * The two bar traces of a verdict's distributions (reference, current) on
 * its bins, labels escaped for plotly.
 */
export function binTraces(v: IReportVerdict): any[] {
  if (!v.bins) {
    return [];
  }
  const x = v.bins.labels.map(escapeForPlotly);
  return [
    { type: 'bar', name: 'reference', x, y: v.bins.reference },
    { type: 'bar', name: 'current', x, y: v.bins.current }
  ];
}

/**
 * The feature's statistic at each evaluation kept, and its threshold (and
 * warning) as dashed lines.
 */
export function overTimeTraces(
  reply: IVersionMonitoringReport,
  feature: string
): any[] {
  const series = reply.series?.[feature];
  const at = (reply.evaluations ?? []).map(e => e.at);
  if (!series || at.length === 0) {
    return [];
  }
  const traces: any[] = [
    {
      type: 'scatter',
      mode: 'lines+markers',
      name: escapeForPlotly(series.method),
      x: at,
      y: series.statistic,
      connectgaps: false
    }
  ];
  const line = (name: string, value: number | null | undefined) => {
    if (typeof value === 'number') {
      traces.push({
        type: 'scatter',
        mode: 'lines',
        name,
        x: [at[0], at[at.length - 1]],
        y: [value, value],
        line: { dash: 'dash', width: 1 }
      });
    }
  };
  line('threshold', series.threshold);
  line('warning', series.warning);
  return traces;
}

function num(value: number | null | undefined): string {
  return typeof value === 'number' ? String(Number(value.toPrecision(3))) : '—';
}

function label(feature: string): string {
  return feature === SCORE ? 'score' : feature;
}

/**
 * The report's figures for the chosen feature; nothing before the version's
 * first evaluation.
 */
export function MonitoringReportView(props: {
  reply: IVersionMonitoringReport;
}): JSX.Element | null {
  const { reply } = props;
  const report = reply.report;
  const [chosen, setChosen] = React.useState('');
  if (!report) {
    return null;
  }
  if (report.verdicts.length === 0 || report.status === 'too_few_rows') {
    return (
      <p className="jp-mm-dim jp-mm-report-empty">
        The latest evaluation has no distributions to show: {report.rows} rows
        in its window, {report.min_rows} needed.
      </p>
    );
  }
  const features = report.verdicts
    .filter(v => v.feature !== SCORE)
    .map(v => v.feature);
  const feature = features.includes(chosen)
    ? chosen
    : mostDrifted(report.verdicts);
  const verdict = report.verdicts.find(v => v.feature === feature);
  const score = report.verdicts.find(v => v.feature === SCORE);
  const over = overTimeTraces(reply, feature);
  const bars = (title: string) => ({
    ...figureLayout({
      height: 260,
      margin: { l: 50, r: 20, t: 30, b: 60 },
      title,
      x: { type: 'category' },
      y: { title: 'proportion' }
    }),
    barmode: 'group'
  });
  const revision = `${report.evaluation}\n${feature}`;
  return (
    <div className="jp-mm-monitoring-report">
      <div className="jp-mm-chart-controls">
        <FigureChoice
          label="Feature"
          className="jp-mm-report-feature"
          value={feature}
          choices={features}
          onChange={setChosen}
        />
      </div>
      {verdict ? (
        <p className="jp-mm-dim jp-mm-report-caption">
          {`${label(feature)}: ${verdict.method ?? '—'} ${num(verdict.statistic)}` +
            ` (threshold ${num(verdict.threshold)}) · ${verdict.band || 'ok'}` +
            ` · evaluation ${report.step} of monitor ${report.monitor}` +
            (verdict.bins_source === 'deciles'
              ? ' · drawn on the reference deciles'
              : '')}
        </p>
      ) : null}
      {verdict?.bins ? (
        <PlotlyFigure
          className="jp-mm-report-bins"
          deps={[reply, feature]}
          uirevision={revision}
          data={() => binTraces(verdict)}
          layout={() => bars(`${label(feature)}: reference and current`)}
        />
      ) : (
        <p className="jp-mm-dim">
          No distributions for {label(feature)}: the window's rows are no longer
          in the log.
        </p>
      )}
      {score?.bins ? (
        <PlotlyFigure
          className="jp-mm-report-score"
          deps={[reply]}
          uirevision={`${report.evaluation}\nscore`}
          data={() => binTraces(score)}
          layout={() => bars('score: reference and current')}
        />
      ) : null}
      {over.length ? (
        <PlotlyFigure
          className="jp-mm-report-over-time"
          deps={[reply, feature]}
          uirevision={revision}
          data={() => over}
          layout={() =>
            figureLayout({
              height: 200,
              margin: { l: 50, r: 20, t: 30, b: 40 },
              title: `${label(feature)} over time`,
              x: { type: 'date' }
            })
          }
        />
      ) : null}
    </div>
  );
}
