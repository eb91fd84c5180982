import { JupyterFrontEnd } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { Cell } from '@jupyterlab/cells';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { CommandToolbarButton } from '@jupyterlab/ui-components';

import { IRunsApi } from './api';
import { IRun } from './schema';
import { IStoreEvent } from './storeEvents';
import { columnLabel, quoteString, statusLabel } from './columns';
import { CommandIDs } from './commandIds';
import { NO_ARGS, TAG_CELL_ID } from './commands';

/**
 * The magic that makes a cell a tracked one.
 */
export const TRACK_MAGIC = '%%track';

/**
 * Name of the notebook toolbar item.
 */
export const TOOLBAR_ITEM = 'jupyter-mm-track-cell';

/**
 * Whether a cell's source starts with `%%track` (options may follow).
 */
export function isTracked(source: string): boolean {
  const first = source.split('\n', 1)[0].trim();
  return first === TRACK_MAGIC || first.startsWith(`${TRACK_MAGIC} `);
}

/**
 * Add `%%track` as the first line, or remove that line when it is there.
 */
export function toggleTrack(source: string): string {
  if (isTracked(source)) {
    const newline = source.indexOf('\n');
    return newline < 0 ? '' : source.slice(newline + 1);
  }
  return `${TRACK_MAGIC}\n${source}`;
}

/**
 * The latest run of each cell id, from runs sorted newest first.
 */
export function latestByCell(runs: ReadonlyArray<IRun>): Map<string, IRun> {
  const latest = new Map<string, IRun>();
  for (const run of runs) {
    const cellId = run.tags?.[TAG_CELL_ID];
    if (cellId && !latest.has(cellId)) {
      latest.set(cellId, run);
    }
  }
  return latest;
}

/**
 * Text of a cell's badge.
 */
export function badgeText(run: IRun): string {
  const name = run.name || run.id.slice(0, 8);
  return `${name} · ${statusLabel(run.status)}`;
}

/**
 * Keeps a badge on each tracked cell of the open notebooks, linking to the
 * cell's latest run. Looks the runs up by cell id (tag `mm.cell.id`) in one
 * search per notebook, again when the store reports runs created or
 * finished, and when a cell becomes tracked.
 */
export class CellBadges {
  constructor(options: {
    tracker: INotebookTracker;
    api: IRunsApi;
    commands: JupyterFrontEnd['commands'];
  }) {
    this._api = options.api;
    this._commands = options.commands;
    this._tracker = options.tracker;
    options.tracker.widgetAdded.connect((_, panel) => this._watch(panel));
    options.tracker.forEach(panel => this._watch(panel));
  }

  /**
   * A store event: refresh the badges a moment later (bursts coalesce).
   */
  handleEvent(event: IStoreEvent): void {
    if (event.action !== 'metrics-appended') {
      this._tracker.forEach(panel => this._schedule(panel));
    }
  }

  /**
   * Look up the latest runs of a notebook's tracked cells and draw the badges.
   */
  async refresh(panel: NotebookPanel): Promise<void> {
    const cells = panel.content.widgets.filter(
      cell =>
        cell.model.type === 'code' &&
        isTracked(cell.model.sharedModel.getSource())
    );
    const ids = cells.map(cell => cell.model.id);
    let latest = new Map<string, IRun>();
    if (ids.length > 0) {
      try {
        const reply = await this._api.search({
          filter: `tags.\`${TAG_CELL_ID}\` IN (${ids.map(quoteString).join(', ')})`,
          order_by: ['attributes.start_time DESC'],
          max_results: 1000,
          columns: ['name', 'status', 'start_time', `tags.${TAG_CELL_ID}`]
        });
        latest = latestByCell(reply.runs);
      } catch {
        return; // keep the badges shown
      }
    }
    if (panel.isDisposed) {
      return;
    }
    for (const cell of panel.content.widgets) {
      const run = cells.includes(cell) ? latest.get(cell.model.id) : undefined;
      this._draw(cell, run ?? null);
    }
  }

