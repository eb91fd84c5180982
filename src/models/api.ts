/**
 * Typed wrappers of the registry REST API (`jupyter-mm/api/registry/...`,
 * `docs/rest-api.md` "The registry"; contract in `server/openapi.yaml`).
 */

import { ServerConnection } from '@jupyterlab/services';

import { callAPI } from '../request';
import type {
  IRegistryPolicy,
  IRun,
  IRunModelsReply,
  IModelMonitoring,
  IVersionMonitoringReport,
  IReferenceReply,
  IReproducibilityReply
} from '../schema';

export type ApprovalStatus = 'PendingManualApproval' | 'Approved' | 'Rejected';

export interface IApproval {
  status: ApprovalStatus | string;
  requested_by: string | null;
  requested_time: number | null;
  request_comment: string | null;
  evidence: string[];
  decided_by: string | null;
  decided_time: number | null;
  decision_comment: string | null;
}

export interface IRegisteredModel {
  name: string;
  description: string | null;
  owner: string | null;
  creation_time: number | null;
  last_update_time: number | null;
  tags: Record<string, string>;
  aliases: Record<string, number>;
  last_version: number | null;
}

export interface IModelVersion {
  name: string;
  version: number;
  source: string;
  run_id: string | null;
  logged_model_id?: string | null;
  model_path: string | null;
  status: string;
  stage?: string | null;
  /**
   * `deprecated` keeps serving; `archived` never serves (MLflow's Archived stage).
   */
  lifecycle?: Lifecycle;
  /**
   * Why it was deprecated (null: it is not).
   */
  deprecation?: string | null;
  description: string | null;
  user_id: string | null;
  creation_time: number | null;
  last_update_time: number | null;
  tags: Record<string, string>;
  aliases: string[];
  approval: IApproval | null;
}

export interface IAuditEntry {
  seq: number;
  time: number;
  time_utc: string;
  actor: string;
  action: string;
  model_id?: number | null;
  model: string | null;
  version: number | null;
  alias: string | null;
  from: any;
  to: any;
  comment: string | null;
  hash?: string;
  prev_hash?: string | null;
}

export interface IArtifactRef {
  path: string;
  digest: string;
  size: number;
}

export interface ILineage {
  model: IModelVersion;
  run: {
    id: string;
    name: string;
    experiment_id?: string;
    experiment?: string;
    status: string;
    user: string | null;
    start_time: number | null;
    end_time: number | null;
    params: Record<string, string>;
    metrics: Record<string, number | string>;
    notebook_path: string | null;
  } | null;
  model_files: {
    path: string;
    files: number;
    size: number;
    mlmodel_digest: string | null;
    flavors: string[];
    signature: { inputs?: string; outputs?: string } | null;
  } | null;
  notebook: {
    snapshot: (IArtifactRef & { phase: string; source: string }) | null;
    cell:
      | (IArtifactRef & {
          cell_id: string | null;
          execution_count: number | null;
        })
      | null;
  };
  execution_log:
    | (IArtifactRef & {
        entries: number;
        out_of_order: boolean;
        hidden_state: boolean;
        edited_after_run: string[];
        missing_cells: string[];
      })
    | null;
  datasets: Array<{
    name: string;
    digest: string;
    context: string | null;
    source?: string | null;
    source_type?: string | null;
    row_count?: number | null;
  }>;
  environment:
    | (IArtifactRef & {
        python: string | null;
        implementation?: string | null;
        platform: string | null;
        fingerprint: string | null;
        key_packages: Record<string, string>;
        packages: number;
      })
    | null;
  git:
    | (IArtifactRef & {
        commit: string | null;
        branch: string | null;
        dirty: boolean | null;
        remote: string | null;
      })
    | null;
  missing: Array<{ part: string; reason: string }>;
}

export type CardFormat = 'markdown' | 'html' | 'json';

/**
 * The human-written model card fields, in the order the card shows them.
 */
export const CARD_FIELDS: ReadonlyArray<{ key: string; title: string }> = [
  { key: 'intended_use', title: 'Intended use' },
  { key: 'users', title: 'Intended users' },
  { key: 'limitations', title: 'Limitations' },
  { key: 'tradeoffs', title: 'Trade-offs' },
  { key: 'ethical_considerations', title: 'Ethical considerations' }
];

export interface ICardReply {
  name: string;
  version: number;
  format: CardFormat;
  card: any;
  fields: Record<string, string | null>;
}

export type Decision = 'request' | 'approve' | 'reject';

export type Lifecycle = 'active' | 'deprecated' | 'archived';

