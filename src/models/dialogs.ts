/**
 * Small forms in JupyterLab dialogs: labelled text inputs and text areas,
 * keyboard accessible (Tab between fields, Enter accepts, Escape cancels).
 */

import { Dialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

export interface IFormField {
  key: string;
  label: string;
  value?: string;
  placeholder?: string;
  multiline?: boolean;
  required?: boolean;
  /**
   * Choices offered as a datalist (free text still allowed).
   */
  choices?: string[];
  /**
   * A pick list (a `<select>`): the only values accepted, each with its label.
   */
  options?: { value: string; label: string }[];
}

/**
 * The body of a form dialog: one labelled input per field.
 */
export class FormBody
  extends Widget
  implements Dialog.IBodyWidget<Record<string, string>>
{
  constructor(
    readonly fields: IFormField[],
    intro?: string
  ) {
    super();
    this.addClass('jp-mm-form');
    if (intro) {
      const p = document.createElement('p');
      p.className = 'jp-mm-form-intro';
      p.textContent = intro;
      this.node.appendChild(p);
    }
    fields.forEach(field => {
      const id = `jp-mm-form-${Private.ids.next++}`;
      const label = document.createElement('label');
      label.htmlFor = id;
      label.textContent = field.label + (field.required ? ' *' : '');
      if (field.options) {
        const select = document.createElement('select');
        select.id = id;
        select.className = 'jp-mod-styled jp-mm-form-input';
        select.name = field.key;
        field.options.forEach(o => {
          const option = document.createElement('option');
          option.value = o.value;
          option.textContent = o.label; // user text: never markup
          select.appendChild(option);
        });
        select.value = field.value ?? field.options[0]?.value ?? '';
        this.node.appendChild(label);
        this.node.appendChild(select);
        this._inputs[field.key] = select;
        return;
      }
      const input = field.multiline
        ? document.createElement('textarea')
        : document.createElement('input');
      input.id = id;
      input.className = field.multiline
        ? 'jp-mod-styled jp-mm-form-textarea'
        : 'jp-mod-styled jp-mm-form-input';
      input.name = field.key;
      input.value = field.value ?? '';
      input.placeholder = field.placeholder ?? '';
      if (field.required) {
        input.required = true;
        input.setAttribute('aria-required', 'true');
      }
      if (field.choices && field.choices.length && !field.multiline) {
        const list = document.createElement('datalist');
        list.id = `${id}-choices`;
        field.choices.forEach(choice => {
          const option = document.createElement('option');
          option.value = choice;
          list.appendChild(option);
        });
        input.setAttribute('list', list.id);
        this.node.appendChild(list);
      }
      this.node.appendChild(label);
      this.node.appendChild(input);
      this._inputs[field.key] = input;
    });
  }

  getValue(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [key, input] of Object.entries(this._inputs)) {
      out[key] = input.value;
    }
    return out;
  }

  private _inputs: Record<
    string,
    HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement
  > = {};
}

/**
 * Ask for the fields; null when cancelled. Required fields left blank are
 * asked again with a note.
 */
export async function askForm(options: {
  title: string;
  fields: IFormField[];
  intro?: string;
  accept?: string;
}): Promise<Record<string, string> | null> {
  let fields = options.fields;
  let intro = options.intro;
  for (;;) {
    const body = new FormBody(fields, intro);
    const result = await new Dialog({
      title: options.title,
      body,
      focusNodeSelector: 'input, select, textarea',
      buttons: [
        Dialog.cancelButton(),
        Dialog.okButton({ label: options.accept ?? 'OK' })
      ]
    }).launch();
    if (!result.button.accept || !result.value) {
      return null;
    }
    const value = result.value;
    const blank = fields.filter(f => f.required && !value[f.key]?.trim());
    if (blank.length === 0) {
      return value;
    }
    fields = fields.map(f => ({ ...f, value: value[f.key] }));
    intro = `Please fill in: ${blank.map(f => f.label).join(', ')}.`;
  }
}

namespace Private {
  export const ids = { next: 0 };
}

/**
 * Ask for the fields and submit them; a refusal (the server's message, or an
 * error `submit` throws for what it cannot read) opens the form again with the
 * message at its top and what was typed kept. The answer of `submit`, or null
 * when cancelled.
 */
export async function askAndSubmit<T>(
  options: {
    title: string;
    fields: IFormField[];
    intro?: string;
    accept?: string;
  },
  submit: (answer: Record<string, string>) => Promise<T>,
  describe: (error: unknown) => string,
  ask: typeof askForm = askForm
): Promise<T | null> {
  let fields = options.fields;
  let intro = options.intro;
  for (;;) {
    const answer = await ask({ ...options, fields, intro });
    if (!answer) {
      return null;
    }
    try {
      return await submit(answer);
    } catch (error) {
      intro = describe(error);
      fields = fields.map(f => ({ ...f, value: answer[f.key] ?? f.value }));
    }
  }
}
