/**
 * nbdime's notebook diff widget and its styles, in one module the diff view
 * imports lazily (nbdime and CodeMirror's merge view are large).
 */

import 'nbdime/lib/common/collapsible.css';
import 'nbdime/lib/upstreaming/flexpanel.css';
import 'nbdime/lib/common/dragpanel.css';
import 'nbdime/lib/styles/variables.css';
import 'nbdime/lib/styles/common.css';
import 'nbdime/lib/styles/diff.css';

import type * as nbformat from '@jupyterlab/nbformat';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { NotebookDiffModel } from 'nbdime/lib/diff/model';
import { NotebookDiffWidget } from 'nbdime/lib/diff/widget';

/**
 * nbdime's rendering of a diff: the base notebook plus nbdime's diff entries
 * (as the server's `snapshot/diff` returns them).
 */
export async function createDiffWidget(
  base: unknown,
  diff: unknown[],
  rendermime: IRenderMimeRegistry
): Promise<NotebookDiffWidget> {
  const model = new NotebookDiffModel(
    base as nbformat.INotebookContent,
    diff as any
  );
  const widget = new NotebookDiffWidget({ model, rendermime });
  await widget.init();
  return widget;
}
