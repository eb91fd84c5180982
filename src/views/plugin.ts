/**
 * The views plugin: commands that open the run view, the compare view and the
 * notebook diff view in the main area, and restore a run's notebook snapshot
 * into a new notebook. Views are restored on reload and follow the store's
 * live events.
 */

import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  ICommandPalette,
  InputDialog,
  IThemeManager,
  MainAreaWidget,
  showErrorMessage,
  WidgetTracker
} from '@jupyterlab/apputils';
import { ToolbarButton } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { IStateDB } from '@jupyterlab/statedb';
import {
  ReadonlyJSONObject,
  ReadonlyPartialJSONObject
} from '@lumino/coreutils';

import { CommandIDs } from '../commandIds';
import { mmIcon } from '../icons';
import {
  addToPalette,
  IMainAreaView,
  openView,
  TRACKING_CATEGORY,
  viewTracker
} from '../mainArea';
import { ViewsAPI } from './api';
import type { ChartsViewWidget, IChartsMemory } from './chartsview';
import type { CompareViewWidget } from './compareview';
import type { NotebookDiffView } from './diffview';
import type { RunViewWidget } from './runview';
import { onStoreEvents } from '../storeEvents';
import { EventGaps } from './live';
import { compareTabLabel, reusableView, runTabLabel } from './tabs';

/**
 * A run id: 32 lowercase hex characters.
 */
const RUN_ID = /^[0-9a-f]{32}$/;

/**
 * What pinning a view's tab does, and unpinning it (the Pin button's and the
 * tab context menu's tooltips).
 */
const PIN_TIP = 'Keep this tab: the next run opens in another one';
const UNPIN_TIP = 'Unpin: the next run opened replaces this tab';

/**
 * The query parameter naming a run to open when JupyterLab starts.
 */
export const RUN_QUERY = 'mm-run';

/**
 * The run a JupyterLab URL asks to open (`?mm-run=<id>`), or null.
 */
export function runFromUrl(href: string): string | null {
  let value: string | null = null;
  try {
    value = new URL(href).searchParams.get(RUN_QUERY);
  } catch {
    return null;
  }
  const id = (value ?? '').trim().toLowerCase();
  return RUN_ID.test(id) ? id : null;
}

/**
 * Run ids in free text (separated by spaces, commas or new lines).
 */
export function parseRunIds(text: string): string[] {
  const ids = text
    .split(/[\s,;]+/)
    .map(s => s.trim().toLowerCase())
    .filter(Boolean);
  return ids.filter((id, i) => RUN_ID.test(id) && ids.indexOf(id) === i);
}

/**
 * The notebook to write when restoring a snapshot: the snapshot's document
 * without the original notebook's identity (so runs made from the copy are
 * not attributed to the original), noting which run it came from.
 */
export function restoredNotebook(notebook: any, runId: string): any {
  const copy = JSON.parse(JSON.stringify(notebook));
  copy.metadata = copy.metadata ?? {};
  const mm = { ...(copy.metadata.jupyter_mm ?? {}) };
  delete mm.notebook_id;
  mm.restored_from_run = runId;
  copy.metadata.jupyter_mm = mm;
  return copy;
}

/**
 * The argument schema of a command taking run ids, asked for when missing.
 */
function runIdArgs(
  name: 'runId' | 'runIds',
  description: string
): { args: ReadonlyJSONObject } {
  const text = `${description}; asked for when missing`;
  const property: ReadonlyJSONObject =
    name === 'runId'
      ? { type: 'string', description: text }
      : { type: 'array', items: { type: 'string' }, description: text };
  const properties: ReadonlyJSONObject = {
    [name]: property,
    pinned: {
      type: 'boolean',
      description: 'keep the view open (not replaced by the next one)'
    }
  };
  return { args: { type: 'object', properties, required: [] } };
}

