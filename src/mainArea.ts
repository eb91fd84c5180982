import { JupyterFrontEnd } from '@jupyterlab/application';
import { MainAreaWidget, WidgetTracker } from '@jupyterlab/apputils';
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
