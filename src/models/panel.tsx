/**
 * The Models panel (main area): registered models with a filter, the selected
 * model's versions with status, approval state, monitoring status and alias
 * badges, and the actions on them (request approval, approve, reject,
 * set/move/delete an alias), which run the Models commands. Registry events
 * from others refresh it in place (`update`).
 *
 * All registry data is user text and is rendered as React text nodes.
 */

import * as React from 'react';

import { ReactWidget } from '@jupyterlab/ui-components';
import { ISignal, Signal } from '@lumino/signaling';

import {
  errorText,
  IModelVersion,
  IRegisteredModel,
  IRegistryApi
} from './api';
import { aliasesByVersion, formatUtc } from './format';
import {
  ErrorAlert,
  TableHead,
  ReloadButton,
  AliasBadge,
  AliasTargets,
  ApprovalBadge,
  MonitoringBadge,
  SourceRun,
  VersionDecisions
} from './components';
import { useRerenderOn } from '../hooks';
import { LifecycleBadge } from './lifecycle';
import type { IRegistryChanges } from './live';
import type { IWebhooksApi } from './webhooks-api';
import { WebhooksSection } from './webhooks';
import type { IRegistryPolicy, MonitoringStatus } from '../schema';
import { NewestReply } from '../newestReply';
import type { IVersionActions } from './actions';

/**
 * What the panel's buttons do (the plugin runs its commands).
 */
export interface IModelsPanelActions extends IVersionActions {
  openVersion(name: string, version: number): void;
  register(): void;
}

/**
 * The panel's state: the filter, the models found, the selected model and
 * its versions.
 */
export class ModelsPanelModel {
  constructor(readonly api: IRegistryApi) {}

  filter = '';
  models: IRegisteredModel[] = [];
  /**
   * Why the last search failed (a filter the server refused, say).
   */
  error: string | null = null;
  selected: string | null = null;
  model: IRegisteredModel | null = null;
  versions: IModelVersion[] = [];
  versionsError: string | null = null;
  /**
   * The selected model's policy and who acts (null: unknown; the server decides).
   */
  policy: IRegistryPolicy | null = null;
  /**
   * Each version's monitoring status (none when the server could not say:
   * the versions are shown all the same).
   */
  monitoring: Record<number, MonitoringStatus> = {};
  loading = false;

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  setFilter(filter: string): void {
    this.filter = filter;
    this._changed.emit();
  }

  /**
   * Search with the current filter; keeps the selection when it is still found.
   */
  async search(): Promise<void> {
    this._searched = this.filter;
    this.loading = true;
    this._changed.emit();
    await this._search();
  }

  /**
   * Others changed the registry: search again with the filter last searched
   * (not a half-typed one), quietly, keeping the selection and following it
   * through a rename. Each model's own state is reloaded, not patched.
   */
  async update(changes?: IRegistryChanges): Promise<void> {
    const renamed = this.selected ? changes?.renamed.get(this.selected) : null;
    if (renamed) {
      this.selected = renamed;
    }
    await this._search();
  }

  private async _search(): Promise<void> {
    const reply = await this._searches.settle(() =>
      this.api.searchModels(this._searched)
    );
    if (!reply) {
      return;
    }
    this.models = reply.ok ? reply.value : [];
    this.error = reply.ok ? null : errorText(reply.error);
    this.loading = false;
    if (this.selected && !this.models.some(m => m.name === this.selected)) {
      this.selected = null;
      this.model = null;
      this.versions = [];
    }
    if (!this.selected && this.models.length > 0) {
      this.selected = this.models[0].name;
    }
    this._changed.emit();
    if (this.selected) {
      await this.loadVersions();
    }
  }

  async select(name: string): Promise<void> {
    if (this.selected === name) {
      return;
    }
    this.selected = name;
    this.versions = [];
    this.model = this.models.find(m => m.name === name) ?? null;
    this._changed.emit();
    await this.loadVersions();
  }

