/**
 * Typed wrappers of the retraining REST API (`registry/models/{name}/retrainings`,
 * `registry/models/{name}/retraining-policy`; `docs/retraining.md`, contract in
 * `server/openapi.yaml`).
 */

import { ServerConnection } from '@jupyterlab/services';

import { callAPI } from '../request';
import type { IRetraining, IRetrainingPolicy } from '../schema';

/**
 * How many of a model's retrainings the version view lists.
 */
export const RECENT_RETRAININGS = 20;

/**
 * A retraining's states once it will not change on its own here (`running` is
 * the only one a job still moves on).
 */
export function isSettled(r: IRetraining): boolean {
  return r.state !== 'running';
}

/**
 * The retraining calls; the tests use the real class over a fake `fetch`.
 */
export interface IRetrainingApi {
  list(name: string): Promise<IRetraining[]>;
  policy(name: string): Promise<IRetrainingPolicy | null>;
  start(name: string, params: Record<string, string>): Promise<IRetraining>;
}

export class RetrainingAPI implements IRetrainingApi {
  constructor(readonly serverSettings: ServerConnection.ISettings) {}

  async list(name: string): Promise<IRetraining[]> {
    const reply = await callAPI<{ retrainings: IRetraining[] }>(
      this.serverSettings,
      `${modelPath(name)}/retrainings`,
      'GET',
      undefined,
      { max_results: String(RECENT_RETRAININGS) }
    );
    return reply.retrainings;
  }

  async policy(name: string): Promise<IRetrainingPolicy | null> {
    const reply = await callAPI<{ policy: IRetrainingPolicy | null }>(
      this.serverSettings,
      `${modelPath(name)}/retraining-policy`
    );
    return reply.policy;
  }

  start(name: string, params: Record<string, string>): Promise<IRetraining> {
    return callAPI<IRetraining>(
      this.serverSettings,
      `${modelPath(name)}/retrainings`,
      'POST',
      { params }
    );
  }
}

function modelPath(name: string): string {
  return `registry/models/${encodeURIComponent(name)}`;
}