  private _watch(panel: NotebookPanel): void {
    void panel.context.ready.then(() => this._schedule(panel));
    panel.content.model?.cells.changed.connect(() => this._schedule(panel));
    panel.content.modelContentChanged.connect(() => {
      // Only a change of which cells are tracked needs a new search.
      const tracked = panel.content.widgets
        .filter(cell => isTracked(cell.model.sharedModel.getSource()))
        .map(cell => cell.model.id)
        .join(',');
      if (tracked !== this._tracked.get(panel)) {
        this._tracked.set(panel, tracked);
        this._schedule(panel);
      }
    });
  }

  private _schedule(panel: NotebookPanel): void {
    if (this._timers.has(panel) || panel.isDisposed) {
      return;
    }
    this._timers.set(
      panel,
      setTimeout(() => {
        this._timers.delete(panel);
        void this.refresh(panel);
      }, CellBadges.DELAY_MS)
    );
  }

  private _draw(cell: Cell, run: IRun | null): void {
    let badge = cell.node.querySelector<HTMLButtonElement>(
      ':scope > .jp-mm-cell-badge'
    );
    if (!run) {
      badge?.remove();
      return;
    }
    if (!badge) {
      badge = document.createElement('button');
      badge.className = 'jp-mm-cell-badge';
      badge.addEventListener('click', event => {
        event.stopPropagation();
        const runId = badge?.dataset.runId;
        if (runId && this._commands.hasCommand(CommandIDs.openRun)) {
          void this._commands.execute(CommandIDs.openRun, { runId });
        }
      });
      cell.node.appendChild(badge);
    }
    const status = statusLabel(run.status);
    badge.dataset.runId = run.id;
    badge.dataset.status = status;
    badge.textContent = badgeText(run); // text only, never HTML
    badge.title = `Latest run of this cell (${columnLabel('attributes.status').toLowerCase()}: ${status}). Click to open it.`;
  }

  private _api: IRunsApi;
  private _commands: JupyterFrontEnd['commands'];
  private _tracker: INotebookTracker;
  private _timers = new Map<NotebookPanel, ReturnType<typeof setTimeout>>();
  private _tracked = new WeakMap<NotebookPanel, string>();
}

export namespace CellBadges {
  /**
   * Delay before a badge refresh, so bursts of events cost one search.
   */
  export const DELAY_MS = 300;
}

/**
 * The "Track cell" command, its toolbar button on every notebook and its
 * palette entry.
 */
export function registerTrackCell(options: {
  app: JupyterFrontEnd;
  tracker: INotebookTracker;
  palette: ICommandPalette | null;
}): void {
  const { app, tracker, palette } = options;
  const activeCode = () => {
    const cell = tracker.activeCell;
    return cell && cell.model.type === 'code' ? cell : null;
  };
  app.commands.addCommand(CommandIDs.trackCell, {
    describedBy: NO_ARGS,
    label: 'Track Cell',
    caption:
      'Toggle %%track on the active cell: each run of it becomes a tracked run',
    isEnabled: () => activeCode() !== null,
    isToggled: () => {
      const cell = activeCode();
      return cell !== null && isTracked(cell.model.sharedModel.getSource());
    },
    execute: () => {
      const cell = activeCode();
      if (cell) {
        const shared = cell.model.sharedModel;
        shared.setSource(toggleTrack(shared.getSource()));
        app.commands.notifyCommandChanged(CommandIDs.trackCell);
      }
    }
  });
  tracker.activeCellChanged.connect(() =>
    app.commands.notifyCommandChanged(CommandIDs.trackCell)
  );
  tracker.widgetAdded.connect((_, panel) => {
    const button = new CommandToolbarButton({
      commands: app.commands,
      id: CommandIDs.trackCell,
      label: 'Track cell'
    });
    if (!panel.toolbar.insertAfter('cellType', TOOLBAR_ITEM, button)) {
      panel.toolbar.addItem(TOOLBAR_ITEM, button);
    }
  });
  if (palette) {
    palette.addItem({
      command: CommandIDs.trackCell,
      category: 'Model Tracking'
    });
  }
}
