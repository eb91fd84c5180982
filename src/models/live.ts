/**
 * Live registry events (`jupyter_mm/server/registry_events.py`): one per
 * audit entry, whoever made the change (another user, a kernel's
 * `mm.register_model`, another server). They come in bursts (registering a
 * model is two entries, deleting one is one per alias plus one), so they are
 * gathered into one batch and handed over at most once per `delay`: the
 * Models panel and the version views then reload once per burst.
 */

import type { Event } from '@jupyterlab/services';

/**
 * Schema id of the registry events.
 */
export const REGISTRY_EVENT_SCHEMA =
  'https://events.jupyter.org/jupyter_mm/registry/v1';

/**
 * One registry event: an audit entry's light fields.
 */
export interface IRegistryEvent {
  action: string;
  seq: number;
  actor: string;
  /** Missing only for a store-wide policy change. */
  model?: string;
  version?: number;
  alias?: string;
  /** `model.renamed`: the old name (`model` is the new one). */
  previous_name?: string;
}

/**
 * What a batch of events changed.
 */
export interface IRegistryChanges {
  /** Every model named by an event (new names of renamed models included). */
  readonly models: ReadonlySet<string>;
  /** Old name → current name, chains resolved (a → b → c gives a → c, b → c). */
  readonly renamed: ReadonlyMap<string, string>;
  /** Models deleted (and not created again since), by their last name. */
  readonly deleted: ReadonlySet<string>;
  /** Versions deleted, as `name@version`. */
  readonly deletedVersions: ReadonlySet<string>;
  /** A store-wide change (a policy) that concerns every model. */
  readonly global: boolean;
}

/**
 * The registry event in a jupyter_server event-bus emission, or null.
 */
export function registryEvent(emission: Event.Emission): IRegistryEvent | null {
  if (emission.schema_id !== REGISTRY_EVENT_SCHEMA) {
    return null;
  }
  const event = emission as unknown as IRegistryEvent;
  return typeof event.action === 'string' ? event : null;
}

/**
 * Where a view of model `name` is now: its current name, and whether it is
 * gone (the model, or that version of it, was deleted).
 */
export function follow(
  changes: IRegistryChanges,
  name: string,
  version?: number
): { name: string; gone: boolean; changed: boolean } {
  const current = changes.renamed.get(name) ?? name;
  const gone =
    changes.deleted.has(current) ||
    (version !== undefined &&
      changes.deletedVersions.has(`${current}@${version}`));
  const changed =
    changes.global || current !== name || changes.models.has(current);
  return { name: current, gone, changed };
}

/**
 * Gathers registry events and hands each batch to `flush`, at most once per
 * `delay` milliseconds (the first event of a batch starts the wait).
 */
export class RegistryEventBatcher {
  constructor(
    private _flush: (changes: IRegistryChanges) => void,
    private _delay = 300
  ) {}

  /**
   * Add an event to the current batch.
   */
  add(event: IRegistryEvent): void {
    if (this._disposed) {
      return;
    }
    const { action, model } = event;
    // Audit entries are numbered without gaps: a gap means events were missed
    // (the WebSocket dropped), so every view must read again.
    const missed = this._lastSeq !== null && event.seq !== this._lastSeq + 1;
    this._lastSeq = typeof event.seq === 'number' ? event.seq : null;
    if (model === undefined || missed) {
      this._global = true;
    }
    if (model !== undefined) {
      this._models.add(model);
      if (action === 'model.renamed' && event.previous_name) {
        const from = event.previous_name;
        this._renamed.forEach((to, old) => {
          if (to === from) {
            this._renamed.set(old, model);
          }
        });
        this._renamed.set(from, model);
        this._renamed.delete(model);
      } else if (action === 'model.deleted') {
        this._deleted.add(model);
      } else if (action === 'model.created') {
        this._deleted.delete(model);
      } else if (action === 'version.deleted' && event.version !== undefined) {
        this._deletedVersions.add(`${model}@${event.version}`);
      }
    }
    if (this._timer === null) {
      this._timer = setTimeout(() => this._emit(), this._delay);
    }
  }

  /**
   * Drop the pending batch and ignore further events.
   */
  dispose(): void {
    this._disposed = true;
    if (this._timer !== null) {
      clearTimeout(this._timer);
      this._timer = null;
    }
  }

  private _emit(): void {
    this._timer = null;
    const changes: IRegistryChanges = {
      models: this._models,
      renamed: this._renamed,
      deleted: this._deleted,
      deletedVersions: this._deletedVersions,
      global: this._global
    };
    this._models = new Set();
    this._renamed = new Map();
    this._deleted = new Set();
    this._deletedVersions = new Set();
    this._global = false;
    this._flush(changes);
  }

  private _timer: ReturnType<typeof setTimeout> | null = null;
  private _disposed = false;
  private _models = new Set<string>();
  private _renamed = new Map<string, string>();
  private _deleted = new Set<string>();
  private _deletedVersions = new Set<string>();
  private _global = false;
  private _lastSeq: number | null = null;
}
