/**
 * The Models panel's Webhooks section: the webhooks that fire for the
 * selected model (its own and the store-wide ones), a form to create one
 * (name, URL, events, this model or every model, secret), Enable/Disable,
 * Delete, Test, and each webhook's deliveries with every attempt (status,
 * HTTP status, duration, error, the response's first bytes).
 *
 * Names, URLs, errors and response bodies are user or remote text: React text
 * only, never HTML.
 */

import * as React from 'react';

import { Dialog, showDialog } from '@jupyterlab/apputils';
import { ISignal, Signal } from '@lumino/signaling';

import type { IWebhook, IWebhookDelivery, IWebhookTestResult } from '../schema';
import { errorText } from './api';
import { ErrorAlert, RecordsTable } from './components';
import { useRerenderOn } from '../hooks';
import { formatUtc } from './format';
import { IWebhooksApi, IWebhookInput, WEBHOOK_EVENTS } from './webhooks-api';

/**
 * How much of a response body the delivery log shows (it keeps 4 KB).
 */
export const RESPONSE_EXCERPT = 300;

export function excerpt(text: string | null | undefined): string {
  const t = text ?? '';
  return t.length > RESPONSE_EXCERPT ? t.slice(0, RESPONSE_EXCERPT) + '…' : t;
}

/**
 * What is wrong with a filled create form before the server is asked, else null.
 */
export function checkWebhookInput(input: IWebhookInput): string | null {
  if (!input.name.trim()) {
    return 'Give the webhook a name.';
  }
  if (!/^https?:\/\/\S+$/i.test(input.url.trim())) {
    return 'The URL is an http:// or https:// address.';
  }
  if (input.events.length === 0) {
    return 'Choose at least one event.';
  }
  return null;
}

/**
 * One model's webhooks and their delivery logs, loaded from the REST API.
 */
export class WebhooksModel {
  constructor(
    readonly api: IWebhooksApi,
    readonly model: string
  ) {}

  webhooks: IWebhook[] = [];
  loaded = false;
  error: string | null = null;
  /**
   * Each webhook's deliveries, once shown.
   */
  deliveries = new Map<string, IWebhookDelivery[]>();
  /**
   * Each webhook's last Test answer.
   */
  tests = new Map<string, IWebhookTestResult>();

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  async load(): Promise<void> {
    await this._do(async () => {
      this.webhooks = await this.api.list(this.model);
      this.loaded = true;
      await Promise.all(
        [...this.deliveries.keys()].map(id => this._deliveries(id))
      );
    });
  }

  /**
   * Create a webhook; the server's refusal (a private address, an unknown
   * event) is thrown for the form to show.
   */
  async create(input: IWebhookInput): Promise<IWebhook> {
    const problem = checkWebhookInput(input);
    if (problem) {
      throw new Error(problem);
    }
    const hook = await this.api.create({
      ...input,
      name: input.name.trim(),
      url: input.url.trim()
    });
    await this.load();
    return hook;
  }

  setStatus(id: string, status: IWebhook['status']): Promise<void> {
    return this._do(async () => {
      await this.api.setStatus(id, status);
      this.webhooks = await this.api.list(this.model);
    });
  }

  remove(id: string): Promise<void> {
    return this._do(async () => {
      await this.api.remove(id);
      this.deliveries.delete(id);
      this.tests.delete(id);
      this.webhooks = await this.api.list(this.model);
    });
  }

  /**
   * Send a sample event now; its delivery is shown.
   */
  test(id: string): Promise<void> {
    return this._do(async () => {
      this.tests.set(id, await this.api.test(id));
      await this._deliveries(id);
    });
  }

  /**
   * Show or hide a webhook's deliveries.
   */
  toggleDeliveries(id: string): Promise<void> {
    if (this.deliveries.has(id)) {
      this.deliveries.delete(id);
      this._changed.emit();
      return Promise.resolve();
    }
    return this._do(() => this._deliveries(id));
  }

  private async _deliveries(id: string): Promise<void> {
    this.deliveries.set(id, await this.api.deliveries(id));
  }

  private async _do(work: () => Promise<void>): Promise<void> {
    try {
      await work();
      this.error = null;
    } catch (error) {
      this.error = errorText(error);
    }
    this._changed.emit();
  }

  private _changed = new Signal<this, void>(this);
}

function TextField(props: {
  label: string;
  name: string;
  value: string;
  set: (value: string) => void;
  type?: 'url' | 'password';
  placeholder?: string;
}): JSX.Element {
  return (
    <label className="jp-mm-card-field">
      <span>{props.label}</span>
      <input
        className="jp-mod-styled"
        name={props.name}
        type={props.type ?? 'text'}
        placeholder={props.placeholder}
        autoComplete={props.type === 'password' ? 'new-password' : undefined}
        required={props.label.endsWith('*')}
        value={props.value}
        onChange={e => props.set(e.target.value)}
      />
    </label>
  );
}

