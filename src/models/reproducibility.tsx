/**
 * A version's reproducibility evidence in the version view: the latest
 * check's verdict as the audited tag `mm.reproducibility` records it (the
 * tolerance, what was compared, the metric and prediction differences, how
 * many environment differences, the re-run, the job, when and by whom), and
 * the Check reproducibility action that starts a new check.
 */

import * as React from 'react';

import { IAuditEntry, IModelVersion } from './api';
import { ActionButton, RunLink } from './components';
import { formatUtc, shortDigest } from './format';

/**
 * The version tag holding the latest check's summary.
 */
export const REPRODUCIBILITY_TAG = 'mm.reproducibility';

/**
 * The summary a check leaves on the version (`loop/reproducibility.py`).
 */
export interface IReproducibilitySummary {
  passed: boolean | null;
  tolerance?: number;
  source_run_id?: string;
  rerun_run_id?: string | null;
  job_id?: string;
  metrics_compared?: number;
  predictions_sample?: string | null;
  environment_differences?: number;
  problems?: string[];
  details?: string;
}

/**
 * The latest check's summary from the version's tags; null without one; an
 * unreadable tag is a summary with `passed: null` saying so.
 */
export function reproducibilitySummary(
  tags: Record<string, string>
): IReproducibilitySummary | null {
  const value = tags[REPRODUCIBILITY_TAG];
  if (!value) {
    return null;
  }
  try {
    const parsed = JSON.parse(value);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
      return {
        ...parsed,
        passed: typeof parsed.passed === 'boolean' ? parsed.passed : null
      };
    }
  } catch {
    // fall through: unreadable
  }
  return { passed: null, problems: ['the recorded summary is unreadable'] };
}

/**
 * The differences a check found, by what differed.
 */
export function splitProblems(problems: string[] | undefined): {
  metrics: string[];
  predictions: string[];
  other: string[];
} {
  const out = {
    metrics: [] as string[],
    predictions: [] as string[],
    other: [] as string[]
  };
  for (const p of problems ?? []) {
    if (p.startsWith('metric ')) {
      out.metrics.push(p.slice('metric '.length));
    } else if (p.startsWith('predictions ')) {
      out.predictions.push(p);
    } else {
      out.other.push(p);
    }
  }
  return out;
}

/**
 * The audit entry that recorded the check (the tag set with the job's id in
 * its comment), for when and by whom.
 */
export function checkEntry(
  audit: IAuditEntry[],
  version: number,
  jobId: string | undefined
): IAuditEntry | null {
  if (!jobId) {
    return null;
  }
  return (
    audit
      .filter(
        e =>
          e.version === version &&
          e.action.endsWith('tag_set') &&
          (e.comment ?? '').includes(jobId)
      )
      .sort((a, b) => b.seq - a.seq)[0] ?? null
  );
}

function List(props: { items: string[]; empty: string }): JSX.Element {
  return props.items.length ? (
    <ul className="jp-mm-plain-list">
      {props.items.map((item, i) => (
        <li key={i}>{item}</li>
      ))}
    </ul>
  ) : (
    <span className="jp-mm-dim">{props.empty}</span>
  );
}

/**
 * A compared value as short text.
 */
