import { IPoll, Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';
import { IDisposable } from '@lumino/disposable';

import { errorText } from './format';
import { IStatusReply } from './tokens';

/**
 * Holds the latest store summary from the server and refreshes it, on demand
 * and periodically while the sidebar is visible.
 */
export class StoreStatusModel implements IDisposable {
  constructor(options: StoreStatusModel.IOptions) {
    this._fetch = options.fetchStatus;
    this._isVisible = options.isVisible ?? (() => true);
    this._poll = new Poll({
      auto: false,
      factory: () => this._update(true),
      frequency: StoreStatusModel.frequency(
        options.refreshInterval ?? StoreStatusModel.DEFAULT_INTERVAL
      ),
      name: 'jupyter-mm:store-status',
      // Stand by while the sidebar is hidden, and while the browser tab is.
      standby: () => (this._isVisible() ? 'when-hidden' : true)
    });
  }

  /**
   * The current state.
   */
  get state(): StoreStatusModel.IState {
    return this._state;
  }

  /**
   * Emitted whenever the state changes.
   */
  get stateChanged(): ISignal<this, StoreStatusModel.IState> {
    return this._stateChanged;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /**
   * Start periodic refreshes (the first one runs immediately).
   */
  start(): Promise<void> {
    return this._poll.start();
  }

  /**
   * Change the refresh interval, in seconds; 0 stops periodic refreshes.
   */
  setRefreshInterval(seconds: number): void {
    this._poll.frequency = StoreStatusModel.frequency(seconds);
  }

  /**
   * Fetch the status now. Never rejects: a failure is recorded in `state.error`.
   */
  async refresh(): Promise<void> {
    await this._update(false);
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._poll.dispose();
    Signal.clearData(this);
  }

  private async _update(rethrow: boolean): Promise<void> {
    if (this._isDisposed) {
      return;
    }
    if (this._pending) {
      return this._pending;
    }
    this._setState({ ...this._state, loading: true });
    const pending = (async () => {
      try {
        const status = await this._fetch();
        this._setState({
          status,
          error: null,
          loading: false,
          updated: new Date()
        });
      } catch (error) {
        // Keep the last good status on screen, flagged with the error.
        this._setState({
          ...this._state,
          error: errorText(error),
          loading: false
        });
        if (rethrow) {
          throw error;
        }
      }
    })();
    this._pending = pending;
    try {
      await pending;
    } finally {
      this._pending = null;
    }
  }

  private _setState(state: StoreStatusModel.IState): void {
    if (this._isDisposed) {
      return;
    }
    this._state = state;
    this._stateChanged.emit(state);
  }

  private _fetch: () => Promise<IStatusReply>;
  private _isVisible: () => boolean;
  private _isDisposed = false;
  private _pending: Promise<void> | null = null;
  private _poll: Poll;
  private _state: StoreStatusModel.IState = {
    status: null,
    error: null,
    loading: false,
    updated: null
  };
  private _stateChanged = new Signal<this, StoreStatusModel.IState>(this);
}

/**
 * A namespace for StoreStatusModel statics.
 */
export namespace StoreStatusModel {
  /**
   * Default refresh interval, in seconds.
   */
  export const DEFAULT_INTERVAL = 5;

  /**
   * Longest back-off between failing refreshes, in milliseconds.
   */
  export const MAX_BACKOFF = 5 * 60 * 1000;

  export interface IOptions {
    /**
     * Fetch the store summary (usually `GET jupyter-mm/api/status`).
     */
    fetchStatus: () => Promise<IStatusReply>;
    /**
     * Whether the view is visible; periodic refreshes pause when it is not.
     */
    isVisible?: () => boolean;
    /**
     * Seconds between periodic refreshes; 0 turns them off.
     */
    refreshInterval?: number;
  }

  export interface IState {
    /**
     * Last status received, or null before the first answer.
     */
    status: IStatusReply | null;
    /**
     * Message of the last failure, cleared by the next success.
     */
    error: string | null;
    /**
     * Whether a request is in flight.
     */
    loading: boolean;
    /**
     * When the last successful answer arrived.
     */
    updated: Date | null;
  }

  /**
   * Poll frequency for a refresh interval in seconds (0 or less: never).
   */
  export function frequency(seconds: number): IPoll.Frequency {
    const interval =
      Number.isFinite(seconds) && seconds > 0
        ? Math.round(seconds * 1000)
        : Poll.NEVER;
    return {
      interval,
      backoff: true,
      max: Math.max(interval === Poll.NEVER ? 0 : interval, MAX_BACKOFF)
    };
  }
}