function CreateForm(props: {
  model: WebhooksModel;
  onDone: () => void;
}): JSX.Element {
  const { model, onDone } = props;
  const [name, setName] = React.useState('');
  const [url, setUrl] = React.useState('');
  const [secret, setSecret] = React.useState('');
  const [description, setDescription] = React.useState('');
  const [scope, setScope] = React.useState<'model' | 'all'>('model');
  const [events, setEvents] = React.useState<string[]>([
    'model_version.created'
  ]);
  const [error, setError] = React.useState<string | null>(null);
  const [busy, setBusy] = React.useState(false);
  const toggle = (event: string) =>
    setEvents(
      events.includes(event)
        ? events.filter(e => e !== event)
        : WEBHOOK_EVENTS.filter(e => e === event || events.includes(e))
    );
  const submit = async () => {
    setBusy(true);
    try {
      await model.create({
        name,
        url,
        events,
        model: scope === 'model' ? model.model : null,
        secret,
        description
      });
      onDone();
    } catch (e) {
      setError(errorText(e));
      setBusy(false);
    }
  };
  return (
    <form
      className="jp-mm-webhook-form"
      aria-label="New webhook"
      onSubmit={e => {
        e.preventDefault();
        void submit();
      }}
    >
      <TextField
        label="Name *"
        name="webhook-name"
        value={name}
        set={setName}
      />
      <TextField
        label="URL *"
        name="webhook-url"
        type="url"
        placeholder="https://ci.example/hooks/mlflow"
        value={url}
        set={setUrl}
      />
      <fieldset className="jp-mm-webhook-events">
        <legend>Events *</legend>
        {WEBHOOK_EVENTS.map(event => (
          <label key={event} className="jp-mm-webhook-event">
            <input
              type="checkbox"
              name="webhook-event"
              value={event}
              checked={events.includes(event)}
              onChange={() => toggle(event)}
            />
            {event}
          </label>
        ))}
      </fieldset>
      <fieldset className="jp-mm-webhook-scope">
        <legend>Fires for</legend>
        {(
          [
            ['model', `${model.model} only`],
            ['all', 'every model']
          ] as const
        ).map(([value, label]) => (
          <label key={value}>
            <input
              type="radio"
              name="webhook-scope"
              value={value}
              checked={scope === value}
              onChange={() => setScope(value)}
            />
            {label}
          </label>
        ))}
      </fieldset>
      <TextField
        label="Secret (signs deliveries with X-MLflow-Signature; never shown again)"
        name="webhook-secret"
        type="password"
        value={secret}
        set={setSecret}
      />
      <TextField
        label="Description"
        name="webhook-description"
        value={description}
        set={setDescription}
      />
      <ErrorAlert message={error} />
      <div className="jp-mm-actions">
        <button
          type="submit"
          className="jp-mm-button jp-mod-styled jp-mod-accept"
          disabled={busy}
        >
          Create webhook
        </button>
        <button
          type="button"
          className="jp-mm-button jp-mod-styled"
          onClick={onDone}
        >
          Cancel
        </button>
      </div>
    </form>
  );
}

function DeliveriesTable(props: {
  deliveries: IWebhookDelivery[];
}): JSX.Element {
  return (
    <RecordsTable
      records={props.deliveries}
      empty="No delivery yet."
      className="jp-mm-webhook-deliveries"
      label="Deliveries"
      columns={['Created (UTC)', 'Event', 'Status', 'Attempts']}
      row={d => (
        <tr
          key={d.delivery_id}
          data-delivery={d.delivery_id}
          data-status={d.status}
        >
          <td className="jp-mm-nowrap">{formatUtc(d.created_time)}</td>
          <td>
            {d.event}
            <div className="jp-mm-dim">{d.event_key}</div>
          </td>
          <td>
            <span className={`jp-mm-badge jp-mm-delivery-${d.status}`}>
              {d.status}
            </span>
          </td>
          <td>
            <ol className="jp-mm-plain-list jp-mm-webhook-attempts">
              {d.attempt_log.map(a => (
                <li key={a.attempt} data-attempt={a.attempt}>
                  {`#${a.attempt} ${formatUtc(a.time).slice(11, 19)} · ` +
                    `${a.response_status === null ? 'no answer' : `HTTP ${a.response_status}`} · ` +
                    `${a.duration_ms} ms`}
                  {a.error ? (
                    <div className="jp-mm-error">{a.error}</div>
                  ) : null}
                  {a.response_body ? (
                    <pre className="jp-mm-webhook-response">
                      {excerpt(a.response_body)}
                    </pre>
                  ) : null}
                </li>
              ))}
            </ol>
            {d.status === 'pending' && d.next_attempt_time ? (
              <div className="jp-mm-dim">
                next attempt {formatUtc(d.next_attempt_time)}
              </div>
            ) : null}
          </td>
        </tr>
      )}
    />
  );
}