  async loadVersions(): Promise<void> {
    const name = this.selected;
    if (!name) {
      return;
    }
    const reply = await this._versionLoads.settle(() =>
      Promise.all([
        this.api.getModel(name),
        this.api.versions(name),
        this.api.monitoring(name).catch(() => null),
        this.api.policy?.(name).catch(() => null) ?? null
      ])
    );
    if (!reply) {
      return;
    }
    if (reply.ok) {
      if (this.selected !== name) {
        return;
      }
      const [model, versions, monitoring, policy] = reply.value;
      this.model = model;
      this.versions = versions;
      this.policy = policy;
      this.monitoring = {};
      for (const v of monitoring?.versions ?? []) {
        this.monitoring[v.version] = v.status;
      }
      this.models = this.models.map(m => (m.name === name ? model : m));
      this.versionsError = null;
    } else {
      this.versionsError = errorText(reply.error);
    }
    this._changed.emit();
  }

  /**
   * A model changed (by an action here or elsewhere): search again.
   */
  async refresh(name?: string): Promise<void> {
    if (name && !this.models.some(m => m.name === name)) {
      this.selected = name;
    }
    await this.search();
  }

  private _changed = new Signal<this, void>(this);
  private _searched = '';
  private _searches = new NewestReply();
  private _versionLoads = new NewestReply();
}

function ModelList(props: { model: ModelsPanelModel }): JSX.Element {
  const { model } = props;
  const refs = React.useRef<Array<HTMLButtonElement | null>>([]);
  const onKeyDown = (event: React.KeyboardEvent, index: number) => {
    let next = -1;
    if (event.key === 'ArrowDown') {
      next = Math.min(index + 1, model.models.length - 1);
    } else if (event.key === 'ArrowUp') {
      next = Math.max(index - 1, 0);
    }
    if (next >= 0) {
      event.preventDefault();
      refs.current[next]?.focus();
      void model.select(model.models[next].name);
    }
  };
  if (model.models.length === 0) {
    return (
      <p className="jp-mm-models-empty">
        {model.loading
          ? 'Loading…'
          : model.filter
            ? 'No model matches the filter.'
            : 'No registered model yet. Register one from a run that logged a model (mm.log_model).'}
      </p>
    );
  }
  return (
    <ul className="jp-mm-models-list" aria-label="Registered models">
      {model.models.map((m, i) => {
        const aliases = Object.keys(m.aliases).sort();
        return (
          <li key={m.name}>
            <button
              ref={el => (refs.current[i] = el)}
              className={
                'jp-mm-models-item' +
                (m.name === model.selected ? ' jp-mod-selected' : '')
              }
              aria-current={m.name === model.selected ? 'true' : undefined}
              onClick={() => void model.select(m.name)}
              onKeyDown={e => onKeyDown(e, i)}
              title={m.description || m.name}
            >
              <span className="jp-mm-models-item-name">{m.name}</span>
              <span className="jp-mm-models-item-meta">
                {m.last_version ? `v${m.last_version}` : 'no version'}
                {aliases.length ? ` · @${aliases.join(' @')}` : ''}
              </span>
            </button>
          </li>
        );
      })}
    </ul>
  );
}

