/**
 * The run view: one main-area tab per run with its overview, params, metric
 * charts, editable tags and notes, datasets, artifacts with previews, the
 * tracked cell's outputs and the notebook snapshot.
 *
 * All run data is user text and is rendered as React text nodes; outputs and
 * notebooks go through the rendermime registry untrusted (sanitised).
 */

import * as React from 'react';

import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ReactWidget } from '@jupyterlab/ui-components';
import { ISignal, Signal } from '@lumino/signaling';

import { PREVIEW_BYTES, ViewsAPI } from './api';
import {
  formatBytes,
  imageType,
  parseCSV,
  previewKind,
  PreviewKind
} from './artifacts';
import { IChartSettings } from './chart';
import { Coalescer } from './live';
import { formatDuration, formatValue } from './metrics';
import { renderNotebook, renderOutputs } from './render';
import {
  IArtifact,
  ICellRecord,
  IDataset,
  IEnvironmentRecord,
  IExecutionLogRecord,
  IGitRecord,
  IRun,
  ISnapshotReply,
  IStoreEvent
} from './types';
import {
  ChartControls,
  ChartView,
  errorMessage,
  StatusBadge,
  WidgetHost
} from './widgets';

/**
 * Tags the tracking writes itself; shown apart from the user's tags.
 */