function TestAnswer(props: { result: IWebhookTestResult }): JSX.Element {
  const r = props.result;
  return (
    <div
      className={`jp-mm-webhook-test ${r.success ? '' : 'jp-mm-error'}`}
      role="status"
    >
      {`Test: ${r.success ? 'delivered' : 'not delivered'}` +
        (r.response_status !== null ? ` (HTTP ${r.response_status})` : '') +
        (r.error_message ? ` — ${r.error_message}` : '')}
    </div>
  );
}

async function confirmDelete(hook: IWebhook): Promise<boolean> {
  const result = await showDialog({
    title: 'Delete webhook',
    body: `Delete “${hook.name}” and its delivery log?`,
    buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Delete' })]
  });
  return result.button.accept;
}

function WebhookItem(props: {
  model: WebhooksModel;
  hook: IWebhook;
}): JSX.Element {
  const { model, hook } = props;
  const deliveries = model.deliveries.get(hook.webhook_id);
  const test = model.tests.get(hook.webhook_id);
  const active = hook.status === 'ACTIVE';
  return (
    <li
      className="jp-mm-webhook"
      data-webhook={hook.webhook_id}
      data-status={hook.status}
    >
      <div className="jp-mm-webhook-head">
        <strong className="jp-mm-webhook-name">{hook.name}</strong>{' '}
        <span
          className={`jp-mm-badge jp-mm-webhook-${hook.status.toLowerCase()}`}
        >
          {active ? 'active' : 'disabled'}
        </span>{' '}
        <span className="jp-mm-dim">
          {hook.model ? `${hook.model} only` : 'every model'}
          {hook.has_secret ? ' · signed' : ' · unsigned'}
          {` · by ${hook.created_by}`}
        </span>
      </div>
      <code className="jp-mm-webhook-url">{hook.url}</code>
      <div className="jp-mm-dim jp-mm-webhook-events-list">
        {hook.events.join(', ')}
      </div>
      {hook.description ? <div>{hook.description}</div> : null}
      <div className="jp-mm-actions">
        <button
          className="jp-mm-button jp-mod-styled"
          onClick={() => void model.test(hook.webhook_id)}
        >
          Test
        </button>
        <button
          className="jp-mm-button jp-mod-styled"
          aria-expanded={deliveries !== undefined}
          onClick={() => void model.toggleDeliveries(hook.webhook_id)}
        >
          {deliveries ? 'Hide deliveries' : 'Deliveries'}
        </button>
        <button
          className="jp-mm-button jp-mod-styled"
          onClick={() =>
            void model.setStatus(
              hook.webhook_id,
              active ? 'DISABLED' : 'ACTIVE'
            )
          }
        >
          {active ? 'Disable' : 'Enable'}
        </button>
        <button
          className="jp-mm-button jp-mod-styled jp-mod-warn"
          onClick={() =>
            void confirmDelete(hook).then(yes =>
              yes ? model.remove(hook.webhook_id) : undefined
            )
          }
        >
          Delete
        </button>
      </div>
      {test ? <TestAnswer result={test} /> : null}
      {deliveries ? <DeliveriesTable deliveries={deliveries} /> : null}
    </li>
  );
}

function WebhooksList(props: { model: WebhooksModel }): JSX.Element {
  const { model } = props;
  const [creating, setCreating] = React.useState(false);
  useRerenderOn(model.changed);
  return (
    <>
      <ErrorAlert message={model.error} />
      {!model.loaded ? (
        <p className="jp-mm-dim">Loading…</p>
      ) : model.webhooks.length === 0 ? (
        <p className="jp-mm-dim">
          No webhook fires for {model.model}: create one to call a URL on its
          registry and monitor events.
        </p>
      ) : (
        <ul
          className="jp-mm-plain-list jp-mm-webhooks-list"
          aria-label="Webhooks"
        >
          {model.webhooks.map(hook => (
            <WebhookItem key={hook.webhook_id} model={model} hook={hook} />
          ))}
        </ul>
      )}
      {creating ? (
        <CreateForm model={model} onDone={() => setCreating(false)} />
      ) : (
        <div className="jp-mm-actions">
          <button
            className="jp-mm-button jp-mod-styled"
            onClick={() => setCreating(true)}
          >
            New webhook…
          </button>
          <button
            className="jp-mm-button jp-mod-styled"
            onClick={() => void model.load()}
          >
            Refresh webhooks
          </button>
        </div>
      )}
    </>
  );
}

/**
 * The Webhooks section of a model (a new list per model).
 */
export function WebhooksSection(props: {
  api: IWebhooksApi;
  model: string;
}): JSX.Element {
  const { api, model } = props;
  const webhooks = React.useMemo(
    () => new WebhooksModel(api, model),
    [api, model]
  );
  React.useEffect(() => {
    void webhooks.load();
  }, [webhooks]);
  return (
    <section className="jp-mm-section jp-mm-webhooks" aria-label="Webhooks">
      <h3 className="jp-mm-webhooks-title">Webhooks</h3>
      <WebhooksList key={model} model={webhooks} />
    </section>
  );
}
