/**
 * The model-version compare view (main area): one column per version, rows
 * for its source run's params and metrics, signature, requirements and
 * datasets with differences marked, and buttons opening the notebook diff of
 * the source runs (the run diff view, `views/diffview.ts`).
 *
 * Every value is user or server text, rendered as React text nodes.
 */

import * as React from 'react';

import { ISignal, Signal } from '@lumino/signaling';

import { errorText, IRegistryApi } from './api';
import { ErrorAlert, RegistryViewWidget, RunLink } from './components';
import { useRerenderOn } from '../hooks';
import { shortDigest } from './format';
import {
  diffPairs,
  IVersionColumn,
  parseRequirements,
  VERSION_COMPARE_SECTIONS,
  versionCompareRows
} from './versioncompare';

/**
 * A version to compare.
 */
export interface IVersionRef {
  name: string;
  version: number;
}

/**
 * Reads a run's artifact as text; null when the run has no such artifact.
 */
export type ReadArtifactText = (
  runId: string,
  path: string
) => Promise<string | null>;

export class VersionCompareModel {
  constructor(
    readonly api: IRegistryApi,
    readonly readText: ReadArtifactText,
    readonly targets: IVersionRef[]
  ) {
    this.columns = targets.map(t => ({
      ...t,
      lineage: null,
      requirements: null,
      error: null
    }));
  }

  columns: IVersionColumn[];
  loading = false;

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /**
   * Load every version's lineage and requirements (a version that fails
   * keeps its column, with the reason).
   */
  async load(): Promise<void> {
    this.loading = true;
    this._changed.emit();
    this.columns = await Promise.all(
      this.targets.map(t => this._loadColumn(t))
    );
    this.loading = false;
    this._changed.emit();
  }

  private async _loadColumn(t: IVersionRef): Promise<IVersionColumn> {
    try {
      const lineage = await this.api.lineage(t.name, t.version);
      let requirements: string[] | null = null;
      const path = lineage.model_files?.path;
      if (lineage.run && path) {
        const text = await this.readText(
          lineage.run.id,
          `${path}/requirements.txt`
        );
        requirements = text === null ? null : parseRequirements(text);
      }
      return { ...t, lineage, requirements, error: null };
    } catch (error) {
      return {
        ...t,
        lineage: null,
        requirements: null,
        error: errorText(error)
      };
    }
  }

  private _changed = new Signal<this, void>(this);
}

export interface IVersionCompareActions {
  openVersion(name: string, version: number): void;
  openRun(runId: string): void;
  openDiff(base: string, other: string): void;
}

export function VersionCompareView(props: {
  model: VersionCompareModel;
  actions: IVersionCompareActions;
}): JSX.Element {
  const { model, actions } = props;
  useRerenderOn(model.changed);
  const columns = model.columns;
  const rows = versionCompareRows(columns);
  const pairs = diffPairs(columns);
  const span = columns.length + 1;
  return (
    <div className="jp-mm-view-body jp-mm-version-compare">
      <div className="jp-mm-view-header">
        <h1 className="jp-mm-view-title">
          Compare {columns.length} model versions
        </h1>
        {model.loading ? <span className="jp-mm-dim">Loading…</span> : null}
      </div>
      <div className="jp-mm-table-scroll">
        <table className="jp-mm-table jp-mm-version-compare-table">
          <thead>
            <tr>
              <th scope="col" />
              {columns.map(c => (
                <th
                  key={`${c.name}/${c.version}`}
                  scope="col"
                  data-version={`${c.name}/${c.version}`}
                >
                  <button
                    className="jp-mm-link"
                    onClick={() => actions.openVersion(c.name, c.version)}
                    title={`Open ${c.name} version ${c.version}`}
                  >
                    {c.name} v{c.version}
                  </button>
                  <div className="jp-mm-dim">
                    {c.lineage?.run ? (
                      <RunLink
                        runId={c.lineage.run.id}
                        openRun={actions.openRun}
                        label={c.lineage.run.name || undefined}
                      />
                    ) : c.error ? null : (
                      'no source run'
                    )}
                  </div>
                  <ErrorAlert message={c.error} />
                </th>
              ))}
            </tr>
          </thead>
          {VERSION_COMPARE_SECTIONS.map(({ section, title }) => {
            const own = rows.filter(r => r.section === section);
            const differing = own.filter(r => r.differs).length;
            return (
              <tbody key={section} data-section={section}>
                <tr className="jp-mm-version-compare-section">
                  <th scope="rowgroup" colSpan={span}>
                    {title}
                    <span className="jp-mm-dim">
                      {own.length
                        ? ` · ${differing} of ${own.length} differ`
                        : ' · none recorded'}
                    </span>
                  </th>
                </tr>
                {own.map(r => (
                  <tr
                    key={r.key}
                    data-key={r.key}
                    className={r.differs ? 'jp-mm-differs' : 'jp-mm-same'}
                    title={r.differs ? 'the versions differ' : undefined}
                  >
                    <th scope="row">{r.key}</th>
                    {r.values.map((v, i) => (
                      <td key={i}>
                        {v === null ? (
                          <span className="jp-mm-dim">—</span>
                        ) : section === 'datasets' ? (
                          <code title={v}>{shortDigest(v)}</code>
                        ) : (
                          v
                        )}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            );
          })}
        </table>
      </div>
      <section className="jp-mm-version-compare-diffs">
        <h2>Notebook diff of the source runs</h2>
        {pairs.length === 0 ? (
          <p className="jp-mm-dim">
            {model.loading
              ? 'Loading…'
              : 'The versions have no two different source runs to diff.'}
          </p>
        ) : (
          pairs.map(p => (
            <button
              key={`${p.base}/${p.other}`}
              className="jp-mm-button jp-mod-styled"
              onClick={() => actions.openDiff(p.base, p.other)}
              title="Open the notebook diff of the two source runs (nbdime)"
            >
              Diff notebooks: {p.label}
            </button>
          ))
        )}
      </section>
    </div>
  );
}

/**
 * The compare view widget.
 */
export class VersionCompareWidget extends RegistryViewWidget<
  VersionCompareModel,
  IVersionCompareActions
> {
  constructor(model: VersionCompareModel, actions: IVersionCompareActions) {
    super(model, actions, 'jp-mm-version-compare-widget', VersionCompareView);
  }
}
