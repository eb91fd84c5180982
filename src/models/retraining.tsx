/**
 * Retraining in the version view (`docs/retraining.md`): for a version a
 * retraining produced, that retraining's record (its trigger, the re-run's job
 * and candidate run, the gate's every check, the approval); for every version,
 * the model's recent retrainings and its policy, with a **Retrain now…**
 * action. Retraining does not emit on the store event bus, so the list is
 * polled while a retraining is still running.
 *
 * Triggers, reasons, errors and parameter values are user or remote text:
 * React text nodes only.
 */

import * as React from 'react';

import { ISignal, Signal } from '@lumino/signaling';

import { errorText } from './api';
import { askAndSubmit, askForm } from './dialogs';
import { ActionButton, RecordsTable, RunLink, TableHead } from './components';
import { useRerenderOn } from '../hooks';
import { formatUtc } from './format';
import { valueText } from './reproducibility';
import { IRetrainingApi, isSettled } from './retraining-api';
import type { IRetraining, IRetrainingPolicy } from '../schema';
import { overridesFrom, refusalText } from '../views/rerun';
import { NewestReply, settle } from '../newestReply';

/**
 * A model's retrainings and policy, polled while one is running.
 */
export class RetrainingModel {
  constructor(
    readonly api: IRetrainingApi,
    private _name: () => string,
    options: { interval?: number } = {}
  ) {
    this._interval = options.interval ?? 2000;
  }

  records: IRetraining[] = [];
  /**
   * The policy (null: none, or not loaded).
   */
  policy: IRetrainingPolicy | null = null;
  loaded = false;
  error: string | null = null;
  policyError: string | null = null;

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get name(): string {
    return this._name();
  }

  /**
   * Load the retrainings and the policy; poll again while one runs.
   */
  async load(): Promise<void> {
    if (this._disposed) {
      return;
    }
    this._clearTimer();
    const isNewest = this._loads.begin();
    const name = this.name;
    const [records, policy] = await Promise.all([
      settle(this.api.list(name)),
      settle(this.api.policy(name))
    ]);
    if (this._disposed || !isNewest()) {
      return;
    }
    this.records = records.ok ? records.value : this.records;
    this.error = records.ok ? null : errorText(records.error);
    this.policy = policy.ok ? policy.value : this.policy;
    this.policyError = policy.ok ? null : errorText(policy.error);
    this.loaded = true;
    this._changed.emit();
    if (this.records.some(r => !isSettled(r))) {
      this._timer = setTimeout(() => void this.load(), this._interval);
    }
  }

  /**
   * The retraining that produced `version`, if one did.
   */
  producing(version: number): IRetraining | null {
    return this.records.find(r => r.version === version) ?? null;
  }

