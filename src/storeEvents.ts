/**
 * The jupyter-mm store's events on jupyter_server's event bus (`jupyter_mm/server/events.py`):
 * their shape, and one way to listen to them that the run panel, the cell badges and the main-area
 * views share.
 */

import { Event } from '@jupyterlab/services';

/**
 * Schema id of the store events.
 */
export const STORE_EVENT_SCHEMA =
  'https://events.jupyter.org/jupyter_mm/store/v1';

/**
 * An event of the jupyter-mm store on jupyter_server's event bus.
 */
export interface IStoreEvent {
  action: 'run-created' | 'run-updated' | 'run-finished' | 'metrics-appended';
  run_id: string;
  experiment_id?: string;
  name?: string;
  status?: string;
  lifecycle_stage?: string;
  keys?: string[];
  /** The server's event stream and this event's number in it. */
  stream?: string;
  seq?: number;
}

/**
 * Call `handler` with each store event the server emits (other schemas' events are skipped).
 */
export function onStoreEvents(
  events: Event.IManager,
  handler: (event: IStoreEvent) => void
): void {
  events.stream.connect((_, emission) => {
    if (emission.schema_id === STORE_EVENT_SCHEMA) {
      handler(emission as unknown as IStoreEvent);
    }
  });
}
