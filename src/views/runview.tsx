/**
 * The run view: one main-area tab per run with its overview, params, metric
 * charts, editable tags and notes, datasets, artifacts with previews, the
 * tracked cell's outputs and the notebook snapshot. The data is the model's
 * (`runmodel.ts`); each part is a component of `components/`.
 *
 * All run data is user text and is rendered as React text nodes; outputs and
 * notebooks go through the rendermime registry untrusted (sanitised).
 */

import * as React from 'react';

import { IRenderMimeRegistry } from '@jupyterlab/rendermime';

import { NO_RUN_MODEL } from '../models/format';
import { RunViewModel } from './runmodel';
import { ArtifactBrowser } from './components/artifactBrowser';
import { DatasetsTable } from './components/datasetsTable';
import { KeyValueTable } from './components/keyValueTable';
import { MetricsSection } from './components/metricsSection';
import { NotesEditor } from './components/notesEditor';
import { Overview } from './components/overview';
import { RegisteredVersions } from './components/registeredVersions';
import { Section } from './components/section';
import { TagEditor } from './components/tagEditor';
import { CellSection, SnapshotSection } from './components/trackedCell';
import { ModelViewWidget, StatusBadge } from './widgets';

/**
 * What the run view needs besides its model.
 */
export interface IRunViewContext {
  rendermime: IRenderMimeRegistry;
  /**
   * Restore the run's snapshot into a new notebook.
   */
  restoreSnapshot: (runId: string) => Promise<void>;
  /**
   * Re-run the run's notebook with parameter overrides (a dialog, then a job).
   */
  rerun?: (runId: string) => void;
  /**
   * Register one of the run's models (a dialog offers them); the version, or null.
   */
  register?: (runId: string) => Promise<unknown>;
  /**
   * Open a model version's view.
   */
  openVersion?: (name: string, version: number) => void;
}

/**
 * The run view's main-area content.
 */
export class RunViewWidget extends ModelViewWidget<RunViewModel> {
  constructor(
    model: RunViewModel,
    private _context: IRunViewContext
  ) {
    super(model, 'jp-mm-runview');
    this.id = `jupyter-mm-run-${model.runId}-content`;
  }

  get runId(): string {
    return this.model.runId;
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
        {context.rerun ? (
          <button
            className="jp-mm-button jp-mod-styled jp-mm-rerun"
            disabled={!model.snapshot}
            title={
              model.snapshot
                ? 'Re-execute this run’s notebook in a fresh kernel, with parameter overrides'
                : 'This run has no notebook snapshot to re-run'
            }
            onClick={() => context.rerun?.(run.id)}
          >
            Re-run…
          </button>
        ) : null}
        {context.register ? (
          <button
            className="jp-mm-button jp-mod-styled jp-mm-register"
            disabled={!model.models?.models.length}
            title={
              model.models?.models.length
                ? 'Register one of this run’s models as a new model version'
                : NO_RUN_MODEL
            }
            onClick={() =>
              void context.register?.(run.id).then(() => model.reloadFiles())
            }
          >
            Register model…
          </button>
        ) : null}
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
        <ArtifactBrowser
          api={model.api}
          runId={model.runId}
          artifacts={model.artifacts}
          rendermime={context.rendermime}
        />
      </Section>
      <Section
        title="Registered versions"
        count={model.models?.versions.length ?? 0}
      >
        <RegisteredVersions
          versions={model.models?.versions ?? []}
          openVersion={context.openVersion}
        />
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
