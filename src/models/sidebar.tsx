/**
 * The registry in the left sidebar: each registered model with its latest
 * version, aliases and that version's status badges; a model's versions on
 * demand, to open one or to tick two or more and compare them.
 *
 * A panel of its own (its own icon beside the run panel's) rather than a
 * section of the run sidebar: the runs table needs that sidebar's height,
 * and a JupyterLab user finds one kind of thing per sidebar icon (files,
 * running sessions, extensions); the registry stays reachable while the runs
 * are shown, and the user may move it to the right side.
 *
 * All registry data is user text and is rendered as React text nodes.
 */

import * as React from 'react';

import { ReactWidget } from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import { ISignal, Signal } from '@lumino/signaling';

import {
  errorText,
  IModelVersion,
  IRegisteredModel,
  IRegistryApi
} from './api';
import {
  AliasBadge,
  AliasTargets,
  ApprovalBadge,
  ErrorAlert,
  ReloadButton
} from './components';
import { useRerenderOn } from '../hooks';
import { aliasesByVersion } from './format';
import { LifecycleBadge } from './lifecycle';
import type { IRegistryChanges } from './live';
import type { IVersionRef } from './versioncompareview';
import { NewestReply } from '../newestReply';

/**
 * DOM id of the registry sidebar (also its layout-restorer key).
 */
export const MODELS_SIDEBAR_ID = 'jupyter-mm-models-sidebar';

/**
 * A selected version's key.
 */
export function versionKey(ref: IVersionRef): string {
  return `${ref.name}/${ref.version}`;
}

/**
 * The sidebar's state: the models, each one's latest version, the models
 * expanded (with their versions) and the versions ticked for comparison.
 */
export class ModelsSidebarModel {
  constructor(readonly api: IRegistryApi) {}

  models: IRegisteredModel[] = [];
  latest: Record<string, IModelVersion> = {};
  expanded: Record<string, IModelVersion[] | null> = {};
  selected: IVersionRef[] = [];
  error: string | null = null;
  loading = false;

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /**
   * Read the models, their latest versions and the expanded models' versions
   * again; only the newest reload applies its reply.
   */
  async refresh(): Promise<void> {
    const isNewest = this._refreshes.begin();
    this.loading = true;
    this._changed.emit();
    let models: IRegisteredModel[] = [];
    const latest: Record<string, IModelVersion> = {};
    const expanded: Record<string, IModelVersion[] | null> = {};
    let error: string | null = null;
    try {
      models = await this.api.searchModels('');
      await Promise.all([
        ...models.map(async m => {
          if (m.last_version) {
            try {
              latest[m.name] = await this.api.getVersion(
                m.name,
                m.last_version
              );
            } catch {
              // Deleted meanwhile: the model is listed without badges.
            }
          }
        }),
        ...Object.keys(this.expanded)
          .filter(name => models.some(m => m.name === name))
          .map(async name => {
            expanded[name] = await this.api.versions(name).catch(() => null);
          })
      ]);
    } catch (e) {
      error = errorText(e);
    }
    if (!isNewest()) {
      return;
    }
    this.models = models;
    this.latest = latest;
    if (!error) {
      // Models expanded while this reload ran keep their (pending) versions;
      // those collapsed meanwhile stay collapsed.
      const now: Record<string, IModelVersion[] | null> = {};
      for (const name of Object.keys(this.expanded)) {
        if (models.some(m => m.name === name)) {
          now[name] = name in expanded ? expanded[name] : this.expanded[name];
        }
      }
      this.expanded = now;
    }
    this.error = error;
    this.loading = false;
    this.selected = this.selected.filter(s =>
      (this.expanded[s.name] ?? []).some(v => v.version === s.version)
    );
    this._changed.emit();
  }

  /**
   * Others changed the registry: follow renames of the expanded models and
   * of the selection, then reload.
   */
  async update(changes?: IRegistryChanges): Promise<void> {
    changes?.renamed.forEach((to, from) => {
      if (from in this.expanded) {
        this.expanded[to] = this.expanded[from];
        delete this.expanded[from];
      }
      this.selected = this.selected.map(s =>
        s.name === from ? { ...s, name: to } : s
      );
    });
    await this.refresh();
  }

  /**
   * Show or hide a model's versions.
   */
  async toggle(name: string): Promise<void> {
    if (name in this.expanded) {
      delete this.expanded[name];
      this.selected = this.selected.filter(s => s.name !== name);
      this._changed.emit();
      return;
    }
    this.expanded[name] = null;
    this._changed.emit();
    try {
      const versions = await this.api.versions(name);
      if (name in this.expanded) {
        this.expanded[name] = versions;
      }
    } catch (e) {
      this.error = errorText(e);
    }
    this._changed.emit();
  }

  isSelected(ref: IVersionRef): boolean {
    return this.selected.some(s => versionKey(s) === versionKey(ref));
  }

  /**
   * Tick or untick a version for comparison.
   */
  setSelected(ref: IVersionRef, on: boolean): void {
    this.selected = this.selected.filter(
      s => versionKey(s) !== versionKey(ref)
    );
    if (on) {
      this.selected.push({ name: ref.name, version: ref.version });
    }
    this._changed.emit();
  }

  private _changed = new Signal<this, void>(this);
  private _refreshes = new NewestReply();
}

