/**
 * Typed wrappers of the webhooks REST API (`jupyter-mm/api/webhooks`,
 * `docs/webhooks.md`; contract in `server/openapi.yaml`).
 */

import { ServerConnection } from '@jupyterlab/services';

import { callAPI } from '../request';
import type { IWebhook, IWebhookDelivery, IWebhookTestResult } from '../schema';

/**
 * The events a webhook can subscribe to (`core/webhooks/events.py`): MLflow's
 * registry events, then ours; `retraining.*` is the retraining family.
 */
export const WEBHOOK_EVENTS: ReadonlyArray<string> = [
  'registered_model.created',
  'model_version.created',
  'model_version_tag.set',
  'model_version_tag.deleted',
  'model_version_alias.created',
  'model_version_alias.deleted',
  'approval.requested',
  'approval.decided',
  'monitor.drift_detected',
  'monitor.performance_degraded',
  'rerun.finished',
  'retraining.*'
];

export interface IWebhookInput {
  name: string;
  url: string;
  events: string[];
  /**
   * Only this model's events; null: every model's.
   */
  model: string | null;
  secret?: string;
  description?: string;
}

/**
 * The webhooks calls; the tests give a fake.
 */
export interface IWebhooksApi {
  list(model: string): Promise<IWebhook[]>;
  create(input: IWebhookInput): Promise<IWebhook>;
  setStatus(id: string, status: IWebhook['status']): Promise<IWebhook>;
  remove(id: string): Promise<void>;
  test(id: string): Promise<IWebhookTestResult>;
  deliveries(id: string): Promise<IWebhookDelivery[]>;
}

export class WebhooksAPI implements IWebhooksApi {
  constructor(readonly serverSettings: ServerConnection.ISettings) {}

  async list(model: string): Promise<IWebhook[]> {
    const reply = await this._call<{ webhooks: IWebhook[] }>(
      'webhooks',
      'GET',
      undefined,
      { model }
    );
    return reply.webhooks;
  }

  create(input: IWebhookInput): Promise<IWebhook> {
    const body: Record<string, unknown> = {
      name: input.name,
      url: input.url,
      events: input.events,
      model: input.model
    };
    if (input.secret) {
      body.secret = input.secret;
    }
    if (input.description) {
      body.description = input.description;
    }
    return this._call('webhooks', 'POST', body);
  }

  setStatus(id: string, status: IWebhook['status']): Promise<IWebhook> {
    return this._call(`webhooks/${encodeURIComponent(id)}`, 'PATCH', {
      status
    });
  }

  async remove(id: string): Promise<void> {
    await this._call(`webhooks/${encodeURIComponent(id)}`, 'DELETE');
  }

  test(id: string): Promise<IWebhookTestResult> {
    return this._call(`webhooks/${encodeURIComponent(id)}/test`, 'POST', {});
  }

  async deliveries(id: string): Promise<IWebhookDelivery[]> {
    const reply = await this._call<{ deliveries: IWebhookDelivery[] }>(
      `webhooks/${encodeURIComponent(id)}/deliveries`,
      'GET',
      undefined,
      { limit: '50' }
    );
    return reply.deliveries;
  }

  private _call<T>(
    path: string,
    method: string,
    body?: unknown,
    query: Record<string, string> = {}
  ): Promise<T> {
    return callAPI<T>(this.serverSettings, path, method, body, query);
  }
}
