/**
 * Live updates of the views: store events come in bursts (the server polls
 * the store every half second and a training loop logs all the time), so a
 * view collects what the events name and re-queries at most once a second.
 */

import { IDisposable } from '@lumino/disposable';

/**
 * The shortest time between two re-queries of one view (ms).
 */
export const LIVE_INTERVAL = 1000;

/**
 * Collects items (metric keys, store events) and hands them over together,
 * once, `interval` ms after the first one since the last hand-over; nothing
 * is handed over after disposal.
 */
export class Coalescer<T> implements IDisposable {
  constructor(
    private readonly _flush: (items: T[]) => void,
    private readonly _interval: number = LIVE_INTERVAL
  ) {}

  get isDisposed(): boolean {
    return this._disposed;
  }

  /**
   * Whether a hand-over is scheduled.
   */
  get pending(): boolean {
    return this._timer !== null;
  }

  /**
   * Note `items` (possibly none: the flush still runs, e.g. "reload all").
   */
  add(items: Iterable<T>): void {
    if (this._disposed) {
      return;
    }
    for (const item of items) {
      this._items.push(item);
    }
    if (this._timer === null) {
      this._timer = setTimeout(() => {
        this._timer = null;
        const items = this._items;
        this._items = [];
        this._flush(items);
      }, this._interval);
    }
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    if (this._timer !== null) {
      clearTimeout(this._timer);
      this._timer = null;
    }
    this._items = [];
  }

  private _items: T[] = [];
  private _timer: ReturnType<typeof setTimeout> | null = null;
  private _disposed = false;
}

/**
 * Tells when store events were missed. The server numbers its run events
 * (`stream`, `seq`: `jupyter_mm/server/events.py`); a gap, or a new stream
 * (the server restarted), means the event WebSocket dropped some, and whoever
 * follows the events should load again. The first event only sets the place.
 */
export class EventGaps {
  /**
   * Note `event`; true when events were missed before it.
   */
  missedBefore(event: { stream?: unknown; seq?: unknown }): boolean {
    if (typeof event.stream !== 'string' || typeof event.seq !== 'number') {
      return false;
    }
    const missed =
      this._stream !== null &&
      (event.stream !== this._stream || event.seq !== this._seq + 1);
    this._stream = event.stream;
    this._seq = event.seq;
    return missed;
  }

  private _stream: string | null = null;
  private _seq = 0;
}
