/**
 * Small React pieces shared by the views.
 */

import * as React from 'react';

import { ReactWidget } from '@jupyterlab/ui-components';
import { ISignal, Signal } from '@lumino/signaling';
import type { Widget } from '@lumino/widgets';

import { IChartSettings, MetricChart } from './chart';
import { X_AXIS_KINDS } from './metrics';

/**
 * Hosts a Lumino widget made by `factory` inside React; the widget is made
 * again when `deps` change and disposed on unmount.
 */
export function WidgetHost(props: {
  factory: () => Widget | null;
  deps: React.DependencyList;
  className?: string;
}): JSX.Element {
  const ref = React.useRef<HTMLDivElement>(null);
  React.useEffect(() => {
    const host = ref.current;
    const widget = props.factory();
    if (!host || !widget) {
      return;
    }
    // Plain DOM insertion: React owns the host and may remove it before this
    // effect is cleaned up, which a Lumino-attached widget cannot survive.
    // The widgets hosted here (rendermime renderers in panels) need no
    // attach messages.
    host.appendChild(widget.node);
    return () => {
      widget.node.remove();
      widget.dispose();
    };
  }, props.deps);
  return <div ref={ref} className={props.className} />;
}

/**
 * A main-area view of a model: redrawn when the model changes, the model
 * disposed with the view (which stops its live updates).
 */
export abstract class ModelViewWidget<
  M extends { readonly changed: ISignal<M, void>; dispose(): void }
> extends ReactWidget {
  constructor(
    readonly model: M,
    className: string
  ) {
    super();
    this.addClass('jp-mm-view');
    this.addClass(className);
    model.changed.connect(() => this.update(), this);
  }

  dispose(): void {
    this.model.dispose();
    Signal.clearData(this);
    super.dispose();
  }
}

/**
 * A view's body while its runs load.
 */
export function LoadingRuns(props: { count: number }): JSX.Element {
  return (
    <div className="jp-mm-view-body">
      <p className="jp-mm-loading">Loading {props.count} runs…</p>
    </div>
  );
}

/**
 * A metric chart in React: one plotly chart of some keys of some runs.
 */
export function ChartView(
  props: Omit<MetricChart.IOptions, 'node'> & {
    /**
     * Changing this re-queries the histories (live updates).
     */
    tick?: number;
  }
): JSX.Element {
  const ref = React.useRef<HTMLDivElement>(null);
  const chart = React.useRef<MetricChart | null>(null);
  const identity = `${props.runIds.join(',')}|${props.keys.join(',')}`;
  // The latest callback, so a re-render with a new one needs no new chart.
  const onXRange = React.useRef(props.onXRange);
  onXRange.current = props.onXRange;
  const onExtent = React.useRef(props.onExtent);
  onExtent.current = props.onExtent;
  React.useEffect(() => {
    if (!ref.current) {
      return;
    }
    const c = new MetricChart({
      node: ref.current,
      api: props.api,
      runIds: props.runIds,
      keys: props.keys,
      startTimes: props.startTimes,
      settings: props.settings,
      title: props.title,
      name: props.name,
      color: props.color,
      grouping: props.grouping,
      legend: props.legend,
      xRange: props.xRange,
      onXRange: range => onXRange.current?.(range),
      fullRange: props.fullRange,
      onExtent: extent => onExtent.current?.(extent)
    });
    chart.current = c;
    void c.refresh();
    return () => {
      c.dispose();
      chart.current = null;
    };
  }, [identity]);
  React.useEffect(() => {
    void chart.current?.setSettings(props.settings);
  }, [props.settings.axis, props.settings.smoothing, props.settings.logY]);
  const grouping = props.grouping ? JSON.stringify(props.grouping) : '';
  React.useEffect(() => {
    void chart.current?.setGrouping(props.grouping ?? null);
  }, [grouping]);
  React.useEffect(() => {
    if (props.xRange !== undefined) {
      void chart.current?.setXRange(props.xRange);
    }
  }, [props.xRange?.[0], props.xRange?.[1], props.xRange === null]);
  React.useEffect(() => {
    if (props.fullRange !== undefined) {
      void chart.current?.setFullRange(props.fullRange);
    }
  }, [props.fullRange?.[0], props.fullRange?.[1], props.fullRange === null]);
  React.useEffect(() => {
    if (props.tick) {
      void chart.current?.refresh();
    }
  }, [props.tick]);
  return (
    <div
      ref={ref}
      className="jp-mm-chart"
      data-keys={props.keys.join(',')}
      aria-label={`chart of ${props.keys.join(', ')}`}
      role="img"
    />
  );
}

/**
 * Axis, smoothing and log-scale controls of the charts.
 */
export function ChartControls(props: {
  settings: IChartSettings;
  onChange: (settings: IChartSettings) => void;
}): JSX.Element {
  const { settings, onChange } = props;
  return (
    <div
      className="jp-mm-chart-controls"
      role="group"
      aria-label="Chart options"
    >
      <label>
        x axis{' '}
        <select
          className="jp-mm-select"
          aria-label="x axis"
          value={settings.axis}
          onChange={e =>
            onChange({
              ...settings,
              axis: e.target.value as IChartSettings['axis']
            })
          }
        >
          {X_AXIS_KINDS.map(([kind, label]) => (
            <option key={kind} value={kind}>
              {label}
            </option>
          ))}
        </select>
      </label>
      <label>
        smoothing{' '}
        <input
          type="range"
          min={0}
          max={0.99}
          step={0.01}
          value={settings.smoothing}
          aria-valuetext={settings.smoothing.toFixed(2)}
          onChange={e =>
            onChange({ ...settings, smoothing: Number(e.target.value) })
          }
        />{' '}
        <span className="jp-mm-smoothing-value">
          {settings.smoothing.toFixed(2)}
        </span>
      </label>
      <label>
        <input
          type="checkbox"
          checked={settings.logY}
          onChange={e => onChange({ ...settings, logY: e.target.checked })}
        />{' '}
        log scale
      </label>
    </div>
  );
}

/**
 * Status text in a badge coloured by status.
 */
export function StatusBadge(props: { status: string }): JSX.Element {
  return (
    <span
      className={`jp-mm-badge jp-mm-badge-${props.status.toLowerCase()}`}
      title={`status: ${props.status}`}
    >
      {props.status.toLowerCase()}
    </span>
  );
}

/**
 * The runs of a view, each with its colour (the colour of its curves), its
 * name opening the run, and its status.
 */
export function RunLegend(props: {
  runs: ReadonlyArray<{ id: string; status: string }>;
  label: string;
  color: (runId: string) => string;
  name: (runId: string) => string;
  openRun: (runId: string) => void;
}): JSX.Element {
  return (
    <ul className="jp-mm-compare-runs" aria-label={props.label}>
      {props.runs.map(run => (
        <li key={run.id} data-run-id={run.id}>
          <span
            className="jp-mm-swatch"
            style={{ background: props.color(run.id) }}
            aria-hidden="true"
          />
          <button
            className="jp-mm-link"
            onClick={() => props.openRun(run.id)}
            title={`Open run ${run.id}`}
          >
            {props.name(run.id)}
          </button>{' '}
          <StatusBadge status={run.status} />
        </li>
      ))}
    </ul>
  );
}
