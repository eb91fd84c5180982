/**
 * The sidebar's Jobs section: each re-run or reproducibility check with its
 * state, the end of its live log, a Cancel button while it is unfinished and
 * a link to the run it made. Log text and errors are React text, never HTML.
 */

import * as React from 'react';

import { ReactWidget } from '@jupyterlab/ui-components';

import { formatUtc } from '../models/format';
import { ErrorAlert, RunLink } from '../models/components';
import { useRerenderOn } from '../hooks';
import type { IJob } from '../schema';
import { isEnded } from './api';
import { JobsModel } from './model';

/**
 * What a job does, in words.
 */
export function jobTitle(job: IJob): string {
  const spec = job.spec as Record<string, any>;
  if (job.kind === 'reproducibility') {
    return `Reproducibility check of ${spec.model} v${spec.version}`;
  }
  const params = Object.entries((spec.params ?? {}) as Record<string, unknown>)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(', ');
  const run = (job.run_id ?? '').slice(0, 8);
  return `Re-run of ${run}` + (params ? ` (${params})` : '');
}

/**
 * A reproducibility check's verdict from its result, else null.
 */
export function jobVerdict(job: IJob): boolean | null {
  const summary = (job.result as Record<string, any> | null)?.summary;
  return typeof summary?.passed === 'boolean' ? summary.passed : null;
}

export function JobState(props: { state: IJob['state'] }): JSX.Element {
  return (
    <span
      className={`jp-mm-badge jp-mm-job-state jp-mm-job-${props.state}`}
      data-state={props.state}
    >
      {props.state}
    </span>
  );
}

function JobItem(props: {
  model: JobsModel;
  job: IJob;
  openRun: (runId: string) => void;
}): JSX.Element {
  const { model, job, openRun } = props;
  const verdict = jobVerdict(job);
  const log = model.log(job.job_id);
  return (
    <li className="jp-mm-job" data-job={job.job_id} data-state={job.state}>
      <div className="jp-mm-job-head">
        <JobState state={job.state} />
        <span className="jp-mm-job-title">{jobTitle(job)}</span>
      </div>
      <div className="jp-mm-dim jp-mm-job-meta">
        {`${formatUtc(job.created_time).slice(0, 19)} by ${job.created_by}`}
        {verdict !== null
          ? ` · ${verdict ? 'reproduced' : 'not reproduced'}`
          : ''}
      </div>
      {job.error ? (
        <div className="jp-mm-error jp-mm-job-error">{job.error}</div>
      ) : null}
      <ErrorAlert message={model.cancelError(job.job_id)} />
      <div className="jp-mm-job-actions">
        {!isEnded(job) ? (
          <button
            className="jp-mm-button jp-mod-styled jp-mod-warn"
            disabled={job.cancel_requested}
            onClick={() => void model.cancel(job.job_id)}
          >
            {job.cancel_requested ? 'Cancelling…' : 'Cancel'}
          </button>
        ) : null}
        {job.result_run_id ? (
          <RunLink
            runId={job.result_run_id}
            openRun={openRun}
            label={`Open new run ${job.result_run_id.slice(0, 8)}`}
          />
        ) : null}
      </div>
      {log ? (
        <pre className="jp-mm-job-log" aria-label="Job log">
          {log}
        </pre>
      ) : null}
    </li>
  );
}

export function JobsList(props: {
  model: JobsModel;
  openRun: (runId: string) => void;
}): JSX.Element {
  const { model, openRun } = props;
  useRerenderOn(model.changed);
  return (
    <div className="jp-mm-jobs">
      <ErrorAlert message={model.error} />
      {model.jobs.length === 0 ? (
        <p className="jp-mm-dim">No background job.</p>
      ) : (
        <ul className="jp-mm-jobs-list" aria-label="Background jobs">
          {model.jobs.map(job => (
            <JobItem
              key={job.job_id}
              model={model}
              job={job}
              openRun={openRun}
            />
          ))}
        </ul>
      )}
    </div>
  );
}

/**
 * The Jobs section of the sidebar (added to it once there is a job to show).
 */
export class JobsWidget extends ReactWidget {
  constructor(
    readonly model: JobsModel,
    private _openRun: (runId: string) => void
  ) {
    super();
    this.id = 'jupyter-mm-jobs';
    this.addClass('jp-mm-jobs-widget');
    this.title.label = 'Jobs';
  }

  render(): JSX.Element {
    return <JobsList model={this.model} openRun={this._openRun} />;
  }
}
