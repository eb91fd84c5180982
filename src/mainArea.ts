import { JupyterFrontEnd } from '@jupyterlab/application';
import {
  ICommandPalette,
  MainAreaWidget,
  WidgetTracker
} from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import { mmIcon } from './icons';

/**
 * Open a view of jupyter-mm in the main area: a closable tab with the jupyter-mm icon, added to
 * its tracker (so the layout restorer reopens it) and activated.
 */
export function openInMainArea<T extends Widget>(
  shell: JupyterFrontEnd.IShell,
  tracker: WidgetTracker<MainAreaWidget<T>>,
  content: T,
  tab: { id: string; label: string; caption: string; ref?: string }
): MainAreaWidget<T> {
  const widget = new MainAreaWidget({ content });
  widget.id = tab.id;
  widget.title.label = tab.label;
  widget.title.caption = tab.caption;
  widget.title.icon = mmIcon;
  widget.title.closable = true;
  void tracker.add(widget);
  // Next to the view it replaces, when it replaces one.
  shell.add(
    widget,
    'main',
    tab.ref ? { ref: tab.ref, mode: 'tab-after' } : undefined
  );
  shell.activateById(widget.id);
  return widget;
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