  /**
   * A retraining was started here: show it and follow it.
   */
  started(record: IRetraining): void {
    this.records = [
      record,
      ...this.records.filter(r => r.retraining_id !== record.retraining_id)
    ];
    this._changed.emit();
    void this.load();
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  dispose(): void {
    this._disposed = true;
    this._clearTimer();
  }

  private _clearTimer(): void {
    if (this._timer !== null) {
      clearTimeout(this._timer);
      this._timer = null;
    }
  }

  private _changed = new Signal<this, void>(this);
  private _interval: number;
  private _timer: ReturnType<typeof setTimeout> | null = null;
  private _loads = new NewestReply();
  private _disposed = false;
}

const PARAMS = 'other';

/**
 * Ask for parameter overrides (`NAME=VALUE` lines) and start a retraining by
 * hand; the server's refusal is shown in the dialog with what was typed kept.
 * The record started, or null when cancelled.
 */
export function askRetrain(
  api: IRetrainingApi,
  name: string,
  ask: typeof askForm = askForm
): Promise<IRetraining | null> {
  return askAndSubmit(
    {
      title: `Retrain ${name}`,
      intro:
        'Re-runs the policy’s run with its overrides and these, gates the candidate ' +
        'against the champion, and registers a passing one pending approval.',
      fields: [
        {
          key: PARAMS,
          label: 'Parameter overrides (NAME=VALUE, one per line; optional)',
          multiline: true,
          placeholder: 'window_days=30'
        }
      ],
      accept: 'Retrain'
    },
    answer => {
      const overrides = overridesFrom({}, answer);
      if ('error' in overrides) {
        throw new Error(overrides.error);
      }
      return api.start(name, overrides.params);
    },
    refusalText,
    ask
  );
}

const STATE_TEXT: Record<IRetraining['state'], string> = {
  running: 'running',
  handed_off: 'handed off',
  gate_failed: 'gate failed',
  pending_approval: 'pending approval',
  failed: 'failed'
};

export function RetrainingStateBadge(props: {
  record: IRetraining;
}): JSX.Element {
  const state = props.record.state;
  return (
    <span
      className={`jp-mm-badge jp-mm-retraining-state jp-mm-retraining-${state}`}
      data-state={state}
    >
      {STATE_TEXT[state] ?? state}
    </span>
  );
}

/**
 * What started a retraining, in words.
 */
export function triggerText(trigger: Record<string, unknown>): string {
  const kind = valueText(trigger.kind);
  if (trigger.kind === 'manual') {
    return `manual, by ${valueText(trigger.by)}`;
  }
  if (trigger.kind === 'schedule') {
    return `schedule, period ${valueText(trigger.period)} (every ${valueText(trigger.every)} s)`;
  }
  const parts = [kind];
  if (trigger.event) {
    parts.push(valueText(trigger.event));
  }
  if (trigger.monitor) {
    parts.push(`monitor ${valueText(trigger.monitor)}`);
  }
  if (trigger.evaluation_id !== undefined && trigger.evaluation_id !== null) {
    parts.push(`evaluation ${valueText(trigger.evaluation_id)}`);
  }
  return parts.join(' · ');
}

type GateSpec = NonNullable<IRetrainingPolicy['gate']>[number];

/**
 * One gate threshold of a policy, in MLflow's `MetricThreshold` terms.
 */
export function gateSpecText(g: GateSpec): string {
  const better = g.greater_is_better !== false;
  const cmp = better ? '≥' : '≤';
  const sign = better ? '+' : '−';
  const parts: string[] = [];
  if (g.threshold !== undefined && g.threshold !== null) {
    parts.push(`${cmp} ${g.threshold}`);
  }
  if (g.min_absolute_change) {
    parts.push(`${sign}${g.min_absolute_change} vs champion`);
  }
  if (g.min_relative_change) {
    parts.push(`${sign}${g.min_relative_change * 100}% vs champion`);
  }
  return `${g.metric} ${parts.join(', ') || '(no bound)'}`;
}

interface IGateCheck {
  kind: string;
  bound: unknown;
  passed: boolean;
  reason: string;
}

interface IGateRow {
  metric: string;
  candidate: unknown;
  champion: unknown;
  checks: IGateCheck[];
}

/**
 * The checks of a gate result, one row per check (`loop/retraining.py`'s
 * `{passed, thresholds: [{metric, candidate, champion, checks}]}`).
 */
export function gateRows(
  gate: Record<string, unknown> | null
): Array<IGateRow & { check: IGateCheck }> {
  const thresholds = Array.isArray(gate?.thresholds)
    ? (gate.thresholds as IGateRow[])
    : [];
  const rows: Array<IGateRow & { check: IGateCheck }> = [];
  for (const t of thresholds) {
    for (const check of Array.isArray(t.checks) ? t.checks : []) {
      rows.push({ ...t, check });
    }
  }
  return rows;
}

/**
 * A gate's verdict in a line: passed, or failed with the failing checks' reasons.
 */
function GateVerdict(props: {
  gate: Record<string, unknown> | null;
}): JSX.Element {
  if (!props.gate) {
    return <span className="jp-mm-dim">—</span>;
  }
  const passed = props.gate.passed === true;
  const failing = gateRows(props.gate).filter(row => !row.check.passed);
  return (
    <>
      <span
        className={`jp-mm-badge jp-mm-gate-${passed ? 'passed' : 'failed'}`}
        data-passed={String(passed)}
      >
        {passed ? 'gate passed' : 'gate failed'}
      </span>
      {failing.length ? (
        <ul className="jp-mm-plain-list jp-mm-gate-reasons">
          {failing.map((row, i) => (
            <li key={i}>{row.check.reason}</li>
          ))}
        </ul>
      ) : null}
    </>
  );
}

function GateTable(props: { gate: Record<string, unknown> }): JSX.Element {
  const rows = gateRows(props.gate);
  return (
    <>
      {rows.length ? (
        <table className="jp-mm-table jp-mm-gate" aria-label="Gate">
          <TableHead
            columns={[
              'Metric',
              'Candidate',
              'Champion',
              'Check',
              'Bound',
              'Result',
              'Reason'
            ]}
          />
          <tbody>
            {rows.map((row, i) => (
              <tr
                key={i}
                data-metric={row.metric}
                data-passed={String(row.check.passed)}
              >
                <td>{row.metric}</td>
                <td>{valueText(row.candidate)}</td>
                <td>{valueText(row.champion)}</td>
                <td>{row.check.kind}</td>
                <td>{valueText(row.check.bound)}</td>
                <td>{row.check.passed ? 'pass' : 'fail'}</td>
                <td>{row.check.reason}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p className="jp-mm-dim">An empty gate: it passes.</p>
      )}
    </>
  );
}

interface ILinks {
  openRun: (runId: string) => void;
  openVersion?: (name: string, version: number) => void;
}

function VersionLink(props: {
  record: IRetraining;
  links: ILinks;
}): JSX.Element {
  const { record, links } = props;
  if (record.version === null) {
    return <span className="jp-mm-dim">—</span>;
  }
  const label = `v${record.version}`;
  return links.openVersion ? (
    <button
      className="jp-mm-link jp-mm-version-link"
      title={`Open ${record.model} version ${record.version}`}
      onClick={() => links.openVersion?.(record.model, record.version!)}
    >
      {label}
    </button>
  ) : (
    <span>{label}</span>
  );
}

function paramsText(params: Record<string, unknown> | undefined): string {
  const entries = Object.entries(params ?? {});
  return entries.length
    ? entries.map(([k, v]) => `${k}=${valueText(v)}`).join(', ')
    : 'none';
}

/**
 * The retraining that produced this version.
 */
function Produced(props: { r: IRetraining; links: ILinks }): JSX.Element {
  const { r, links } = props;
  return (
    <div className="jp-mm-retraining-produced">
      <dl className="jp-mm-kv">
        <dt>Produced by</dt>
        <dd>
          retraining <code>{r.retraining_id}</code>{' '}
          <RetrainingStateBadge record={r} />
        </dd>
        <dt>Trigger</dt>
        <dd className="jp-mm-retraining-trigger">
          {triggerText(r.trigger)} · {formatUtc(r.created_time)}
        </dd>
        <dt>Re-run</dt>
        <dd>
          {r.source_run_id ? (
            <RunLink runId={r.source_run_id} openRun={links.openRun} />
          ) : (
            '?'
          )}
          {' → '}
          {r.run_id ? (
            <RunLink runId={r.run_id} openRun={links.openRun} />
          ) : (
            <span className="jp-mm-dim">no candidate run</span>
          )}
          {r.job_id ? ` · job ${r.job_id}` : ''}
        </dd>
        <dt>Overrides</dt>
        <dd className="jp-mm-retraining-params">{paramsText(r.params)}</dd>
        <dt>Champion</dt>
        <dd>
          {r.champion_version !== null ? `v${r.champion_version}` : 'none'}
        </dd>
        <dt>Gate</dt>
        <dd>
          <GateVerdict gate={r.gate} />
        </dd>
        <dt>Approval</dt>
        <dd className="jp-mm-retraining-approval">{r.approval ?? '—'}</dd>
        {r.error ? (
          <>
            <dt>Error</dt>
            <dd className="jp-mm-error">{r.error}</dd>
          </>
        ) : null}
      </dl>
      {r.gate ? <GateTable gate={r.gate} /> : null}
    </div>
  );
}

function Recent(props: { records: IRetraining[]; links: ILinks }): JSX.Element {
  return (
    <RecordsTable
      records={props.records}
      empty="No retraining yet."
      className="jp-mm-retrainings"
      label="Recent retrainings"
      columns={[
        'Started (UTC)',
        'State',
        'Trigger',
        'Gate',
        'Version',
        'Error'
      ]}
      row={r => (
        <tr key={r.retraining_id} data-retraining={r.retraining_id}>
          <td>{formatUtc(r.created_time)}</td>
          <td>
            <RetrainingStateBadge record={r} />
          </td>
          <td>{triggerText(r.trigger)}</td>
          <td className="jp-mm-retraining-gate">
            <GateVerdict gate={r.gate} />
          </td>
          <td>
            <VersionLink record={r} links={props.links} />
          </td>
          <td>{r.error ?? ''}</td>
        </tr>
      )}
    />
  );
}

function PolicySummary(props: {
  policy: IRetrainingPolicy | null;
}): JSX.Element {
  const p = props.policy;
  if (!p) {
    return (
      <p className="jp-mm-dim jp-mm-retraining-policy">
        No retraining policy: set one with mm.set_retraining_policy(…).
      </p>
    );
  }
  const gate = p.gate ?? [];
  return (
    <dl className="jp-mm-kv jp-mm-retraining-policy">
      <dt>Triggers</dt>
      <dd>
        {p.triggers.join(', ')}
        {p.schedule ? ` (every ${p.schedule.every} s)` : ''}
        {p.enabled === false ? ' · disabled' : ''}
      </dd>
      <dt>Champion alias</dt>
      <dd>@{p.alias ?? 'champion'}</dd>
      <dt>Re-runs</dt>
      <dd>
        {p.run_id ? <code>{p.run_id}</code> : 'the champion’s source run'}
        {' · overrides: '}
        {paramsText(p.params)}
      </dd>
      <dt>Gate</dt>
      <dd>
        {gate.length ? (
          <ul className="jp-mm-plain-list">
            {gate.map((g, i) => (
              <li key={i}>{gateSpecText(g)}</li>
            ))}
          </ul>
        ) : (
          'none (every candidate passes)'
        )}
      </dd>
      <dt>Executor</dt>
      <dd>{p.executor ?? 'local'}</dd>
    </dl>
  );
}

export function RetrainingView(props: {
  model: RetrainingModel;
  version: number;
  openRun: (runId: string) => void;
  openVersion?: (name: string, version: number) => void;
  ask?: typeof askForm;
}): JSX.Element {
  const { model, version } = props;
  useRerenderOn(model.changed);
  const links: ILinks = {
    openRun: props.openRun,
    openVersion: props.openVersion
  };
  const produced = model.producing(version);
  const retrain = async () => {
    const record = await askRetrain(model.api, model.name, props.ask);
    if (record) {
      model.started(record);
    }
  };
  if (!model.loaded) {
    return <p className="jp-mm-dim">Loading…</p>;
  }
  return (
    <>
      {produced ? <Produced r={produced} links={links} /> : null}
      {model.error ? (
        <div className="jp-mm-error" role="alert">
          {model.error}
        </div>
      ) : (
        <Recent records={model.records} links={links} />
      )}
      <h3 className="jp-mm-subtitle">Policy</h3>
      {model.policyError ? (
        <div className="jp-mm-error" role="alert">
          {model.policyError}
        </div>
      ) : (
        <PolicySummary policy={model.policy} />
      )}
      <div className="jp-mm-actions">
        <ActionButton
          className="jp-mm-retrain"
          title="Start a retraining with this policy (its triggers must list manual)"
          unavailable={
            model.policy ? null : 'The model has no retraining policy'
          }
          onClick={() => void retrain()}
        >
          Retrain now…
        </ActionButton>
      </div>
    </>
  );
}
