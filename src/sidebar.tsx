import * as React from 'react';

import {
  ReactWidget,
  SidePanel,
  ToolbarButton,
  refreshIcon
} from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import { AccordionPanel } from '@lumino/widgets';

import { formatTime, summarizeStatus } from './format';
import type { JobsWidget } from './jobs/panel';
import { mmIcon } from './icons';
import { StoreStatusModel } from './model';
import { RunsPanel } from './runsPanel';

/**
 * DOM id of the sidebar panel (also its layout-restorer key).
 */
export const SIDEBAR_ID = 'jupyter-mm-sidebar';

/**
 * Store summary: which store is in use, its kind and what it holds.
 *
 * Every value is rendered as a React text node, so nothing coming from the
 * server or the user is ever interpreted as HTML.
 */
export function StoreStatusView(props: {
  state: StoreStatusModel.IState;
}): JSX.Element {
  const { state } = props;
  const summary = summarizeStatus(state.status);
  return (
    <div className="jp-mm-status" aria-busy={state.loading}>
      <dl className="jp-mm-status-list">
        <dt className="jp-mm-status-label">Store</dt>
        <dd className="jp-mm-status-uri" title={summary.uri}>
          {summary.uri}
        </dd>
        <dt className="jp-mm-status-label">Kind</dt>
        <dd className="jp-mm-status-kind">{summary.kind}</dd>
        <dt className="jp-mm-status-label">Holds</dt>
        <dd className="jp-mm-status-counts">
          <span className="jp-mm-status-experiments">
            {summary.experiments}
          </span>
          {', '}
          <span className="jp-mm-status-runs">{summary.runs}</span>
        </dd>
      </dl>
      {(state.error ?? summary.storeError) !== null && (
        <div className="jp-mm-status-error" role="alert">
          {state.error ?? summary.storeError}
        </div>
      )}
      <div className="jp-mm-status-footer">
        {state.loading
          ? 'Refreshing…'
          : `Updated ${formatTime(state.updated)} · server ${summary.version}`}
      </div>
    </div>
  );
}

/**
 * React widget following a StoreStatusModel: re-renders on every state change,
 * always from the model's current state (so no change can be missed between
 * construction and the first React commit).
 */
export class StoreStatusWidget extends ReactWidget {
  constructor(model: StoreStatusModel) {
    super();
    this._model = model;
    this.addClass('jp-mm-status-widget');
    this.title.label = 'Store';
    // Disconnected by Widget.dispose (Signal.clearData).
    model.stateChanged.connect(this._onStateChanged, this);
  }

  render(): JSX.Element {
    return <StoreStatusView state={this._model.state} />;
  }

  private _onStateChanged(): void {
    this.update();
  }

  private _model: StoreStatusModel;
}

/**
 * The left-area jupyter-mm sidebar: the run panel (when given) and the store
 * summary, as sections of an accordion.
 */
export class MMSidebar extends SidePanel {
  constructor(options: MMSidebar.IOptions) {
    super();
    this.model = options.model;
    this.id = SIDEBAR_ID;
    this.addClass('jp-mm-sidebar');
    this.title.icon = mmIcon;
    this.title.caption = 'Model tracking (jupyter-mm)';

    const heading = ReactWidget.create(
      <h2 className="jp-mm-sidebar-title">Model tracking</h2>
    );
    this.header.addWidget(heading);

    this.toolbar.addItem(
      'refresh',
      new ToolbarButton({
        icon: refreshIcon,
        tooltip: 'Refresh the runs and the store summary',
        onClick: () => {
          void this.model.refresh();
          void this.runs?.model.reload();
        }
      })
    );
    this.runs = options.runs ?? null;
    if (this.runs) {
      this.addWidget(this.runs);
    }
    this.jobs = options.jobs ?? null;
    // The Jobs section appears with the first job: until then the sidebar is as it was.
    this.jobs?.model.changed.connect(() => {
      if (this.jobs?.model.jobs.length) {
        this._addJobs();
      }
    }, this);
    this.addWidget(new StoreStatusWidget(this.model));
  }

  /**
   * The run panel, when there is one; owned (and disposed) by the sidebar.
   */
  readonly runs: RunsPanel | null;

  /**
   * The Jobs section (re-runs, reproducibility checks), when there is one.
   */
  readonly jobs: JobsWidget | null;

  /**
   * Show the Jobs section, expanded.
   */
  showJobs(): void {
    if (!this.jobs) {
      return;
    }
    this._addJobs();
    (this.content as AccordionPanel).expand(this.widgets.indexOf(this.jobs));
  }

  private _addJobs(): void {
    if (this.jobs && !this.widgets.includes(this.jobs)) {
      this.insertWidget(this.runs ? 1 : 0, this.jobs);
    }
  }

  /**
   * The model shown by the sidebar; owned (and disposed) by the sidebar.
   */
  readonly model: StoreStatusModel;

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this.model.dispose();
    this.runs?.model.dispose();
    this.jobs?.model.dispose();
    this.jobs?.dispose();
    super.dispose();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    void this.model.refresh();
  }
}

export namespace MMSidebar {
  export interface IOptions {
    model: StoreStatusModel;
    /**
     * The run panel, shown above the store summary.
     */
    runs?: RunsPanel;
    /**
     * The Jobs section, shown below the run panel while it has jobs.
     */
    jobs?: JobsWidget;
  }
}
