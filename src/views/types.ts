/**
 * Shapes of the jupyter-mm REST replies the run, compare and diff views use
 * (`jupyter_mm/server/openapi.yaml` is the contract).
 */

/**
 * An inclusive range; either end may be null (open).
 */
export type Range = [number | null, number | null];

/**
 * Body of `POST metrics/history`.
 */
export interface IHistoryQuery {
  run_ids: string[];
  keys?: string[];
  max_points?: number;
  step_range?: Range;
  time_range?: Range;
}

/**
 * Kinds of `%%track` record.
 */
export type RecordKind = 'environment' | 'git' | 'execution-log' | 'cell';

/**
 * `GET runs/{id}/records/{kind}`.
 */
export interface IRecordReply<T = unknown> {
  run_id: string;
  kind: string;
  path: string;
  record: T;
}

/**
 * The `.mm/cell.json` record: the tracked cell.
 */
export interface ICellRecord {
  cell_id?: string | null;
  execution_count?: number | null;
  source?: string;
  outputs?: IOutputLike[];
  started?: number | null;
  ended?: number | null;
}

/**
 * An nbformat output, kept loose (rendered only through the rendermime registry).
 */
export interface IOutputLike {
  output_type: string;
  [key: string]: unknown;
}

/**
 * The `.mm/environment.json` record (the fields the overview shows).
 */
export interface IEnvironmentRecord {
  python?: { version?: string; implementation?: string; executable?: string };
  platform?: { system?: string; machine?: string; release?: string };
  hostname?: string;
  cpu?: { count?: number; model?: string | null };
  gpus?: unknown[];
  memory_bytes?: number | null;
  packages?: Record<string, string>;
  conda?: unknown;
}

/**
 * The `.mm/git.json` record.
 */
export interface IGitRecord {
  root?: string | null;
  commit?: string | null;
  branch?: string | null;
  remote_url?: string | null;
  dirty?: boolean | null;
  untracked?: number | null;
  diff?: string | null;
  errors?: string[];
}

/**
 * The `.mm/execution_log.json` record.
 */
export interface IExecutionLogRecord {
  entries?: unknown[];
  flags?: {
    out_of_order?: boolean;
    edited_after_run?: unknown[];
    missing_cells?: unknown[];
    document?: string;
  };
}

/**
 * A notebook document (nbformat 4), kept loose.
 */
export interface INotebookLike {
  nbformat: number;
  nbformat_minor: number;
  metadata: Record<string, unknown>;
  cells: Array<Record<string, unknown>>;
}

/**
 * `GET runs/{id}/snapshot`.
 */
export interface ISnapshotReply {
  run_id: string;
  phase: string;
  source: string;
  notebook: INotebookLike;
}

/**
 * Which parts of the notebooks a diff compares.
 */
export interface IDiffParts {
  sources: boolean;
  outputs: boolean;
  metadata: boolean;
}

/**
 * `GET runs/{id}/snapshot/diff`.
 */
export interface IDiffReply {
  base: {
    run_id: string;
    source: string;
    cells: number;
    notebook: INotebookLike;
  };
  other: { run_id: string; source: string; cells: number };
  parts: IDiffParts;
  cells: { added: number; removed: number; modified: number };
  diff: any[];
}
