import { ServerConnection } from '@jupyterlab/services';

import { ApiError, requestAPI } from './request';
import { IExperiment, IRun, IRunModelsReply, ISearchReply } from './schema';
import { ICellRecord } from './views/types';

/**
 * Typed wrappers of the jupyter-mm REST API calls the run panel makes
 * (`docs/rest-api.md`, contract in `jupyter_mm/server/openapi.yaml`).
 */

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
 * The fields `PATCH runs/{id}` accepts.
 */
export interface IRunUpdate {
  name?: string;
  notes?: string;
  tags?: Record<string, string>;
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
  /**
   * A run's models of both kinds (what "Register Model…" offers). Without
   * it the run panel cannot rule a run out: the form says when it holds none.
   */
  runModels?(runId: string): Promise<IRunModelsReply>;
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

  runModels(runId: string): Promise<IRunModelsReply> {
    return requestAPI<IRunModelsReply>(
      `${runPath(runId)}/models`,
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
