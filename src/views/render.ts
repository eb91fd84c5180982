/**
 * Read-only rendering of notebook outputs and whole notebooks through the
 * rendermime registry. Everything is rendered untrusted: HTML is sanitised by
 * the registry's renderers, scripts never run, and sources are text nodes.
 */

import { IRenderMimeRegistry, OutputModel } from '@jupyterlab/rendermime';
import { Panel, Widget } from '@lumino/widgets';

import { INotebookLike, IOutputLike } from './types';

/**
 * Join an nbformat multi-line string (a string or a list of lines).
 */
export function joinSource(source: unknown): string {
  if (Array.isArray(source)) {
    return source.join('');
  }
  return typeof source === 'string' ? source : '';
}

/**
 * A panel holding the outputs, each through the registry's preferred safe
 * renderer; outputs no renderer can show safely say so in a line of text.
 */
export function renderOutputs(
  outputs: IOutputLike[],
  rendermime: IRenderMimeRegistry
): Panel {
  const panel = new Panel();
  panel.addClass('jp-mm-outputs');
  for (const output of outputs) {
    let model: OutputModel;
    try {
      model = new OutputModel({ value: output as any, trusted: false });
    } catch {
      continue;
    }
    const mimeType = rendermime.preferredMimeType(model.data, 'ensure');
    if (!mimeType) {
      const note = new Widget();
      note.addClass('jp-mm-output-skipped');
      note.node.textContent = `(output of type ${output.output_type} not shown)`;
      panel.addWidget(note);
      continue;
    }
    const renderer = rendermime.createRenderer(mimeType);
    renderer.addClass('jp-OutputArea-output');
    void renderer.renderModel(model);
    panel.addWidget(renderer);
  }
  return panel;
}

/**
 * A read-only rendering of a notebook: markdown cells rendered (sanitised),
 * code cells as their source text with prompt and outputs.
 */
export function renderNotebook(
  notebook: INotebookLike,
  rendermime: IRenderMimeRegistry,
  highlightCellId?: string | null
): Panel {
  const panel = new Panel();
  panel.addClass('jp-mm-notebook');
  for (const cell of notebook.cells ?? []) {
    const box = new Panel();
    box.addClass('jp-mm-nbcell');
    const type = String(cell.cell_type ?? '');
    box.addClass(`jp-mm-nbcell-${type || 'unknown'}`);
    if (highlightCellId && cell.id === highlightCellId) {
      box.addClass('jp-mm-nbcell-tracked');
    }
    const source = joinSource(cell.source);
    if (type === 'markdown') {
      const renderer = rendermime.createRenderer('text/markdown');
      const model = rendermime.createModel({
        data: { 'text/markdown': source },
        trusted: false
      });
      void renderer.renderModel(model);
      box.addWidget(renderer);
    } else {
      const input = new Widget();
      input.addClass('jp-mm-nbcell-input');
      const prompt = document.createElement('div');
      prompt.className = 'jp-mm-nbcell-prompt';
      if (type === 'code') {
        const count = cell.execution_count;
        prompt.textContent = `[${typeof count === 'number' ? count : ' '}]:`;
      }
      const pre = document.createElement('pre');
      pre.className = 'jp-mm-nbcell-source';
      pre.textContent = source;
      input.node.append(prompt, pre);
      box.addWidget(input);
      if (
        type === 'code' &&
        Array.isArray(cell.outputs) &&
        cell.outputs.length
      ) {
        box.addWidget(renderOutputs(cell.outputs as IOutputLike[], rendermime));
      }
    }
    panel.addWidget(box);
  }
  return panel;
}