export function isSystemTag(key: string): boolean {
  return key.startsWith('mm.') || key.startsWith('mlflow.');
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
    await Promise.all([this.reloadRecords(), this.reloadFiles()]);
  }

  async reloadRun(): Promise<void> {
    try {
      this.run = await this.api.getRun(this.runId);
      this.error = null;
    } catch (error) {
      this.error = errorMessage(error);
    }
    this._changed.emit();
  }

  async reloadRecords(): Promise<void> {
    const id = this.runId;
    const quiet = <T,>(p: Promise<T>, fallback: T) => p.catch(() => fallback);
    const [cell, environment, git, executionLog, snapshot] = await Promise.all([
      quiet(this.api.record<ICellRecord>(id, 'cell'), null),
      quiet(this.api.record<IEnvironmentRecord>(id, 'environment'), null),
      quiet(this.api.record<IGitRecord>(id, 'git'), null),
      quiet(this.api.record<IExecutionLogRecord>(id, 'execution-log'), null),
      quiet(this.api.snapshot(id), null)
    ]);
    Object.assign(this, { cell, environment, git, executionLog, snapshot });
    this._changed.emit();
  }

  async reloadFiles(): Promise<void> {
    const [datasets, artifacts] = await Promise.all([
      this.api.datasets(this.runId).catch(() => [] as IDataset[]),
      this.api.artifacts(this.runId).catch(() => [] as IArtifact[])
    ]);
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
 * What the run view needs besides its model.
 */
export interface IRunViewContext {
  rendermime: IRenderMimeRegistry;
  /**
   * Restore the run's snapshot into a new notebook.
   */
  restoreSnapshot: (runId: string) => Promise<void>;
}

/**
 * The run view's main-area content.
 */
export class RunViewWidget extends ReactWidget {
  constructor(
    readonly model: RunViewModel,
    private _context: IRunViewContext
  ) {
    super();
    this.addClass('jp-mm-view');
    this.addClass('jp-mm-runview');
    this.id = `jupyter-mm-run-${model.runId}-content`;
    model.changed.connect(() => this.update(), this);
  }

  get runId(): string {
    return this.model.runId;
  }

  dispose(): void {
    this.model.dispose();
    Signal.clearData(this);
    super.dispose();
  }

  render(): JSX.Element {
    return <RunView model={this.model} context={this._context} />;
  }
}

/**
 * The whole run view.
 */
export function RunView(props: {
  model: RunViewModel;
  context: IRunViewContext;
}): JSX.Element {
  const { model, context } = props;
  const run = model.run;
  if (!run) {
    return (
      <div className="jp-mm-view-body">
        {model.error ? (
          <p className="jp-mm-error" role="alert">
            Could not load run {model.runId}: {model.error}
          </p>
        ) : (
          <p className="jp-mm-loading">Loading run {model.runId}…</p>
        )}
      </div>
    );
  }
  return (
    <div className="jp-mm-view-body">
      <header className="jp-mm-view-header">
        <h1 className="jp-mm-view-title">{run.name || run.id}</h1>
        <StatusBadge status={run.status} />
        <code className="jp-mm-runid" title="run id">
          {run.id}
        </code>
        <button
          className="jp-mm-button jp-mod-styled"
          disabled={!model.snapshot}
          title={
            model.snapshot
              ? 'Create a new notebook with this run’s notebook snapshot'
              : 'This run has no notebook snapshot'
          }
          onClick={() => void context.restoreSnapshot(run.id)}
        >
          Restore snapshot to a new notebook
        </button>
      </header>
      {model.error && (
        <p className="jp-mm-error" role="alert">
          {model.error}
        </p>
      )}
      <Overview model={model} />
      <Section title="Params" count={Object.keys(run.params).length}>
        <KeyValueTable values={run.params} empty="No params." />
      </Section>
      <MetricsSection model={model} />
      <Section title="Tags and notes">
        <TagEditor model={model} />
        <NotesEditor model={model} />
      </Section>
      <Section title="Datasets" count={model.datasets.length}>
        <DatasetsTable datasets={model.datasets} />
      </Section>
      <Section
        title="Artifacts"
        count={model.artifacts.filter(a => !a.is_dir).length}
      >
        <ArtifactBrowser model={model} rendermime={context.rendermime} />
      </Section>
      <Section title="Tracked cell">
        <CellSection model={model} rendermime={context.rendermime} />
      </Section>
      <Section title="Notebook snapshot" collapsed>
        <SnapshotSection model={model} rendermime={context.rendermime} />
      </Section>
    </div>
  );
}

/**
 * A titled, collapsible section (a `<details>`, keyboard accessible).
 */
/**
 * Which sections the user opened or closed, by title: kept across re-mounts of a view (a reload
 * that re-renders it) and shared by the run views, so a section stays as the user left it.
 */
const openSections = new Map<string, boolean>();

export function Section(props: {
  title: string;
  count?: number;
  collapsed?: boolean;
  children?: React.ReactNode;
}): JSX.Element {
  const [open, setOpenState] = React.useState(
    openSections.get(props.title) ?? !props.collapsed
  );
  const setOpen = (update: (o: boolean) => boolean) =>
    setOpenState(o => {
      const next = update(o);
      openSections.set(props.title, next);
      return next;
    });
  // The state, not the element, decides: with the native toggle, a re-render landing between a
  // click and its (asynchronous) toggle event would put the old state back and close the section.
  // A summary's click also comes from Enter and Space, so the keyboard still works.
  return (
    <details className="jp-mm-section" open={open}>
      <summary
        className="jp-mm-section-title"
        onClick={e => {
          e.preventDefault();
          setOpen(o => !o);
        }}
      >
        {props.title}
        {props.count !== undefined && (
          <span className="jp-mm-count"> ({props.count})</span>
        )}
      </summary>
      {open && <div className="jp-mm-section-body">{props.children}</div>}
    </details>
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

function Overview(props: { model: RunViewModel }): JSX.Element {
  const items = overviewItems(props.model);
  return (
    <Section title="Overview">
      <dl className="jp-mm-overview">
        {items.map(([label, value]) => (
          <React.Fragment key={label}>
            <dt>{label}</dt>
            <dd
              className={value.startsWith('⚠') ? 'jp-mm-warning' : undefined}
              data-label={label}
            >
              {value}
            </dd>
          </React.Fragment>
        ))}
      </dl>
    </Section>
  );
}

/**
 * Keys and values as a two-column table of text.
 */
export function KeyValueTable(props: {
  values: Record<string, string | number>;
  empty: string;
}): JSX.Element {
  const keys = Object.keys(props.values).sort();
  if (!keys.length) {
    return <p className="jp-mm-empty">{props.empty}</p>;
  }
  return (
    <table className="jp-mm-table jp-mm-kv">
      <tbody>
        {keys.map(k => (
          <tr key={k}>
            <th scope="row">{k}</th>
            <td>{formatValue(props.values[k])}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function MetricsSection(props: { model: RunViewModel }): JSX.Element {
  const { model } = props;
  const run = model.run!;
  const [settings, setSettings] = React.useState<IChartSettings>({
    axis: 'step',
    smoothing: 0,
    logY: false
  });
  const keys = Object.keys(run.metrics).sort();
  return (
    <Section title="Metrics" count={keys.length}>
      {keys.length === 0 ? (
        <p className="jp-mm-empty">No metrics.</p>
      ) : (
        <>
          <ChartControls settings={settings} onChange={setSettings} />
          <KeyValueTable values={run.metrics} empty="" />
          <div className="jp-mm-charts">
            {keys.map(key => (
              <ChartView
                key={key}
                api={model.api}
                runIds={[run.id]}
                keys={[key]}
                title={key}
                startTimes={{ [run.id]: run.start_time }}
                settings={settings}
                tick={model.metricsTick}
              />
            ))}
          </div>
        </>
      )}
    </Section>
  );
}

function TagEditor(props: { model: RunViewModel }): JSX.Element {
  const { model } = props;
  const tags = model.run!.tags;
  const [key, setKey] = React.useState('');
  const [value, setValue] = React.useState('');
  const [error, setError] = React.useState<string | null>(null);
  const userKeys = Object.keys(tags)
    .filter(k => !isSystemTag(k))
    .sort();
  const systemKeys = Object.keys(tags).filter(isSystemTag).sort();
  const act = async (work: () => Promise<void>) => {
    try {
      await work();
      setError(null);
    } catch (e) {
      setError(errorMessage(e));
    }
  };
  return (
    <div className="jp-mm-tags">
      <h3 className="jp-mm-subtitle">Tags</h3>
      {userKeys.length === 0 && <p className="jp-mm-empty">No tags.</p>}
      <ul className="jp-mm-taglist">
        {userKeys.map(k => (
          <li key={k} className="jp-mm-tag">
            <span className="jp-mm-tag-key">{k}</span>
            {tags[k] !== '' && (
              <span className="jp-mm-tag-value">{tags[k]}</span>
            )}
            <button
              className="jp-mm-icon-button"
              aria-label={`Remove tag ${k}`}
              title={`Remove tag ${k}`}
              onClick={() => void act(() => model.removeTag(k))}
            >
              ×
            </button>
          </li>
        ))}
      </ul>
      <form
        className="jp-mm-tag-form"
        onSubmit={e => {
          e.preventDefault();
          const k = key.trim();
          if (!k) {
            return;
          }
          void act(async () => {
            await model.setTag(k, value);
            setKey('');
            setValue('');
          });
        }}
      >
        <input
          className="jp-mm-input"
          aria-label="New tag key"
          placeholder="key"
          value={key}
          onChange={e => setKey(e.target.value)}
        />
        <input
          className="jp-mm-input"
          aria-label="New tag value"
          placeholder="value"
          value={value}
          onChange={e => setValue(e.target.value)}
        />
        <button
          type="submit"
          className="jp-mm-button jp-mod-styled"
          disabled={!key.trim()}
        >
          Add tag
        </button>
      </form>
      {error && (
        <p className="jp-mm-error" role="alert">
          {error}
        </p>
      )}
      {systemKeys.length > 0 && (
        <details className="jp-mm-system-tags">
          <summary>System tags ({systemKeys.length})</summary>
          <KeyValueTable values={pick(tags, systemKeys)} empty="" />
        </details>
      )}
    </div>
  );
}

function pick(
  values: Record<string, string>,
  keys: string[]
): Record<string, string> {
  const out: Record<string, string> = {};
  keys.forEach(k => (out[k] = values[k]));
  return out;
}

function NotesEditor(props: { model: RunViewModel }): JSX.Element {
  const { model } = props;
  const saved = model.run!.notes ?? '';
  const [notes, setNotes] = React.useState(saved);
  const [state, setState] = React.useState<string | null>(null);
  React.useEffect(() => setNotes(saved), [saved]);
  return (
    <div className="jp-mm-notes">
      <h3 className="jp-mm-subtitle">
        <label htmlFor={`jp-mm-notes-${model.runId}`}>Notes</label>
      </h3>
      <textarea
        id={`jp-mm-notes-${model.runId}`}
        className="jp-mm-textarea"
        rows={4}
        value={notes}
        onChange={e => setNotes(e.target.value)}
      />
      <div className="jp-mm-notes-actions">
        <button
          className="jp-mm-button jp-mod-styled"
          disabled={notes === saved}
          onClick={() => {
            setState('Saving…');
            model.setNotes(notes).then(
              () => setState('Saved.'),
              e => setState(`Could not save: ${errorMessage(e)}`)
            );
          }}
        >
          Save notes
        </button>
        {state && <span className="jp-mm-notes-state">{state}</span>}
      </div>
    </div>
  );
}

function DatasetsTable(props: { datasets: IDataset[] }): JSX.Element {
  if (!props.datasets.length) {
    return <p className="jp-mm-empty">No datasets recorded.</p>;
  }
  return (
    <table className="jp-mm-table">
      <thead>
        <tr>
          <th scope="col">name</th>
          <th scope="col">context</th>
          <th scope="col">rows</th>
          <th scope="col">digest</th>
          <th scope="col">source</th>
        </tr>
      </thead>
      <tbody>
        {props.datasets.map(d => (
          <tr key={`${d.name}/${d.digest}/${d.context}`}>
            <td>{d.name}</td>
            <td>{d.context}</td>
            <td>{d.row_count ?? '—'}</td>
            <td>
              <code title={d.digest}>{d.digest.slice(0, 12)}</code>
            </td>
            <td>{d.source}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function ArtifactBrowser(props: {
  model: RunViewModel;
  rendermime: IRenderMimeRegistry;
}): JSX.Element {
  const { model } = props;
  const files = model.artifacts.filter(a => !a.is_dir);
  const [selected, setSelected] = React.useState<string | null>(null);
  const current = files.find(a => a.path === selected) ?? null;
  if (!files.length) {
    return <p className="jp-mm-empty">No artifacts.</p>;
  }
  return (
    <div className="jp-mm-artifacts">
      <ul className="jp-mm-artifact-list" aria-label="Artifacts">
        {files.map(a => (
          <li key={a.path}>
            <button
              className={
                'jp-mm-artifact' +
                (a.path === selected ? ' jp-mm-artifact-selected' : '')
              }
              aria-pressed={a.path === selected}
              onClick={() => setSelected(a.path)}
              title={`${a.path} (${a.media_type})`}
            >
              <span className="jp-mm-artifact-path">{a.path}</span>
              <span className="jp-mm-artifact-size">{formatBytes(a.size)}</span>
            </button>
          </li>
        ))}
      </ul>
      <div className="jp-mm-artifact-preview" aria-live="polite">
        {current ? (
          <ArtifactPreview
            key={current.path}
            api={model.api}
            runId={model.runId}
            artifact={current}
            rendermime={props.rendermime}
          />
        ) : (
          <p className="jp-mm-empty">Select a file to preview it.</p>
        )}
      </div>
    </div>
  );
}

/**
 * Largest image, JSON or notebook previewed (these are read whole; text and
 * CSV previews read only the first PREVIEW_BYTES).
 */
const MAX_WHOLE_PREVIEW = 20 * 1024 * 1024;

type PreviewState =
  | { state: 'loading' }
  | { state: 'error'; message: string }
  | { state: 'none' }
  | { state: 'image'; url: string }
  | { state: 'text'; text: string; truncated: boolean }
  | { state: 'table'; rows: string[][]; truncated: boolean }
  | { state: 'html'; html: string; truncated: boolean }
  | { state: 'notebook'; notebook: any };

/**
 * A preview of one artifact: images as images, CSV as a table, JSON pretty
 * printed, notebooks rendered, HTML in a sandboxed iframe (no scripts, no
 * same origin), other text as text.
 */
export function ArtifactPreview(props: {
  api: ViewsAPI;
  runId: string;
  artifact: IArtifact;
  rendermime: IRenderMimeRegistry;
}): JSX.Element {
  const { api, runId, artifact } = props;
  const kind: PreviewKind = previewKind(artifact);
  const [preview, setPreview] = React.useState<PreviewState>({
    state: 'loading'
  });
  React.useEffect(() => {
    let cancelled = false;
    let url: string | null = null;
    const load = async (): Promise<PreviewState> => {
      if (kind === 'none') {
        return { state: 'none' };
      }
      const whole = kind === 'notebook' || kind === 'json' || kind === 'image';
      if (whole && artifact.size > MAX_WHOLE_PREVIEW) {
        return {
          state: 'error',
          message: `Too large to preview (${formatBytes(artifact.size)}); download it instead.`
        };
      }
      if (kind === 'image') {
        const { blob } = await api.download(runId, artifact.path);
        url = URL.createObjectURL(
          new Blob([blob], { type: imageType(artifact) })
        );
        return { state: 'image', url };
      }
      const { blob, truncated } = await api.download(
        runId,
        artifact.path,
        whole ? undefined : PREVIEW_BYTES
      );
      const text = await blob.text();
      switch (kind) {
        case 'csv': {
          const tsv = artifact.path.toLowerCase().endsWith('.tsv');
          return {
            state: 'table',
            rows: parseCSV(text, tsv ? '\t' : ',', 1001, !truncated),
            truncated
          };
        }
        case 'json':
          try {
            return {
              state: 'text',
              text: JSON.stringify(JSON.parse(text), null, 2),
              truncated
            };
          } catch {
            return { state: 'text', text, truncated };
          }
        case 'notebook':
          return { state: 'notebook', notebook: JSON.parse(text) };
        case 'html':
          return { state: 'html', html: text, truncated };
        default:
          return { state: 'text', text, truncated };
      }
    };
    load().then(
      p => {
        if (!cancelled) {
          setPreview(p);
        }
      },
      e => {
        if (!cancelled) {
          setPreview({ state: 'error', message: errorMessage(e) });
        }
      }
    );
    return () => {
      cancelled = true;
      if (url) {
        URL.revokeObjectURL(url);
      }
    };
  }, [runId, artifact.path, artifact.digest]);

  const download = async () => {
    const { blob } = await api.download(runId, artifact.path);
    const url = URL.createObjectURL(blob);
    const a = document.createElement('a');
    a.href = url;
    a.download = artifact.path.split('/').pop() ?? 'artifact';
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 0);
  };

  return (
    <div className="jp-mm-preview" data-kind={kind}>
      <div className="jp-mm-preview-header">
        <code>{artifact.path}</code>
        <span className="jp-mm-preview-meta">
          {artifact.media_type} · {formatBytes(artifact.size)}
        </span>
        <button
          className="jp-mm-button jp-mod-styled"
          onClick={() => void download()}
        >
          Download
        </button>
      </div>
      <PreviewBody preview={preview} rendermime={props.rendermime} />
    </div>
  );
}

function PreviewBody(props: {
  preview: PreviewState;
  rendermime: IRenderMimeRegistry;
}): JSX.Element {
  const { preview } = props;
  switch (preview.state) {
    case 'loading':
      return <p className="jp-mm-loading">Loading…</p>;
    case 'error':
      return (
        <p className="jp-mm-error" role="alert">
          {preview.message}
        </p>
      );
    case 'none':
      return <p className="jp-mm-empty">No preview for this kind of file.</p>;
    case 'image':
      return <img className="jp-mm-preview-image" src={preview.url} alt="" />;
    case 'text':
      return (
        <>
          <pre className="jp-mm-preview-text">{preview.text}</pre>
          {preview.truncated && <Truncated />}
        </>
      );
    case 'table': {
      const [header, ...rows] = preview.rows;
      return (
        <>
          <div className="jp-mm-preview-table">
            <table className="jp-mm-table">
              <thead>
                <tr>
                  {(header ?? []).map((h, i) => (
                    <th key={i} scope="col">
                      {h}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {rows.map((row, i) => (
                  <tr key={i}>
                    {row.map((c, j) => (
                      <td key={j}>{c}</td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {(preview.truncated || preview.rows.length > 1000) && <Truncated />}
        </>
      );
    }
    case 'html':
      return (
        <>
          <iframe
            className="jp-mm-preview-html"
            sandbox=""
            srcDoc={preview.html}
            title="HTML preview (sandboxed)"
          />
          {preview.truncated && <Truncated />}
        </>
      );
    case 'notebook':
      return (
        <WidgetHost
          className="jp-mm-preview-notebook"
          factory={() => renderNotebook(preview.notebook, props.rendermime)}
          deps={[preview.notebook]}
        />
      );
  }
}

function Truncated(): JSX.Element {
  return (
    <p className="jp-mm-empty">
      Preview cut short; download the file to see all of it.
    </p>
  );
}

function CellSection(props: {
  model: RunViewModel;
  rendermime: IRenderMimeRegistry;
}): JSX.Element {
  const cell = props.model.cell;
  if (!cell) {
    return (
      <p className="jp-mm-empty">
        No cell record (the run was not made by a %%track cell).
      </p>
    );
  }
  return (
    <div className="jp-mm-cell">
      <pre className="jp-mm-nbcell-source">{cell.source ?? ''}</pre>
      {cell.outputs && cell.outputs.length ? (
        <WidgetHost
          className="jp-mm-cell-outputs"
          factory={() => renderOutputs(cell.outputs ?? [], props.rendermime)}
          deps={[cell]}
        />
      ) : (
        <p className="jp-mm-empty">The cell showed no output.</p>
      )}
    </div>
  );
}

function SnapshotSection(props: {
  model: RunViewModel;
  rendermime: IRenderMimeRegistry;
}): JSX.Element {
  const { model } = props;
  const snapshot = model.snapshot;
  if (!snapshot) {
    return <p className="jp-mm-empty">No notebook snapshot.</p>;
  }
  return (
    <>
      <p className="jp-mm-snapshot-info">
        {snapshot.notebook.cells.length} cells; the {snapshot.phase} snapshot (
        {snapshot.source}). Read-only.
      </p>
      <WidgetHost
        className="jp-mm-snapshot"
        factory={() =>
          renderNotebook(
            snapshot.notebook,
            props.rendermime,
            model.cell?.cell_id ?? null
          )
        }
        deps={[snapshot]}
      />
    </>
  );
}
