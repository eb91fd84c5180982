import { ServerConnection } from '@jupyterlab/services';

import { ApiError, requestAPI } from './request';

/**
 * Typed wrappers of the jupyter-mm REST API calls the run panel makes
 * (`docs/rest-api.md`, contract in `jupyter_mm/server/openapi.yaml`).
 */

/**
 * Run statuses as the server spells them.
 */
export type RunStatus =
  'RUNNING' | 'FINISHED' | 'FAILED' | 'KILLED' | 'SCHEDULED' | string;

/**
 * A metric value on the wire: a number, or `"NaN"`, `"Infinity"`, `"-Infinity"`.
 */
export type WireNumber = number | string;

/**
 * A run as `GET runs` returns it; with `columns`, only some fields are there.
 */
export interface IRun {
  id: string;
  name?: string;
  experiment_id?: string;
  experiment?: string;
  status?: RunStatus;
  start_time?: number | null;
  end_time?: number | null;
  heartbeat_time?: number | null;
  user?: string | null;
  lifecycle_stage?: string;
  parent_run_id?: string | null;
  notes?: string | null;
  params?: Record<string, string>;
  metrics?: Record<string, WireNumber>;
  tags?: Record<string, string>;
}

/**
 * An experiment as `GET experiments` returns it.
 */
export interface IExperiment {
  id: string;
  name: string;
  lifecycle_stage: string;
  creation_time?: number | null;
  last_update_time?: number | null;
  tags?: Record<string, string>;
}

/**
 * The body of `POST runs/search`.
 */
export interface ISearchQuery {
  experiment_ids?: string[];
  filter?: string;
  order_by?: string[];
  max_results?: number;
  page_token?: string | null;
  view?: 'active' | 'deleted' | 'all';
  columns?: string[];
}

/**
 * The reply of a run search.
 */
export interface ISearchReply {
  runs: IRun[];
  next_page_token: string | null;
}

/**
 * The fields `PATCH runs/{id}` accepts.
 */
export interface IRunUpdate {
  name?: string;
  notes?: string;
  tags?: Record<string, string>;
}

/**
 * The `.mm/cell.json` record of a tracked cell.
 */
export interface ICellRecord {
  source?: string;
  cell_id?: string | null;
  execution_count?: number | null;
}

/**
 * Every REST call the run panel needs; the tests give a fake one.
 */
export interface IRunsApi {
  experiments(): Promise<IExperiment[]>;
  search(query: ISearchQuery): Promise<ISearchReply>;
  getRun(runId: string): Promise<IRun>;
  updateRun(runId: string, update: IRunUpdate): Promise<IRun>;
  deleteRun(runId: string): Promise<IRun>;
  restoreRun(runId: string): Promise<IRun>;
  cellRecord(runId: string): Promise<ICellRecord>;
}

/**
 * The REST API of the running Jupyter server.
 */
export class RestRunsApi implements IRunsApi {
  constructor(serverSettings: ServerConnection.ISettings) {
    this._settings = serverSettings;
  }

  async experiments(): Promise<IExperiment[]> {
    const reply = await requestAPI<{ experiments: IExperiment[] }>(
      'experiments',
      this._settings
    );
    return reply.experiments;
  }

  search(query: ISearchQuery): Promise<ISearchReply> {
    // Its errors keep their details: where a filter is wrong.
    return requestAPI<ISearchReply>('runs/search', this._settings, {
      method: 'POST',
      body: JSON.stringify(query)
    });
  }

  getRun(runId: string): Promise<IRun> {
    return requestAPI<IRun>(runPath(runId), this._settings);
  }

  updateRun(runId: string, update: IRunUpdate): Promise<IRun> {
    return requestAPI<IRun>(runPath(runId), this._settings, {
      method: 'PATCH',
      body: JSON.stringify(update)
    });
  }

  deleteRun(runId: string): Promise<IRun> {
    return requestAPI<IRun>(runPath(runId), this._settings, {
      method: 'DELETE'
    });
  }

  restoreRun(runId: string): Promise<IRun> {
    return requestAPI<IRun>(`${runPath(runId)}/restore`, this._settings, {
      method: 'POST'
    });
  }

  cellRecord(runId: string): Promise<ICellRecord> {
    return requestAPI<ICellRecord>(
      `${runPath(runId)}/records/cell`,
      this._settings
    );
  }

  private _settings: ServerConnection.ISettings;
}

/**
 * `runs/{id}` with the id checked, so no text from elsewhere can change the path.
 */
export function runPath(runId: string): string {
  if (!/^[0-9a-f]{32}$/.test(runId)) {
    throw new Error(`not a run id: ${JSON.stringify(runId)}`);
  }
  return `runs/${runId}`;
}

/**
 * Where a rejected search's filter is wrong: `null` when the error is not
 * about the filter (another field, a server or network failure), else the
 * character offset when known. Servers that send no `details` (older ones,
 * or errors found after parsing) are read from the message
 * (`... at position 13, found ...`).
 */
export function filterErrorAt(
  error: unknown
): { position: number | null } | null {
  if (
    !(error instanceof ServerConnection.ResponseError) ||
    error.response.status !== 400
  ) {
    return null;
  }
  const details = error instanceof ApiError ? error.details : null;
  if (details) {
    if (details.field !== undefined && details.field !== 'filter') {
      return null;
    }
    return {
      position:
        typeof details.position === 'number' && details.position >= 0
          ? details.position
          : null
    };
  }
  return { position: filterErrorPosition(error.message) };
}

/**
 * Where a filter error is, read from the server's message, or null when it
 * does not say (older servers; see `filterErrorAt`).
 */
export function filterErrorPosition(message: string): number | null {
  const match = /at position (\d+)/.exec(message);
  return match ? parseInt(match[1], 10) : null;
}

/**
 * The first line of an error message (the server appends the filter and a
 * caret on further lines; the panel draws its own marker).
 */
export function firstLine(message: string): string {
  const index = message.indexOf('\n');
  return index < 0 ? message : message.slice(0, index);
}