export interface IModelsSidebarActions {
  openVersion(name: string, version: number): void;
  openModels(name?: string): void;
  compare(versions: IVersionRef[]): void;
  register(): void;
}

function VersionRow(props: {
  model: ModelsSidebarModel;
  version: IModelVersion;
  aliases: string[];
  actions: IModelsSidebarActions;
}): JSX.Element {
  const { model, version: v, aliases, actions } = props;
  const ref = { name: v.name, version: v.version };
  return (
    <li className="jp-mm-models-sidebar-version" data-version={v.version}>
      <input
        type="checkbox"
        aria-label={`Select ${v.name} v${v.version} to compare`}
        checked={model.isSelected(ref)}
        onChange={e => model.setSelected(ref, e.target.checked)}
      />
      <button
        className="jp-mm-link"
        onClick={() => actions.openVersion(v.name, v.version)}
        title={`Open ${v.name} version ${v.version}`}
      >
        v{v.version}
      </button>
      <ApprovalBadge version={v} />
      <LifecycleBadge version={v} />
      {aliases.map(alias => (
        <AliasBadge key={alias} alias={alias} />
      ))}
    </li>
  );
}

export function ModelsSidebarView(props: {
  model: ModelsSidebarModel;
  actions: IModelsSidebarActions;
}): JSX.Element {
  const { model, actions } = props;
  useRerenderOn(model.changed);
  return (
    <div className="jp-mm-models-sidebar-body">
      <h2 className="jp-mm-sidebar-title">Model registry</h2>
      <div className="jp-mm-models-sidebar-toolbar">
        <button
          className="jp-mm-button jp-mod-styled"
          disabled={model.selected.length < 2}
          onClick={() => actions.compare(model.selected)}
          title="Compare the ticked versions side by side"
        >
          Compare {model.selected.length || ''} selected
        </button>
        <button
          className="jp-mm-button jp-mod-styled"
          onClick={() => actions.openModels()}
          title="Open the Models panel (approvals, aliases, webhooks)"
        >
          Models panel
        </button>
        <ReloadButton label="Refresh" reload={() => model.refresh()} />
      </div>
      <ErrorAlert message={model.error} />
      {model.models.length === 0 ? (
        <p className="jp-mm-models-empty">
          {model.loading ? 'Loading…' : 'No registered model yet. '}
          {model.loading ? null : (
            <button className="jp-mm-link" onClick={() => actions.register()}>
              Register one from a run…
            </button>
          )}
        </p>
      ) : (
        <ul
          className="jp-mm-models-sidebar-list"
          aria-label="Registered models"
        >
          {model.models.map(m => {
            const latest = model.latest[m.name];
            const byVersion = aliasesByVersion(m.aliases);
            const open = m.name in model.expanded;
            const versions = model.expanded[m.name];
            return (
              <li
                key={m.name}
                className="jp-mm-models-sidebar-model"
                data-model={m.name}
              >
                <div className="jp-mm-models-sidebar-row">
                  <button
                    className="jp-mm-models-sidebar-toggle"
                    aria-expanded={open}
                    aria-label={`${open ? 'Hide' : 'Show'} the versions of ${m.name}`}
                    onClick={() => void model.toggle(m.name)}
                  >
                    {open ? '▾' : '▸'}
                  </button>
                  <button
                    className="jp-mm-link jp-mm-models-sidebar-name"
                    disabled={!m.last_version}
                    onClick={() =>
                      m.last_version &&
                      actions.openVersion(m.name, m.last_version)
                    }
                    title={
                      m.last_version
                        ? `Open ${m.name} version ${m.last_version} (the latest)`
                        : m.name
                    }
                  >
                    {m.name}
                  </button>
                  <span className="jp-mm-models-sidebar-latest">
                    {m.last_version ? `v${m.last_version}` : 'no version'}
                  </span>
                  {latest ? <ApprovalBadge version={latest} /> : null}
                  {latest ? <LifecycleBadge version={latest} /> : null}
                </div>
                {Object.keys(m.aliases).length ? (
                  <div className="jp-mm-models-sidebar-aliases">
                    <AliasTargets aliases={m.aliases} />
                  </div>
                ) : null}
                {open ? (
                  versions ? (
                    <ul
                      className="jp-mm-models-sidebar-versions"
                      aria-label={`Versions of ${m.name}`}
                    >
                      {versions.map(v => (
                        <VersionRow
                          key={v.version}
                          model={model}
                          version={v}
                          aliases={byVersion[v.version] ?? []}
                          actions={actions}
                        />
                      ))}
                    </ul>
                  ) : (
                    <p className="jp-mm-dim">Loading…</p>
                  )
                ) : null}
              </li>
            );
          })}
        </ul>
      )}
    </div>
  );
}

/**
 * The registry sidebar widget; reloads when it is shown.
 */
export class ModelsSidebar extends ReactWidget {
  constructor(
    readonly model: ModelsSidebarModel,
    private _actions: IModelsSidebarActions
  ) {
    super();
    this.id = MODELS_SIDEBAR_ID;
    this.addClass('jp-mm-models-sidebar');
    this.title.caption = 'Model registry (jupyter-mm)';
  }

  render(): JSX.Element {
    return <ModelsSidebarView model={this.model} actions={this._actions} />;
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    void this.model.refresh();
  }
}
