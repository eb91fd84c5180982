/**
 * The notebook diff view: nbdime's rendering of the diff between two runs'
 * notebook snapshots, with sources / outputs / metadata toggles that map to
 * the `parts` query of `GET runs/{a}/snapshot/diff?other={b}`.
 */

import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { Panel, Widget } from '@lumino/widgets';

import { ViewsAPI } from './api';
import { IDiffParts, IDiffReply } from './types';
import { errorText } from '../format';
import { NewestReply } from '../newestReply';

/**
 * The parts a diff compares, as the `parts` query value.
 */
export function partsQuery(parts: IDiffParts): string {
  return (['sources', 'outputs', 'metadata'] as const)
    .filter(p => parts[p])
    .join(',');
}

/**
 * A one-line summary of a diff reply.
 */
export function diffSummary(reply: IDiffReply): string {
  const { added, removed, modified } = reply.cells;
  if (added + removed + modified === 0 && reply.diff.length === 0) {
    return 'The notebooks are the same in the parts compared.';
  }
  const cells = `${modified} cell${modified === 1 ? '' : 's'} changed, ${added} added, ${removed} removed`;
  const metadata = reply.diff.some(op => op.key === 'metadata')
    ? '; notebook metadata changed'
    : '';
  return cells + metadata;
}

/**
 * The diff between the snapshots of two runs.
 */
export class NotebookDiffView extends Panel {
  constructor(options: NotebookDiffView.IOptions) {
    super();
    this._api = options.api;
    this._rendermime = options.rendermime;
    this.runIds = [options.base, options.other];
    this.id = `jupyter-mm-diff-${options.base}-${options.other}-content`;
    this.addClass('jp-mm-view');
    this.addClass('jp-mm-diffview');
    this._header = new Widget();
    this._header.addClass('jp-mm-diff-header');
    this._buildHeader(options.labels ?? [options.base, options.other]);
    this.addWidget(this._header);
    this._body = new Panel();
    this._body.addClass('jp-mm-diff-body');
    this.addWidget(this._body);
  }

  /**
   * `[base, other]`: the diff goes from the first run's notebook to the second's.
   */
  readonly runIds: [string, string];

  /**
   * The parts compared.
   */
  get parts(): IDiffParts {
    return { ...this._parts };
  }

  /**
   * The last diff reply, if any.
   */
  get reply(): IDiffReply | null {
    return this._reply;
  }

  /**
   * Change the parts compared and load the diff again.
   */
  setParts(parts: IDiffParts): Promise<void> {
    this._parts = { ...parts };
    this._syncToggles();
    return this.load();
  }

  /**
   * Fetch the diff and render it with nbdime.
   */
  async load(): Promise<void> {
    const isNewest = this._loads.begin();
    this.node.setAttribute('aria-busy', 'true');
    this._status.textContent = 'Loading the diff…';
    this._body.node.classList.remove('jp-mm-diff-ready');
    if (!partsQuery(this._parts)) {
      this._clearBody();
      this._status.textContent = 'Choose at least one part to compare.';
      this.node.removeAttribute('aria-busy');
      return;
    }
    try {
      const [reply, nbdime] = await Promise.all([
        this._api.diff(this.runIds[0], this.runIds[1], this._parts),
        import('./nbdime')
      ]);
      if (!isNewest() || this.isDisposed) {
        return;
      }
      const widget = await nbdime.createDiffWidget(
        reply.base.notebook,
        reply.diff,
        this._rendermime
      );
      if (!isNewest() || this.isDisposed) {
        widget.dispose();
        return;
      }
      this._reply = reply;
      this._clearBody();
      this._body.addWidget(widget);
      this._status.textContent = diffSummary(reply);
      this._body.node.classList.add('jp-mm-diff-ready');
    } catch (error) {
      if (!isNewest() || this.isDisposed) {
        return;
      }
      this._clearBody();
      this._status.textContent = `Could not diff the notebooks: ${errorText(error)}`;
    } finally {
      if (isNewest()) {
        this.node.removeAttribute('aria-busy');
      }
    }
  }

  private _clearBody(): void {
    while (this._body.widgets.length) {
      this._body.widgets[0].dispose();
    }
  }

  private _buildHeader(labels: [string, string]): void {
    const node = this._header.node;
    const title = document.createElement('h1');
    title.className = 'jp-mm-view-title';
    title.append('Notebook diff: ', code(labels[0]), ' → ', code(labels[1]));
    const toggles = document.createElement('div');
    toggles.className = 'jp-mm-diff-toggles';
    toggles.setAttribute('role', 'group');
    toggles.setAttribute('aria-label', 'Parts to compare');
    for (const part of ['sources', 'outputs', 'metadata'] as const) {
      const label = document.createElement('label');
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.checked = this._parts[part];
      box.dataset.part = part;
      box.addEventListener('change', () => {
        void this.setParts({ ...this._parts, [part]: box.checked });
      });
      this._toggles[part] = box;
      label.append(box, ` ${part}`);
      toggles.appendChild(label);
    }
    this._status.className = 'jp-mm-diff-status';
    this._status.setAttribute('aria-live', 'polite');
    node.append(title, toggles, this._status);
  }

  private _syncToggles(): void {
    for (const part of ['sources', 'outputs', 'metadata'] as const) {
      const box = this._toggles[part];
      if (box) {
        box.checked = this._parts[part];
      }
    }
  }

  private _api: ViewsAPI;
  private _rendermime: IRenderMimeRegistry;
  private _header: Widget;
  private _body: Panel;
  private _status = document.createElement('p');
  private _toggles: Partial<Record<keyof IDiffParts, HTMLInputElement>> = {};
  private _parts: IDiffParts = { sources: true, outputs: true, metadata: true };
  private _reply: IDiffReply | null = null;
  private _loads = new NewestReply();
}

export namespace NotebookDiffView {
  export interface IOptions {
    api: ViewsAPI;
    rendermime: IRenderMimeRegistry;
    base: string;
    other: string;
    /**
     * How to name the two runs in the title (default their ids).
     */
    labels?: [string, string];
  }
}

function code(text: string): HTMLElement {
  const el = document.createElement('code');
  el.textContent = text;
  return el;
}