/**
 * The registry calls of the Models panel and version view; the tests give a fake.
 */
export interface IRegistryApi {
  searchModels(filter: string): Promise<IRegisteredModel[]>;
  createModel(name: string, description?: string): Promise<IRegisteredModel>;
  getModel(name: string): Promise<IRegisteredModel>;
  versions(name: string): Promise<IModelVersion[]>;
  getVersion(name: string, version: number): Promise<IModelVersion>;
  createVersion(
    name: string,
    runId: string,
    path: string,
    comment?: string
  ): Promise<IModelVersion>;
  decide(
    name: string,
    version: number,
    decision: Decision,
    comment: string,
    evidence?: string[]
  ): Promise<IModelVersion>;
  setAlias(
    name: string,
    alias: string,
    version: number,
    comment: string
  ): Promise<IModelVersion>;
  deleteAlias(name: string, alias: string, comment: string): Promise<void>;
  setLifecycle(
    name: string,
    version: number,
    lifecycle: Lifecycle,
    reason: string
  ): Promise<IModelVersion>;
  audit(name: string): Promise<IAuditEntry[]>;
  lineage(name: string, version: number): Promise<ILineage>;
  reproducibility(
    name: string,
    version: number
  ): Promise<IReproducibilityReply>;
  card(name: string, version: number, format: CardFormat): Promise<ICardReply>;
  updateCard(
    name: string,
    version: number,
    fields: Record<string, string | null>,
    comment: string
  ): Promise<ICardReply>;
  monitoring(name: string): Promise<IModelMonitoring>;
  monitoringReport(
    name: string,
    version: number
  ): Promise<IVersionMonitoringReport>;
  referenceProfile(name: string, version: number): Promise<IReferenceReply>;
  /**
   * The policy in force for a model (store-wide when `name` is null).
   */
  policy?(name: string | null): Promise<IRegistryPolicy>;
  /**
   * Change the store-wide policy (audited, with the reason).
   */
  setPolicy?(
    change: { four_eyes?: boolean },
    comment: string
  ): Promise<IRegistryPolicy>;
  /**
   * A run's models of both kinds and the versions registered from it.
   */
  runModels?(runId: string): Promise<IRunModelsReply>;
  /**
   * A run (a version's source run: its name and metrics).
   */
  getRun?(runId: string): Promise<IRun>;
}

function enc(part: string): string {
  return encodeURIComponent(part);
}

function versionPath(name: string, version: number): string {
  if (!Number.isInteger(version) || version < 1) {
    throw new Error(`not a version number: ${JSON.stringify(version)}`);
  }
  return `registry/models/${enc(name)}/versions/${version}`;
}

function aliasPath(name: string, alias: string): string {
  return `registry/models/${enc(name)}/aliases/${enc(alias)}`;
}

/**
 * The registry REST API of the running Jupyter server.
 */
export class RegistryAPI implements IRegistryApi {
  constructor(readonly serverSettings: ServerConnection.ISettings) {}

  private _call<T>(
    path: string,
    method = 'GET',
    body?: unknown,
    query: Record<string, string> = {}
  ): Promise<T> {
    return callAPI<T>(this.serverSettings, path, method, body, query);
  }

  async searchModels(filter: string): Promise<IRegisteredModel[]> {
    const query: Record<string, string> = { max_results: '1000' };
    if (filter.trim()) {
      query.filter = filter.trim();
    }
    const reply = await this._call<{ models: IRegisteredModel[] }>(
      'registry/models',
      'GET',
      undefined,
      query
    );
    return reply.models;
  }

  createModel(name: string, description?: string): Promise<IRegisteredModel> {
    return this._call('registry/models', 'POST', {
      name,
      ...(description ? { description } : {})
    });
  }

  getModel(name: string): Promise<IRegisteredModel> {
    return this._call(`registry/models/${enc(name)}`);
  }

  async versions(name: string): Promise<IModelVersion[]> {
    const reply = await this._call<{ versions: IModelVersion[] }>(
      `registry/models/${enc(name)}/versions`
    );
    return reply.versions;
  }

  getVersion(name: string, version: number): Promise<IModelVersion> {
    return this._call(versionPath(name, version));
  }

  /**
   * `path` is the model's directory in the run, or a model URI such as an
   * MLflow logged model's `models:/m-…` (registered as that logged model).
   */
  createVersion(
    name: string,
    runId: string,
    path: string,
    comment = ''
  ): Promise<IModelVersion> {
    const body = /^models:\//.test(path)
      ? { source: path, comment }
      : { run_id: runId, path, comment };
    return this._call(`registry/models/${enc(name)}/versions`, 'POST', body);
  }

