import { ILayoutRestorer, JupyterFrontEnd } from '@jupyterlab/application';
import {
  ICommandPalette,
  MainAreaWidget,
  WidgetTracker
} from '@jupyterlab/apputils';
import type { IRestorer } from '@jupyterlab/statedb';
import { Widget } from '@lumino/widgets';

import { mmIcon } from './icons';

/**
 * The tab of a view of jupyter-mm in the main area.
 */
export interface IMainAreaTab {
  id: string;
  label: string;
  caption: string;
  /**
   * The view this one replaces: the new tab opens right after it, and it is closed.
   */
  replaces?: Widget | null;
}

/**
 * Open a view of jupyter-mm in the main area: a closable tab with the jupyter-mm icon, added to
 * its tracker (so the layout restorer reopens it) and activated.
 */
export function openInMainArea<T extends Widget>(
  shell: JupyterFrontEnd.IShell,
  tracker: WidgetTracker<MainAreaWidget<T>>,
  content: T,
  tab: IMainAreaTab
): MainAreaWidget<T> {
  const widget = new MainAreaWidget({ content });
  widget.id = tab.id;
  widget.title.label = tab.label;
  widget.title.caption = tab.caption;
  widget.title.icon = mmIcon;
  widget.title.closable = true;
  void tracker.add(widget);
  const replaced = tab.replaces;
  // Next to the view it replaces, when it replaces one.
  shell.add(
    widget,
    'main',
    replaced ? { ref: replaced.id, mode: 'tab-after' } : undefined
  );
  shell.activateById(widget.id);
  replaced?.dispose();
  return widget;
}

/**
 * A view made by an "open X" command, once the view's module is imported.
 */
export interface IMainAreaView<T extends Widget> {
  content: T;
  tab: IMainAreaTab;
  /**
   * Load what the view shows; it runs once the tab is in the main area.
   */
  load(): Promise<unknown>;
  /**
   * Set the new tab up (toolbar buttons, relabelling) before the view loads.
   */
  opened?(widget: MainAreaWidget<T>): void;
}

/**
 * What every "open X" command does: show the open view `isOpen` finds (null: a new view every
 * time), else make one with `create` (which imports the view's module lazily), open it in the
 * main area and wait until it has loaded.
 */
export async function openView<T extends Widget>(
  shell: JupyterFrontEnd.IShell,
  tracker: WidgetTracker<MainAreaWidget<T>>,
  isOpen: ((widget: MainAreaWidget<T>) => boolean) | null,
  create: () => Promise<IMainAreaView<T>>
): Promise<MainAreaWidget<T>> {
  const open = isOpen ? activateOpen(shell, tracker, isOpen) : null;
  if (open) {
    return open;
  }
  const view = await create();
  const widget = openInMainArea(shell, tracker, view.content, view.tab);
  view.opened?.(widget);
  await view.load();
  return widget;
}

/**
 * The tracker of one kind of main-area view; with a layout restorer, the views open at reload
 * are reopened by running `restore.command` again.
 */
export function viewTracker<T extends Widget>(
  namespace: string,
  restorer: ILayoutRestorer | null,
  restore: IRestorer.IOptions<MainAreaWidget<T>>
): WidgetTracker<MainAreaWidget<T>> {
  const tracker = new WidgetTracker<MainAreaWidget<T>>({ namespace });
  void restorer?.restore(tracker, restore);
  return tracker;
}

/**
 * The open view `test` finds in `tracker`, brought to the front; null when
 * there is none (opening a view that is open only shows it).
 */
export function activateOpen<W extends Widget>(
  shell: JupyterFrontEnd.IShell,
  tracker: WidgetTracker<W>,
  test: (widget: W) => boolean
): W | null {
  const open = tracker.find(test);
  if (!open) {
    return null;
  }
  shell.activateById(open.id);
  return open;
}

/**
 * The palette category of the run panel's and the views' commands.
 */
export const TRACKING_CATEGORY = 'Model Tracking';

/**
 * Add commands to the command palette (when there is one) under `category`.
 */
export function addToPalette(
  palette: ICommandPalette | null,
  category: string,
  commands: ReadonlyArray<string>
): void {
  for (const command of commands) {
    palette?.addItem({ command, category });
  }
}
