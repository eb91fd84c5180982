import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { API_NAMESPACE, requestAPI } from '../request';
import {
  IDiffParts,
  IDiffReply,
  IHistoryQuery,
  IRecordReply,
  ISnapshotReply,
  RecordKind
} from './types';
import {
  IArtifact,
  IDataset,
  IMetricSeries,
  IFullRun as IRun,
  IRunModelsReply
} from '../schema';
import type { operations } from '../openapi';

/**
 * The first rows of a Parquet artifact (`GET runs/{id}/artifact-rows/{path}`).
 */
export type IArtifactRows =
  operations['artifactRows']['responses']['200']['content']['application/json'];

/**
 * Largest part of an artifact fetched for a text preview.
 */
export const PREVIEW_BYTES = 1024 * 1024;

/**
 * The REST calls of the views, with the application's server settings.
 */
export class ViewsAPI {
  constructor(readonly serverSettings: ServerConnection.ISettings) {}

  getRun(runId: string): Promise<IRun> {
    return requestAPI<IRun>(`runs/${enc(runId)}`, this.serverSettings);
  }

  /**
   * The run's models of both kinds and the versions registered from it.
   */
  runModels(runId: string): Promise<IRunModelsReply> {
    return requestAPI<IRunModelsReply>(
      `runs/${enc(runId)}/models`,
      this.serverSettings
    );
  }

  /**
   * Update a run's name, notes or tags (tags are merged: a key set to a value).
   */
  patchRun(
    runId: string,
    patch: { name?: string; notes?: string; tags?: Record<string, string> }
  ): Promise<IRun> {
    return requestAPI<IRun>(`runs/${enc(runId)}`, this.serverSettings, {
      method: 'PATCH',
      body: JSON.stringify(patch)
    });
  }

  deleteTag(runId: string, key: string): Promise<unknown> {
    return requestAPI(
      `runs/${enc(runId)}/tags/${enc(key)}`,
      this.serverSettings,
      { method: 'DELETE' }
    );
  }

  async history(query: IHistoryQuery): Promise<IMetricSeries[]> {
    const reply = await requestAPI<{ series: IMetricSeries[] }>(
      'metrics/history',
      this.serverSettings,
      { method: 'POST', body: JSON.stringify(query) }
    );
    return reply.series;
  }

  async datasets(runId: string): Promise<IDataset[]> {
    const reply = await requestAPI<{ datasets: IDataset[] }>(
      `runs/${enc(runId)}/datasets`,
      this.serverSettings
    );
    return reply.datasets;
  }

  async artifacts(runId: string, recursive = true): Promise<IArtifact[]> {
    const reply = await requestAPI<{ artifacts: IArtifact[] }>(
      `runs/${enc(runId)}/artifacts`,
      this.serverSettings,
      {},
      recursive ? { recursive: 'true' } : {}
    );
    return reply.artifacts;
  }

  /**
   * The first rows of a Parquet artifact, cells as text (read server-side).
   */
  async artifactRows(
    runId: string,
    path: string,
    maxRows = 100
  ): Promise<IArtifactRows> {
    return requestAPI<IArtifactRows>(
      `runs/${enc(runId)}/artifact-rows/${path.split('/').map(enc).join('/')}`,
      this.serverSettings,
      {},
      { max_rows: String(maxRows) }
    );
  }

  /**
   * The URL of an artifact's download (each path segment escaped).
   */
  artifactUrl(runId: string, path: string): string {
    return URLExt.join(
      this.serverSettings.baseUrl,
      API_NAMESPACE,
      'runs',
      enc(runId),
      'artifacts',
      path.split('/').map(enc).join('/')
    );
  }

  /**
   * Download an artifact, or its first `maxBytes` bytes (a Range request).
   */
  async download(
    runId: string,
    path: string,
    maxBytes?: number
  ): Promise<{ blob: Blob; truncated: boolean }> {
    const headers: Record<string, string> = {};
    if (maxBytes !== undefined) {
      headers['Range'] = `bytes=0-${maxBytes - 1}`;
    }
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(
        this.artifactUrl(runId, path),
        { headers },
        this.serverSettings
      );
    } catch (error) {
      throw new ServerConnection.NetworkError(error as TypeError);
    }
    if (response.status === 416) {
      // An empty artifact has no byte 0.
      return { blob: new Blob([]), truncated: false };
    }
    if (!response.ok) {
      throw new ServerConnection.ResponseError(response);
    }
    const blob = await response.blob();
    const range = response.headers.get('Content-Range');
    const total = range ? Number(range.split('/')[1]) : blob.size;
    return { blob, truncated: Number.isFinite(total) && total > blob.size };
  }

  async record<T>(runId: string, kind: RecordKind): Promise<T | null> {
    try {
      const reply = await requestAPI<IRecordReply<T>>(
        `runs/${enc(runId)}/records/${kind}`,
        this.serverSettings
      );
      return reply.record;
    } catch (error) {
      if (isNotFound(error)) {
        return null;
      }
      throw error;
    }
  }

  async snapshot(runId: string): Promise<ISnapshotReply | null> {
    try {
      return await requestAPI<ISnapshotReply>(
        `runs/${enc(runId)}/snapshot`,
        this.serverSettings
      );
    } catch (error) {
      if (isNotFound(error)) {
        return null;
      }
      throw error;
    }
  }

  diff(base: string, other: string, parts: IDiffParts): Promise<IDiffReply> {
    const chosen = (Object.keys(parts) as Array<keyof IDiffParts>).filter(
      key => parts[key]
    );
    return requestAPI<IDiffReply>(
      `runs/${enc(base)}/snapshot/diff`,
      this.serverSettings,
      {},
      { other, parts: chosen.join(',') }
    );
  }
}

/**
 * Whether an error is the server's 404.
 */
export function isNotFound(error: unknown): boolean {
  return (
    error instanceof ServerConnection.ResponseError &&
    error.response.status === 404
  );
}

function enc(part: string): string {
  return encodeURIComponent(part);
}