export function valueText(value: unknown): string {
  if (value === null || value === undefined) {
    return '∅';
  }
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * The environment differences of a check's details, as `key: original → re-run` lines.
 */
export function environmentLines(
  details: Record<string, any> | null
): string[] {
  const rows = Array.isArray(details?.environment) ? details.environment : [];
  return rows.map(
    (r: Record<string, unknown>) =>
      `${valueText(r.key)}: ${valueText(r.a)} → ${valueText(r.b)}`
  );
}

/**
 * Every metric a check compared, as `key: original → re-run` lines marked
 * when outside the tolerance.
 */
export function metricLines(details: Record<string, any> | null): string[] {
  const rows = Array.isArray(details?.metrics) ? details.metrics : [];
  return rows.map(
    (r: Record<string, unknown>) =>
      `${valueText(r.key)}: ${valueText(r.original)} → ${valueText(r.rerun)}` +
      (r.within_tolerance ? '' : ' (outside the tolerance)')
  );
}

export function ReproducibilityView(props: {
  v: IModelVersion;
  audit: IAuditEntry[];
  /**
   * The check's details (`GET .../reproducibility`), when loaded.
   */
  details?: Record<string, any> | null;
  detailsError?: string | null;
  openRun: (runId: string) => void;
  check: (name: string, version: number) => void;
  /**
   * The job of a check started from this view and not recorded yet.
   */
  pendingJob: string | null;
}): JSX.Element {
  const { v, audit, openRun, check, pendingJob } = props;
  const details = props.details ?? null;
  const environment = environmentLines(details);
  const metrics = metricLines(details);
  const s = reproducibilitySummary(v.tags);
  const pending = pendingJob && s?.job_id !== pendingJob ? pendingJob : null;
  const verdict = s
    ? s.passed === null
      ? 'unreadable'
      : s.passed
        ? 'passed'
        : 'failed'
    : null;
  const diffs = splitProblems(s?.problems);
  const entry = checkEntry(audit, v.version, s?.job_id);
  return (
    <>
      {s ? (
        <dl className="jp-mm-kv jp-mm-reproducibility">
          <dt>Verdict</dt>
          <dd>
            <span
              className={`jp-mm-badge jp-mm-repro jp-mm-repro-${verdict}`}
              data-verdict={verdict}
            >
              {verdict === 'passed'
                ? 'reproduced'
                : verdict === 'failed'
                  ? 'not reproduced'
                  : 'unreadable'}
            </span>
          </dd>
          <dt>Tolerance</dt>
          <dd>{s.tolerance ?? '—'} (absolute and relative)</dd>
          <dt>Checked</dt>
          <dd>
            {entry ? `${formatUtc(entry.time)} by ${entry.actor}` : '—'}
            {s.job_id ? ` · job ${s.job_id}` : ''}
          </dd>
          <dt>Re-run</dt>
          <dd>
            {s.source_run_id ? (
              <RunLink runId={s.source_run_id} openRun={openRun} />
            ) : (
              '?'
            )}
            {' → '}
            {s.rerun_run_id ? (
              <RunLink runId={s.rerun_run_id} openRun={openRun} />
            ) : (
              <span className="jp-mm-dim">no new run</span>
            )}
          </dd>
          <dt>Metric differences</dt>
          <dd className="jp-mm-repro-metrics">
            <List
              items={diffs.metrics}
              empty={`none (${s.metrics_compared ?? 0} compared)`}
            />
          </dd>
          <dt>Prediction differences</dt>
          <dd className="jp-mm-repro-predictions">
            <List
              items={diffs.predictions}
              empty={
                s.predictions_sample
                  ? `none (on the ${s.predictions_sample})`
                  : 'not compared (no sample)'
              }
            />
          </dd>
          <dt>Environment differences</dt>
          <dd className="jp-mm-repro-environment">
            {environment.length ? (
              <List items={environment} empty="" />
            ) : (
              (s.environment_differences ?? '—')
            )}
          </dd>
          {metrics.length ? (
            <>
              <dt>Metrics compared</dt>
              <dd>
                <details>
                  <summary>{metrics.length} metrics</summary>
                  <List items={metrics} empty="" />
                </details>
              </dd>
            </>
          ) : null}
          {diffs.other.length ? (
            <>
              <dt>Problems</dt>
              <dd>
                <List items={diffs.other} empty="" />
              </dd>
            </>
          ) : null}
          {s.details ? (
            <>
              <dt>Evidence</dt>
              <dd>
                <code className="jp-mm-digest" title={s.details}>
                  sha256 {shortDigest(s.details)}
                </code>
              </dd>
            </>
          ) : null}
        </dl>
      ) : (
        <p className="jp-mm-dim">
          Never checked: a check re-runs the source run unchanged and compares
          its metrics and the model’s predictions.
        </p>
      )}
      {props.detailsError ? (
        <div className="jp-mm-error" role="alert">
          The check’s details could not be read: {props.detailsError}
        </div>
      ) : null}
      {pending ? (
        <p className="jp-mm-repro-pending" role="status">
          Check running (job {pending}); its progress is in the sidebar’s Jobs
          section.
        </p>
      ) : null}
      <div className="jp-mm-actions">
        <ActionButton
          className="jp-mm-repro-check"
          title="Re-run the source run unchanged and compare (a background job)"
          unavailable={
            v.run_id ? null : 'This version has no source run to re-run'
          }
          onClick={() => check(v.name, v.version)}
        >
          Check reproducibility…
        </ActionButton>
      </div>
    </>
  );
}