  policy(name: string | null): Promise<IRegistryPolicy> {
    return this._call(
      name === null ? 'registry/policy' : `registry/models/${enc(name)}/policy`
    );
  }

  setPolicy(
    change: { four_eyes?: boolean },
    comment: string
  ): Promise<IRegistryPolicy> {
    return this._call('registry/policy', 'PUT', { ...change, comment });
  }

  getRun(runId: string): Promise<IRun> {
    return this._call(`runs/${enc(runId)}`);
  }

  runModels(runId: string): Promise<IRunModelsReply> {
    return this._call(`runs/${enc(runId)}/models`);
  }

  decide(
    name: string,
    version: number,
    decision: Decision,
    comment: string,
    evidence?: string[]
  ): Promise<IModelVersion> {
    const body: Record<string, unknown> = { comment };
    if (decision === 'request' && evidence && evidence.length > 0) {
      body.evidence = evidence;
    }
    return this._call(
      `${versionPath(name, version)}/approval/${decision}`,
      'POST',
      body
    );
  }

  setAlias(
    name: string,
    alias: string,
    version: number,
    comment: string
  ): Promise<IModelVersion> {
    return this._call(aliasPath(name, alias), 'PUT', { version, comment });
  }

  async deleteAlias(
    name: string,
    alias: string,
    comment: string
  ): Promise<void> {
    await this._call(
      aliasPath(name, alias),
      'DELETE',
      undefined,
      comment ? { comment } : {}
    );
  }

  setLifecycle(
    name: string,
    version: number,
    lifecycle: Lifecycle,
    reason: string
  ): Promise<IModelVersion> {
    return this._call(`${versionPath(name, version)}/lifecycle`, 'PUT', {
      lifecycle,
      ...(reason ? { reason } : {})
    });
  }

  async audit(name: string): Promise<IAuditEntry[]> {
    const reply = await this._call<{ entries: IAuditEntry[] }>(
      'registry/audit',
      'GET',
      undefined,
      { model: name }
    );
    return reply.entries;
  }

  lineage(name: string, version: number): Promise<ILineage> {
    return this._call(`${versionPath(name, version)}/lineage`);
  }

  reproducibility(
    name: string,
    version: number
  ): Promise<IReproducibilityReply> {
    return this._call(`${versionPath(name, version)}/reproducibility`);
  }

  card(name: string, version: number, format: CardFormat): Promise<ICardReply> {
    return this._call(`${versionPath(name, version)}/card`, 'GET', undefined, {
      format
    });
  }

  updateCard(
    name: string,
    version: number,
    fields: Record<string, string | null>,
    comment: string
  ): Promise<ICardReply> {
    return this._call(`${versionPath(name, version)}/card`, 'PATCH', {
      ...fields,
      comment
    });
  }

  /**
   * The version's reference profile and its digest (both null without one).
   */
  referenceProfile(name: string, version: number): Promise<IReferenceReply> {
    return this._call(`${versionPath(name, version)}/reference`);
  }

  /**
   * Each version's monitoring status, latest evaluation and its last
   * `MONITORING_HISTORY` evaluations.
   */
  monitoring(name: string): Promise<IModelMonitoring> {
    return this._call(
      `registry/models/${enc(name)}/monitoring`,
      'GET',
      undefined,
      { history: String(MONITORING_HISTORY) }
    );
  }

  /**
   * The version's latest evaluation as a report (distributions on the same
   * bins) and each statistic over its last `MONITORING_HISTORY` evaluations.
   */
  monitoringReport(
    name: string,
    version: number
  ): Promise<IVersionMonitoringReport> {
    return this._call(
      `${versionPath(name, version)}/monitoring`,
      'GET',
      undefined,
      {
        history: String(MONITORING_HISTORY)
      }
    );
  }
}

/**
 * How many evaluations per version the version view lists.
 */
export const MONITORING_HISTORY = 50;

/**
 * The message of a failed call, saying plainly when it was a policy refusal
 * (403, e.g. four eyes: the requester cannot decide their own request).
 */
export function errorText(error: unknown): string {
  if (error instanceof ServerConnection.ResponseError) {
    const status = error.response.status;
    const message = error.message || error.response.statusText;
    if (status === 403) {
      return `Refused (403): ${message}`;
    }
    if (status === 404) {
      return `Not found: ${message}`;
    }
    return message;
  }
  return error instanceof Error ? error.message : String(error);
}
