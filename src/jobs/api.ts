/**
 * Typed wrappers of the background-jobs REST API (`jupyter-mm/api/jobs`,
 * `docs/reruns.md`; contract in `server/openapi.yaml`): start a notebook
 * re-run or a reproducibility check, list jobs, read one with its log from an
 * offset, cancel.
 */

import { ServerConnection } from '@jupyterlab/services';

import { callAPI, requestAPI } from '../request';
import type { IJob, IJobWithLog } from '../schema';

export type JobState = IJob['state'];

/**
 * The states a job never leaves.
 */
export const ENDED_STATES: ReadonlySet<JobState> = new Set([
  'finished',
  'failed',
  'cancelled',
  'lost'
]);

export function isEnded(job: Pick<IJob, 'state'>): boolean {
  return ENDED_STATES.has(job.state);
}

/**
 * The jobs calls; the tests give a fake.
 */
export interface IJobsApi {
  list(maxResults?: number): Promise<IJob[]>;
  get(jobId: string, logOffset?: number): Promise<IJobWithLog>;
  startRerun(runId: string, params: Record<string, string>): Promise<IJob>;
  startReproducibility(
    name: string,
    version: number,
    tolerance?: number
  ): Promise<IJob>;
  cancel(jobId: string): Promise<IJob>;
}

export class JobsAPI implements IJobsApi {
  constructor(readonly serverSettings: ServerConnection.ISettings) {}

  async list(maxResults = 20): Promise<IJob[]> {
    const reply = await requestAPI<{ jobs: IJob[] }>(
      'jobs',
      this.serverSettings,
      {},
      { max_results: String(maxResults) }
    );
    return reply.jobs;
  }

  get(jobId: string, logOffset = 0): Promise<IJobWithLog> {
    return requestAPI(
      `jobs/${encodeURIComponent(jobId)}`,
      this.serverSettings,
      {},
      { log_offset: String(logOffset) }
    );
  }

  startRerun(runId: string, params: Record<string, string>): Promise<IJob> {
    return this._post('jobs/reruns', { run_id: runId, params });
  }

  startReproducibility(
    name: string,
    version: number,
    tolerance?: number
  ): Promise<IJob> {
    return this._post('jobs/reproducibility', {
      name,
      version,
      ...(tolerance === undefined ? {} : { tolerance })
    });
  }

  cancel(jobId: string): Promise<IJob> {
    return this._post(`jobs/${encodeURIComponent(jobId)}/cancel`, {});
  }

  private _post<T>(path: string, body: unknown): Promise<T> {
    return callAPI<T>(this.serverSettings, path, 'POST', body);
  }
}

/**
 * Schema id of the job events (`jupyter_mm/server/jobs.py`): one when a job
 * ends, emitted by the process that ran it.
 */
export const JOB_EVENT_SCHEMA = 'https://events.jupyter.org/jupyter_mm/jobs/v1';
