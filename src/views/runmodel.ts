/**
 * The run view's model: one run's data loaded from the REST API, kept current by the store's
 * live events, and the overview facts derived from it. The components under `components/`
 * render it; `runview.tsx` assembles them.
 */

import { ISignal, Signal } from '@lumino/signaling';

import { ViewsAPI } from './api';
import { Coalescer } from './live';
import { formatDuration } from './metrics';
import {
  ICellRecord,
  IEnvironmentRecord,
  IExecutionLogRecord,
  IGitRecord,
  ISnapshotReply,
  RecordKind
} from './types';
import { IStoreEvent } from '../storeEvents';
import {
  IArtifact,
  IDataset,
  IFullRun as IRun,
  IRunModelsReply
} from '../schema';
import { errorText } from '../format';

/**
 * Tags the tracking writes itself; shown apart from the user's tags.
 */
export function isSystemTag(key: string): boolean {
  return key.startsWith('mm.') || key.startsWith('mlflow.');
}

/**
 * The artifact each record of a `%%track` cell is kept as
 * (`jupyter_mm/core/records.py`); a snapshot is any file under `.mm/notebook/`.
 */
const RECORD_FILES: Record<RecordKind, string> = {
  cell: '.mm/cell.json',
  environment: '.mm/environment.json',
  git: '.mm/git.json',
  'execution-log': '.mm/execution_log.json'
};

/**
 * Which records (and whether a notebook snapshot) a run's artifacts hold.
 */
export function recordsOf(
  artifacts: ReadonlyArray<Pick<IArtifact, 'path'>>
): Set<RecordKind | 'snapshot'> {
  const paths = new Set(artifacts.map(a => a.path));
  const out = new Set<RecordKind | 'snapshot'>();
  (Object.keys(RECORD_FILES) as RecordKind[]).forEach(kind => {
    if (paths.has(RECORD_FILES[kind])) {
      out.add(kind);
    }
  });
  if (artifacts.some(a => a.path.startsWith('.mm/notebook/'))) {
    out.add('snapshot');
  }
  return out;
}

/**
 * A run's data for the run view, loaded from the REST API.
 */
export class RunViewModel {
  constructor(
    readonly api: ViewsAPI,
    readonly runId: string
  ) {}

  run: IRun | null = null;
  error: string | null = null;
  cell: ICellRecord | null = null;
  environment: IEnvironmentRecord | null = null;
  git: IGitRecord | null = null;
  executionLog: IExecutionLogRecord | null = null;
  datasets: IDataset[] = [];
  artifacts: IArtifact[] = [];
  snapshot: ISnapshotReply | null = null;
  /**
   * The run's models (both kinds) and the versions registered from it.
   */
  models: IRunModelsReply | null = null;
  /**
   * Increases with each batch of new metric points (live updates).
   */
  metricsTick = 0;

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /**
   * Load everything: the run first (the view shows it at once), then the rest.
   */
  async load(): Promise<void> {
    await this.reloadRun();
    if (!this.run) {
      return;
    }
    // The artifact list says which records the run has: only those are
    // asked for (a run without records costs no 404s).
    await this.reloadFiles();
    await this.reloadRecords();
  }

  async reloadRun(): Promise<void> {
    try {
      this.run = await this.api.getRun(this.runId);
      this.error = null;
    } catch (error) {
      this.error = errorText(error);
    }
    this._changed.emit();
  }

  async reloadRecords(): Promise<void> {
    const id = this.runId;
    const has = recordsOf(this.artifacts);
    const quiet = <T>(
      kind: RecordKind | 'snapshot',
      load: () => Promise<T | null>
    ): Promise<T | null> =>
      has.has(kind) ? load().catch(() => null) : Promise.resolve(null);
    const [cell, environment, git, executionLog, snapshot] = await Promise.all([
      quiet('cell', () => this.api.record<ICellRecord>(id, 'cell')),
      quiet('environment', () =>
        this.api.record<IEnvironmentRecord>(id, 'environment')
      ),
      quiet('git', () => this.api.record<IGitRecord>(id, 'git')),
      quiet('execution-log', () =>
        this.api.record<IExecutionLogRecord>(id, 'execution-log')
      ),
      quiet('snapshot', () => this.api.snapshot(id))
    ]);
    Object.assign(this, { cell, environment, git, executionLog, snapshot });
    this._changed.emit();
  }

  async reloadFiles(): Promise<void> {
    const [datasets, artifacts, models] = await Promise.all([
      this.api.datasets(this.runId).catch(() => [] as IDataset[]),
      this.api.artifacts(this.runId).catch(() => [] as IArtifact[]),
      this.api.runModels(this.runId).catch(() => null)
    ]);
    this.models = models;
    this.datasets = datasets;
    this.artifacts = artifacts;
    this._changed.emit();
  }

  /**
   * A store event about this run (live updates). Metric points are
   * coalesced: charts re-query at most once a second.
   */
  storeEvent(event: IStoreEvent): void {
    if (this._disposed || event.run_id !== this.runId) {
      return;
    }
    if (event.action === 'metrics-appended') {
      this._live.add(event.keys ?? []);
    } else if (event.action === 'run-finished') {
      // The cell record, snapshot and artifacts are written at the end,
      // with the last metric points.
      void this.load().then(() => this.metricsAppended([]));
    } else {
      void this.reloadRun();
    }
  }

