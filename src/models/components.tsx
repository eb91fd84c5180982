/**
 * Small React pieces shared by the Models panel and the version view.
 */

import * as React from 'react';

import { closeIcon, ReactWidget } from '@jupyterlab/ui-components';

import type { IRegistryPolicy, MonitoringStatus } from '../schema';
import { Decision, IModelVersion } from './api';
import {
  approvalActions,
  approvalState,
  decisionBlock,
  runSummary
} from './format';

const APPROVAL_TEXT = {
  none: 'not submitted',
  pending: 'pending approval',
  approved: 'approved',
  rejected: 'rejected'
};

export function ApprovalBadge(props: {
  version: Pick<IModelVersion, 'approval'>;
}): JSX.Element {
  const state = approvalState(props.version);
  return (
    <span
      className={`jp-mm-badge jp-mm-approval jp-mm-approval-${state}`}
      title={props.version.approval?.status ?? 'never submitted for approval'}
    >
      {APPROVAL_TEXT[state]}
    </span>
  );
}

/**
 * The words a monitoring status is shown as.
 */
export const MONITORING_TEXT: Record<MonitoringStatus, string> = {
  'no-data': 'no data',
  'not-enough-data': 'not enough data',
  ok: 'OK',
  warning: 'warning',
  drift: 'drift',
  'performance-down': 'performance down'
};

const MONITORING_TITLE: Record<MonitoringStatus, string> = {
  'no-data': 'no monitor has evaluated this version',
  'not-enough-data': 'the last window held too few rows for a verdict',
  ok: 'no drift in the last evaluation',
  warning: 'a feature moved past its warning band',
  drift: 'the last evaluation found drift',
  'performance-down': 'performance degraded'
};

export function MonitoringBadge(props: {
  status: MonitoringStatus;
}): JSX.Element {
  const status = props.status in MONITORING_TEXT ? props.status : 'no-data';
  const text = MONITORING_TEXT[status];
  return (
    <span
      className={`jp-mm-badge jp-mm-monitoring jp-mm-monitoring-${status}`}
      aria-label={`Monitoring: ${text}`}
      title={MONITORING_TITLE[status]}
      data-status={status}
    >
      {text}
    </span>
  );
}

export function AliasBadge(props: {
  alias: string;
  onDelete?: () => void;
}): JSX.Element {
  return (
    <span className="jp-mm-alias-badge" data-alias={props.alias}>
      @{props.alias}
      {props.onDelete ? (
        <button
          className="jp-mm-alias-delete"
          aria-label={`Delete alias ${props.alias}`}
          title={`Delete alias @${props.alias}`}
          onClick={props.onDelete}
        >
          <closeIcon.react tag="span" elementSize="small" />
        </button>
      ) : null}
    </span>
  );
}

/**
 * A version's approval and alias buttons, the same in the Models panel's rows and the version
 * view: what its approval state allows, with Approve and Reject disabled (saying why) while the
 * registry policy does not let this user decide (revoking an approval is always allowed).
 */
export function VersionDecisions(props: {
  name: string;
  version: IModelVersion;
  policy: IRegistryPolicy | null;
  actions: {
    decide: (name: string, version: number, decision: Decision) => void;
    setAlias: (name: string, version: number) => void;
  };
}): JSX.Element {
  const { name, version: v, actions } = props;
  const can = approvalActions(v);
  const blocked = decisionBlock(v, props.policy);
  const approved = v.approval?.status === 'Approved';
  return (
    <>
      {can.request ? (
        <button
          className="jp-mm-button jp-mod-styled"
          onClick={() => actions.decide(name, v.version, 'request')}
        >
          Request approval
        </button>
      ) : null}
      {can.decide && !approved ? (
        <button
          className="jp-mm-button jp-mod-styled jp-mod-accept"
          disabled={blocked !== null}
          title={blocked ?? undefined}
          onClick={() => actions.decide(name, v.version, 'approve')}
        >
          Approve
        </button>
      ) : null}
      {can.decide ? (
        <button
          className="jp-mm-button jp-mod-styled jp-mod-warn"
          disabled={blocked !== null && !approved}
          title={blocked ?? undefined}
          onClick={() => actions.decide(name, v.version, 'reject')}
        >
          Reject
        </button>
      ) : null}
      <button
        className="jp-mm-button jp-mod-styled"
        onClick={() => actions.setAlias(name, v.version)}
      >
        Set alias…
      </button>
    </>
  );
}

/**
 * A view's action button whose tooltip says what it does or, when it cannot be used (it is then
 * disabled), why not: `unavailable` is that reason, null when the action is available.
 */
export function ActionButton(props: {
  className: string;
  title: string;
  unavailable: string | null;
  onClick: () => void;
  children: React.ReactNode;
}): JSX.Element {
  return (
    <button
      className={`jp-mm-button jp-mod-styled ${props.className}`}
      disabled={props.unavailable !== null}
      title={props.unavailable ?? props.title}
      onClick={props.onClick}
    >
      {props.children}
    </button>
  );
}