function VersionsTable(props: {
  model: ModelsPanelModel;
  actions: IModelsPanelActions;
}): JSX.Element {
  const { model, actions } = props;
  const name = model.selected as string;
  const byVersion = aliasesByVersion(model.model?.aliases ?? {});
  if (model.versions.length === 0) {
    return (
      <p className="jp-mm-models-empty">
        {model.versionsError ?? 'This model has no version yet.'}
      </p>
    );
  }
  return (
    <table className="jp-mm-table jp-mm-versions-table">
      <TableHead
        columns={[
          'Version',
          'Approval',
          'Monitoring',
          'Aliases',
          'Source run',
          'Registered',
          'Actions'
        ]}
      />
      <tbody>
        {model.versions.map(v => {
          const aliases = byVersion[v.version] ?? [];
          return (
            <tr key={v.version} data-version={v.version}>
              <td>
                <button
                  className="jp-mm-link"
                  onClick={() => actions.openVersion(name, v.version)}
                  title={`Open ${name} version ${v.version}`}
                >
                  v{v.version}
                </button>
                <LifecycleBadge version={v} />
              </td>
              <td>
                <ApprovalBadge version={v} />
                {v.approval?.decided_by ? (
                  <span className="jp-mm-dim"> by {v.approval.decided_by}</span>
                ) : v.approval?.requested_by ? (
                  <span className="jp-mm-dim">
                    {' '}
                    asked by {v.approval.requested_by}
                  </span>
                ) : null}
              </td>
              <td>
                {model.monitoring[v.version] ? (
                  <MonitoringBadge status={model.monitoring[v.version]} />
                ) : (
                  <span className="jp-mm-dim">—</span>
                )}
              </td>
              <td>
                {aliases.map(alias => (
                  <AliasBadge
                    key={alias}
                    alias={alias}
                    onDelete={() => actions.deleteAlias(name, alias)}
                  />
                ))}
              </td>
              <td>
                {v.run_id ? (
                  <SourceRun
                    runId={v.run_id}
                    openRun={actions.openRun}
                    load={model.api.getRun?.bind(model.api)}
                  />
                ) : (
                  <code title={v.source}>{v.source}</code>
                )}
              </td>
              <td title={formatUtc(v.creation_time)}>
                <span className="jp-mm-nowrap">
                  {formatUtc(v.creation_time).slice(0, 16)}
                </span>
                {v.user_id ? (
                  <div className="jp-mm-dim">by {v.user_id}</div>
                ) : null}
              </td>
              <td className="jp-mm-actions">
                <VersionDecisions
                  name={name}
                  version={v}
                  policy={model.policy}
                  actions={actions}
                />
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

export function ModelsPanelView(props: {
  model: ModelsPanelModel;
  actions: IModelsPanelActions;
  /**
   * The webhooks API; without it the panel has no Webhooks section.
   */
  webhooks?: IWebhooksApi;
}): JSX.Element {
  const { model, actions, webhooks } = props;
  useRerenderOn(model.changed);
  const selected = model.model;
  return (
    <div className="jp-mm-view-body jp-mm-models">
      <div className="jp-mm-view-header">
        <h1 className="jp-mm-view-title">Models</h1>
        <button
          className="jp-mm-button jp-mod-styled"
          onClick={() => actions.register()}
          title="Register a model logged in a run as a new version"
        >
          Register from run…
        </button>
        <ReloadButton label="Refresh" reload={() => model.search()} />
      </div>
      <form
        className="jp-mm-models-filter"
        onSubmit={e => {
          e.preventDefault();
          void model.search();
        }}
      >
        <input
          className="jp-mod-styled jp-mm-models-filter-input"
          aria-label="Filter models"
          placeholder="name LIKE 'credit%' AND tags.team = 'risk'"
          value={model.filter}
          onChange={e => model.setFilter(e.target.value)}
        />
        <button type="submit" className="jp-mm-button jp-mod-styled">
          Search
        </button>
      </form>
      <ErrorAlert message={model.error} />
      <div className="jp-mm-models-split">
        <nav className="jp-mm-models-nav">
          <ModelList model={model} />
        </nav>
        <section className="jp-mm-models-detail" aria-live="polite">
          {selected ? (
            <>
              <h2 className="jp-mm-models-name">{selected.name}</h2>
              <div className="jp-mm-models-meta">
                {selected.owner ? <span>owner {selected.owner}</span> : null}
                <AliasTargets aliases={selected.aliases} />
                {Object.entries(selected.tags).map(([k, v]) => (
                  <span key={k} className="jp-mm-tag">
                    {k}={v}
                  </span>
                ))}
              </div>
              {selected.description ? (
                <p className="jp-mm-models-description">
                  {selected.description}
                </p>
              ) : null}
              <VersionsTable model={model} actions={actions} />
              {webhooks ? (
                <WebhooksSection api={webhooks} model={selected.name} />
              ) : null}
            </>
          ) : (
            // The selected model could not be loaded: say why.
            <ErrorAlert message={model.selected ? model.versionsError : null} />
          )}
        </section>
      </div>
    </div>
  );
}

/**
 * The Models panel widget.
 */
export class ModelsPanel extends ReactWidget {
  constructor(
    readonly model: ModelsPanelModel,
    private _actions: IModelsPanelActions,
    private _webhooks?: IWebhooksApi
  ) {
    super();
    this.addClass('jp-mm-view');
    this.addClass('jp-mm-models-panel');
  }

  render(): JSX.Element {
    return (
      <ModelsPanelView
        model={this.model}
        actions={this._actions}
        webhooks={this._webhooks}
      />
    );
  }
}