  /**
   * Events were missed: load the run again and re-query every chart.
   */
  resync(): void {
    if (!this._disposed) {
      void this.load().then(() => this.metricsAppended([]));
    }
  }

  /**
   * Stop following the store's events.
   */
  dispose(): void {
    this._disposed = true;
    this._live.dispose();
  }

  /**
   * New metric points arrived: charts query again; new keys need the run.
   */
  metricsAppended(keys: string[]): void {
    this.metricsTick++;
    const known = this.run ? Object.keys(this.run.metrics) : [];
    if (keys.some(k => !known.includes(k))) {
      void this.reloadRun();
    } else {
      this._changed.emit();
    }
  }

  async setNotes(notes: string): Promise<void> {
    this.run = await this.api.patchRun(this.runId, { notes });
    this._changed.emit();
  }

  async setTag(key: string, value: string): Promise<void> {
    this.run = await this.api.patchRun(this.runId, { tags: { [key]: value } });
    this._changed.emit();
  }

  async removeTag(key: string): Promise<void> {
    await this.api.deleteTag(this.runId, key);
    await this.reloadRun();
  }

  private _changed = new Signal<this, void>(this);
  private _disposed = false;
  private _live = new Coalescer<string>(keys =>
    this.metricsAppended(Array.from(new Set(keys)))
  );
}

/**
 * Overview facts of a run as label/value pairs (pure: tested on its own).
 */
export function overviewItems(
  model: Pick<
    RunViewModel,
    'run' | 'cell' | 'git' | 'environment' | 'executionLog' | 'snapshot'
  >,
  now: number = Date.now()
): Array<[string, string]> {
  const run = model.run!;
  const tags = run.tags;
  const items: Array<[string, string]> = [];
  const end = run.end_time ?? (run.status === 'RUNNING' ? now : null);
  items.push(['Status', run.status]);
  items.push([
    'Duration',
    end === null
      ? '—'
      : formatDuration(end - run.start_time) +
        (run.status === 'RUNNING' ? ' (running)' : '')
  ]);
  items.push(['Started', new Date(run.start_time).toLocaleString()]);
  items.push(['User', run.user || '—']);
  items.push(['Experiment', run.experiment ?? run.experiment_id]);
  const notebook = tags['mm.notebook.path'] ?? tags['mm.notebook.file'] ?? null;
  items.push(['Notebook', notebook ?? '—']);
  const cellId = model.cell?.cell_id ?? tags['mm.cell.id'] ?? null;
  const count =
    model.cell?.execution_count ?? tags['mm.cell.execution_count'] ?? null;
  items.push([
    'Cell',
    cellId || count !== null
      ? [cellId ? `id ${cellId}` : null, count !== null ? `[${count}]` : null]
          .filter(Boolean)
          .join(' ')
      : '—'
  ]);
  const git = model.git;
  if (git && git.commit) {
    items.push([
      'Git',
      `${git.branch ?? '(detached)'} @ ${git.commit.slice(0, 10)}` +
        (git.dirty ? ' (uncommitted changes)' : '') +
        (git.remote_url ? ` · ${git.remote_url}` : '')
    ]);
  } else {
    items.push(['Git', git ? 'no commit' : '—']);
  }
  const env = model.environment;
  if (env) {
    const parts = [
      env.python?.version
        ? `${env.python.implementation ?? 'Python'} ${env.python.version}`
        : null,
      env.platform?.system
        ? `${env.platform.system} ${env.platform.machine ?? ''}`.trim()
        : null,
      env.packages ? `${Object.keys(env.packages).length} packages` : null,
      env.cpu?.count ? `${env.cpu.count} CPUs` : null,
      env.gpus && env.gpus.length ? `${env.gpus.length} GPUs` : null,
      env.hostname ?? null
    ].filter(Boolean);
    items.push(['Environment', parts.join(' · ') || '—']);
  } else {
    items.push(['Environment', '—']);
  }
  const flags = model.executionLog?.flags;
  const outOfOrder =
    flags?.out_of_order ?? (tags['mm.out_of_order'] === 'true' ? true : null);
  const hidden =
    flags?.edited_after_run !== undefined
      ? flags.edited_after_run.length > 0
      : tags['mm.hidden_state'] === 'true'
        ? true
        : null;
  const warnings = [
    outOfOrder ? 'cells ran out of order' : null,
    hidden ? 'hidden state: a cell changed after it ran' : null
  ].filter(Boolean);
  items.push([
    'Execution',
    outOfOrder === null && hidden === null
      ? '—'
      : warnings.length
        ? `⚠ ${warnings.join('; ')}`
        : 'in order, no hidden state'
  ]);
  if (model.snapshot) {
    items.push([
      'Snapshot',
      `${model.snapshot.phase} (${model.snapshot.source})`
    ]);
  }
  return items;
}