/**
 * A registered model's aliases, each with the version it points to, in alias order (the
 * Models panel and the registry sidebar show them alike).
 */
export function AliasTargets(props: {
  aliases: Record<string, number>;
}): JSX.Element {
  return (
    <>
      {Object.entries(props.aliases)
        .sort()
        .map(([alias, version]) => (
          <span key={alias} className="jp-mm-alias-badge">
            @{alias} → v{version}
          </span>
        ))}
    </>
  );
}

export function RunLink(props: {
  runId: string;
  openRun: (runId: string) => void;
  label?: string;
}): JSX.Element {
  return (
    <button
      className="jp-mm-link jp-mm-runid"
      onClick={() => props.openRun(props.runId)}
      title={`Open run ${props.runId}`}
    >
      {props.label ?? props.runId.slice(0, 8)}
    </button>
  );
}

/**
 * Runs' summaries, fetched once per run per session (a version's source run
 * keeps its name and final metrics; a rename shows after a reload).
 */
const runSummaries = new Map<
  string,
  Promise<{ name: string; metrics: string } | null>
>();

/**
 * A version's source run: its name (a link) and key metrics, not its hex id
 * (kept in the tooltip). `load` reads the run; without it, the short id.
 */
export function SourceRun(props: {
  runId: string;
  openRun: (runId: string) => void;
  load?: (runId: string) => Promise<{
    id: string;
    name?: string;
    metrics?: Record<string, number | string>;
  }>;
}): JSX.Element {
  const { runId, load } = props;
  const [summary, setSummary] = React.useState<{
    name: string;
    metrics: string;
  } | null>(null);
  React.useEffect(() => {
    if (!load) {
      return;
    }
    let cached = runSummaries.get(runId);
    if (!cached) {
      cached = load(runId).then(
        run => runSummary(run),
        () => null
      );
      runSummaries.set(runId, cached);
    }
    let live = true;
    void cached.then(s => live && setSummary(s));
    return () => {
      live = false;
    };
  }, [runId, load]);
  return (
    <span className="jp-mm-source-run">
      <RunLink runId={runId} openRun={props.openRun} label={summary?.name} />
      {summary?.metrics ? (
        <span className="jp-mm-dim jp-mm-run-metrics">{` ${summary.metrics}`}</span>
      ) : null}
    </span>
  );
}

/**
 * A table's head: one column header per title.
 */
export function TableHead(props: { columns: string[] }): JSX.Element {
  return (
    <thead>
      <tr>
        {props.columns.map(c => (
          <th key={c} scope="col">
            {c}
          </th>
        ))}
      </tr>
    </thead>
  );
}

/**
 * A table of records, one row each under a header row, or `empty` as a dim line when there is
 * none yet.
 */
export function RecordsTable<T>(props: {
  records: T[];
  empty: string;
  className: string;
  label: string;
  columns: string[];
  row: (record: T) => JSX.Element;
}): JSX.Element {
  if (props.records.length === 0) {
    return <p className="jp-mm-dim">{props.empty}</p>;
  }
  return (
    <table
      className={`jp-mm-table ${props.className}`}
      aria-label={props.label}
    >
      <TableHead columns={props.columns} />
      <tbody>{props.records.map(props.row)}</tbody>
    </table>
  );
}

/**
 * A failure shown as text where it happened, announced to screen readers;
 * nothing while there is none.
 */
export function ErrorAlert(props: {
  message: string | null | undefined;
  className?: string;
}): JSX.Element | null {
  if (!props.message) {
    return null;
  }
  return (
    <div
      className={
        props.className ? `jp-mm-error ${props.className}` : 'jp-mm-error'
      }
      role="alert"
    >
      {props.message}
    </div>
  );
}

/**
 * A view header's button that reads everything again (its reply is what
 * the view then shows).
 */
export function ReloadButton(props: {
  label: 'Refresh' | 'Reload';
  reload: () => Promise<unknown>;
}): JSX.Element {
  return (
    <button
      className="jp-mm-button jp-mod-styled"
      onClick={() => void props.reload()}
    >
      {props.label}
    </button>
  );
}

/**
 * A registry view in the main area (a version, versions side by side): `View` draws the model
 * with the actions the plugin wires to its commands, and follows the model's changes itself.
 */
export class RegistryViewWidget<M, A> extends ReactWidget {
  constructor(
    readonly model: M,
    private _actions: A,
    className: string,
    private _View: (props: { model: M; actions: A }) => JSX.Element
  ) {
    super();
    this.addClass('jp-mm-view');
    this.addClass(className);
  }

  render(): JSX.Element {
    const View = this._View;
    return <View model={this.model} actions={this._actions} />;
  }
}