export const viewsPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-mm:views',
  description:
    'Run view, compare view, charts workspace and notebook diff view of jupyter-mm runs in the main area.',
  autoStart: true,
  requires: [IRenderMimeRegistry],
  optional: [ILayoutRestorer, ICommandPalette, IThemeManager, IStateDB],
  activate: (
    app: JupyterFrontEnd,
    rendermime: IRenderMimeRegistry,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null,
    themes: IThemeManager | null,
    state: IStateDB | null
  ): void => {
    const { commands, shell, serviceManager } = app;
    const api = new ViewsAPI(serviceManager.serverSettings);

    // Run and compare views are reused: opening another run replaces the
    // unpinned view (an italic tab); a pinned one stays until closed. The
    // view's Pin button and its tab's context menu pin and unpin it.
    const pinned = new WeakSet<Widget>();
    const isPinned = (widget: Widget) => pinned.has(widget);

    const runs = viewTracker<RunViewWidget>('jupyter-mm-run', restorer, {
      command: CommandIDs.openRun,
      args: w => ({ runId: w.content.runId, pinned: isPinned(w) }),
      name: w => w.content.runId
    });
    const compares = viewTracker<CompareViewWidget>(
      'jupyter-mm-compare',
      restorer,
      {
        command: CommandIDs.compareRuns,
        args: w => ({
          runIds: w.content.model.runIds,
          pinned: isPinned(w)
        }),
        name: w => w.content.model.runIds.join(',')
      }
    );
    const diffs = viewTracker<NotebookDiffView>('jupyter-mm-diff', restorer, {
      command: CommandIDs.diffRuns,
      args: w => ({ runIds: w.content.runIds }),
      name: w => w.content.runIds.join(',')
    });
    const charts = viewTracker<ChartsViewWidget>(
      'jupyter-mm-charts',
      restorer,
      {
        command: CommandIDs.chartRuns,
        args: w => ({
          runIds: w.content.model.runs.runIds,
          experimentId: w.content.model.experimentId,
          title: w.content.model.title,
          note: w.content.model.note
        }),
        name: () => 'charts'
      }
    );
    // The charts workspaces' layouts, one entry per experiment.
    const chartsMemory: IChartsMemory | null = state
      ? {
          fetch: key => state.fetch(key),
          save: async (key, value) => {
            await state.save(key, value as ReadonlyJSONObject);
          }
        }
      : null;

    // Each view's Pin button and how its tracker saves it.
    const pins = new WeakMap<
      Widget,
      { button: ToolbarButton; save: () => void }
    >();
    const pinnable = (widget: Widget | null | undefined) =>
      widget && pins.has(widget) ? widget : null;
    const setPinned = (widget: Widget, pin: boolean) => {
      if (pin) {
        pinned.add(widget);
      } else {
        pinned.delete(widget);
      }
      widget.title.className = pin ? 'jp-mm-mod-pinned' : 'jp-mm-mod-preview';
      const view = pins.get(widget);
      if (view) {
        view.button.pressed = pin;
        view.save(); // the restorer keeps the pin
      }
      commands.notifyCommandChanged(CommandIDs.togglePinTab);
    };
    // The view a new one replaces (none while every open one is pinned).
    const unpinned = <T extends MainAreaWidget>(tracker: WidgetTracker<T>) =>
      reusableView(
        tracker.filter(() => true),
        isPinned
      );
    const addPinButton = <T extends MainAreaWidget>(
      widget: T,
      tracker: WidgetTracker<T>,
      pin: boolean
    ) => {
      const button = new ToolbarButton({
        label: 'Pin',
        className: 'jp-mm-pin',
        tooltip: PIN_TIP,
        pressedTooltip: UNPIN_TIP,
        onClick: () => setPinned(widget, !isPinned(widget))
      });
      pins.set(widget, { button, save: () => void tracker.save(widget) });
      widget.toolbar.addItem('pin', button);
      setPinned(widget, pin);
    };
    // The run or compare view whose tab was right-clicked (JupyterLab's own
    // tab commands find it the same way), else the current one.
    const tabView = () => {
      const tab = app.contextMenuHitTest(node => !!node.dataset.id);
      if (!tab) {
        return pinnable(shell.currentWidget);
      }
      return pinnable(
        runs.find(w => w.id === tab.dataset.id) ??
          compares.find(w => w.id === tab.dataset.id)
      );
    };
    commands.addCommand(CommandIDs.togglePinTab, {
      label: () => {
        const view = tabView();
        return view && isPinned(view) ? 'Unpin Tab' : 'Pin Tab';
      },
      caption: () => {
        const view = tabView();
        return view && isPinned(view) ? UNPIN_TIP : PIN_TIP;
      },
      describedBy: { args: { type: 'object', properties: {} } },
      isVisible: () => tabView() !== null,
      execute: () => {
        const view = tabView();
        if (view) {
          setPinned(view, !isPinned(view));
        }
      }
    });
    app.contextMenu.addItem({
      command: CommandIDs.togglePinTab,
      selector: '#jp-main-dock-panel .lm-DockPanel-tabBar .lm-TabBar-tab',
      rank: 3
    });
    // Tab titles are run names; a name two open run views share gets the
    // short id (so every open run view is relabelled when one comes or goes).
    const relabelRuns = () => {
      const shown = runs
        .filter(w => !!w.content.model.run)
        .map(w => w.content.model.run!);
      runs.forEach(w => {
        const run = w.content.model.run;
        if (run) {
          w.title.label = runTabLabel(run, shown);
          w.title.caption = `${run.name || 'Run'}\nrun ${run.id} (${run.status})`;
        }
      });
    };
    runs.widgetAdded.connect(relabelRuns);

    /**
     * The run ids of a command's arguments (``runId`` or ``runIds``), or asked for when missing.
     */
    const runIdsOrAsk = async (
      args: ReadonlyPartialJSONObject,
      title: string,
      count: number
    ): Promise<string[] | null> => {
      const given = args.runIds
        ? (args.runIds as string[])
        : args.runId
          ? [args.runId as string]
          : [];
      if (given.length >= count) {
        return given;
      }
      const reply = await InputDialog.getText({
        title,
        label:
          count === 1
            ? 'Run id (32 hex characters)'
            : `Run ids (${count === 2 ? 'two' : 'two or more'}, separated by spaces or commas)`,
        placeholder: '5f0c…'
      });
      if (!reply.button.accept || !reply.value) {
        return null;
      }
      const ids = parseRunIds(reply.value);
      if (ids.length < count) {
        await showErrorMessage(
          title,
          `Expected ${count === 1 ? 'a run id' : `at least ${count} run ids`}: 32 hexadecimal characters each.`
        );
        return null;
      }
      return ids;
    };

    /**
     * A command's `execute` acting on the run ids of its arguments, asked for
     * when missing (nothing happens when the user cancels).
     */
    const onRunIds =
      <T>(
        title: string,
        count: number,
        act: (runIds: string[], args: ReadonlyPartialJSONObject) => Promise<T>
      ) =>
      async (args: ReadonlyPartialJSONObject): Promise<T | undefined> => {
        const ids = await runIdsOrAsk(args, title, count);
        return ids ? act(ids, args) : undefined;
      };

    const restoreSnapshot = async (runId: string): Promise<void> => {
      const reply = await api.snapshot(runId);
      if (!reply) {
        await showErrorMessage(
          'Restore snapshot',
          `Run ${runId} has no notebook snapshot.`
        );
        return;
      }
      const contents = serviceManager.contents;
      const created = await contents.newUntitled({
        type: 'notebook',
        path: ''
      });
      await contents.save(created.path, {
        type: 'notebook',
        format: 'json',
        content: restoredNotebook(reply.notebook, runId)
      });
      await commands.execute('docmanager:open', {
        path: created.path,
        factory: 'Notebook'
      });
    };

    /**
     * Open a run or compare view as `openView` does: unless `args.pinned`, it replaces the
     * unpinned view of its kind, and its Pin button keeps it.
     */
    const openPinnable = <T extends Widget>(
      tracker: WidgetTracker<MainAreaWidget<T>>,
      args: ReadonlyPartialJSONObject,
      isOpen: (widget: MainAreaWidget<T>) => boolean,
      create: () => Promise<IMainAreaView<T>>
    ) =>
      openView(shell, tracker, isOpen, async () => {
        const pin = args.pinned === true;
        const replaced = pin ? null : unpinned(tracker);
        const view = await create();
        return {
          ...view,
          tab: { ...view.tab, replaces: replaced },
          opened: widget => {
            addPinButton(widget, tracker, pin);
            view.opened?.(widget);
          }
        };
      });

    commands.addCommand(CommandIDs.openRun, {
      label: 'Open Run…',
      caption: 'Open a run in the main area',
      describedBy: runIdArgs('runId', 'the run id (32 hex characters)'),
      icon: args => (args.runId ? mmIcon : undefined),
      execute: onRunIds('Open run', 1, ([runId], args) =>
        openPinnable(
          runs,
          args,
          w => w.content.runId === runId,
          async () => {
            const [{ RunViewModel }, { RunViewWidget }] = await Promise.all([
              import('./runmodel'),
              import('./runview')
            ]);
            const model = new RunViewModel(api, runId);
            const content = new RunViewWidget(model, {
              rendermime,
              restoreSnapshot: id =>
                commands.execute(CommandIDs.restoreSnapshot, { runId: id }),
              rerun: id =>
                void commands.execute(CommandIDs.rerunRun, { runId: id }),
              register: async id =>
                commands.hasCommand(CommandIDs.registerModel)
                  ? commands.execute(CommandIDs.registerModel, { runId: id })
                  : null,
              openVersion: (name, version) =>
                void commands.execute(CommandIDs.openVersion, {
                  name,
                  version
                })
            });
            return {
              content,
              tab: {
                id: `jupyter-mm-run-${runId}`,
                label: runId.slice(0, 8),
                caption: `run ${runId}`
              },
              load: () => model.load(),
              opened: widget => {
                model.changed.connect(relabelRuns);
                widget.disposed.connect(relabelRuns);
              }
            };
          }
        )
      )
    });

    commands.addCommand(CommandIDs.compareRuns, {
      label: 'Compare Runs…',
      caption: 'Compare runs side by side',
      describedBy: runIdArgs('runIds', 'run ids'),
      execute: onRunIds('Compare runs', 2, (runIds, args) =>
        openPinnable(
          compares,
          args,
          w => w.content.model.runIds.join(',') === runIds.join(','),
          async () => {
            const { CompareModel, CompareViewWidget } =
              await import('./compareview');
            const model = new CompareModel(api, runIds);
            const content = new CompareViewWidget(model, {
              openRun: runId =>
                void commands.execute(CommandIDs.openRun, { runId }),
              openDiff: (a, b) =>
                void commands.execute(CommandIDs.diffRuns, { runIds: [a, b] })
            });
            return {
              content,
              tab: {
                id: `jupyter-mm-compare-${Date.now().toString(36)}`,
                label: `Compare ${runIds.length} runs`,
                caption: runIds.join('\n')
              },
              load: () => model.load(),
              opened: widget =>
                model.changed.connect(() => {
                  if (model.runs.length > 0) {
                    widget.title.label = compareTabLabel(model.runs);
                    widget.title.caption = model.runs
                      .map(r => `${r.name || 'Run'}: ${r.id}`)
                      .join('\n');
                  }
                })
            };
          }
        )
      )
    });

    commands.addCommand(CommandIDs.chartRuns, {
      label: 'Chart Runs…',
      caption: 'One chart per metric across runs (the charts workspace)',
      describedBy: {
        args: {
          type: 'object',
          properties: {
            runIds: {
              type: 'array',
              items: { type: 'string' },
              description: 'run ids; asked for when missing'
            },
            experimentId: {
              type: 'string',
              description:
                'the experiment whose saved layout is used (default *: all experiments)'
            },
            title: { type: 'string', description: 'what the runs are' },
            note: {
              type: 'string',
              description: 'why some runs are left out'
            }
          },
          required: []
        }
      },
      execute: async args => {
        const runIds = await runIdsOrAsk(args, 'Chart runs', 1);
        if (!runIds) {
          return;
        }
        // One workspace: opening another replaces it, in its place.
        const replaced = charts.currentWidget ?? charts.find(() => true);
        return openView(shell, charts, null, async () => {
          const { ChartsModel, ChartsViewWidget } =
            await import('./chartsview');
          const experimentId = (args.experimentId as string) || '*';
          const title = (args.title as string) || `${runIds.length} runs`;
          const model = new ChartsModel({
            api,
            runIds,
            experimentId,
            title,
            note: (args.note as string) || '',
            memory: chartsMemory
          });
          const content = new ChartsViewWidget(
            model,
            runId => void commands.execute(CommandIDs.openRun, { runId })
          );
          return {
            content,
            tab: {
              id: `jupyter-mm-charts-${Date.now().toString(36)}`,
              label: `Charts: ${title}`,
              caption: `${runIds.length} runs of ${title}`,
              replaces: replaced
            },
            load: () => model.load()
          };
        });
      }
    });

    commands.addCommand(CommandIDs.diffRuns, {
      label: 'Diff Notebooks of Two Runs…',
      caption: 'Show the notebook diff between two runs’ snapshots (nbdime)',
      describedBy: runIdArgs('runIds', '[base, other] run ids'),
      execute: onRunIds('Diff the notebooks of two runs', 2, ([base, other]) =>
        openView(
          shell,
          diffs,
          w => w.content.runIds[0] === base && w.content.runIds[1] === other,
          async () => {
            const { NotebookDiffView } = await import('./diffview');
            const content = new NotebookDiffView({
              api,
              rendermime,
              base,
              other,
              labels: [base.slice(0, 8), other.slice(0, 8)]
            });
            return {
              content,
              tab: {
                id: `jupyter-mm-diff-${base}-${other}`,
                label: `Diff ${base.slice(0, 6)}…${other.slice(0, 6)}`,
                caption: `Notebook diff: ${base} → ${other}`
              },
              load: () => content.load()
            };
          }
        )
      )
    });

    commands.addCommand(CommandIDs.restoreSnapshot, {
      label: 'Restore Run Snapshot to a New Notebook…',
      caption: 'Create a new notebook from a run’s notebook snapshot',
      describedBy: runIdArgs('runId', 'the run id (32 hex characters)'),
      execute: onRunIds('Restore snapshot', 1, async ([runId]) => {
        try {
          await restoreSnapshot(runId);
        } catch (error) {
          await showErrorMessage('Restore snapshot', error as Error);
        }
      })
    });

    addToPalette(palette, TRACKING_CATEGORY, [
      CommandIDs.openRun,
      CommandIDs.compareRuns,
      CommandIDs.diffRuns,
      CommandIDs.restoreSnapshot,
      CommandIDs.togglePinTab
    ]);

    // `?mm-run=<id>`: where the link the mlflow client prints leads
    // (`jupyter_mm/server/mlflow_link.py`). Open that run, then drop the
    // parameter so a reload does not open it again.
    const linked = runFromUrl(window.location.href);
    if (linked) {
      void app.restored.then(() => {
        const url = new URL(window.location.href);
        url.searchParams.delete(RUN_QUERY);
        window.history.replaceState(window.history.state, '', url.toString());
        return commands.execute(CommandIDs.openRun, { runId: linked });
      });
    }

    if (themes) {
      themes.themeChanged.connect(() => {
        void import('./chart').then(chart => chart.themeChanged.emit());
      });
    }

    // Live updates: the store's events reach every open run and compare view;
    // each decides whether the event concerns it and coalesces the re-queries.
    // A closed view has left its tracker (and its model stops its timers).
    const gaps = new EventGaps();
    onStoreEvents(serviceManager.events, event => {
      if (gaps.missedBefore(event)) {
        // Whatever the missed events said is unknown: every view loads again.
        runs.forEach(w => w.content.model.resync());
        compares.forEach(w => w.content.model.resync());
        charts.forEach(w => w.content.model.resync());
        return;
      }
      runs.forEach(w => w.content.model.storeEvent(event));
      compares.forEach(w => w.content.model.storeEvent(event));
      charts.forEach(w => w.content.model.storeEvent(event));
    });
  }
};

export default viewsPlugin;
