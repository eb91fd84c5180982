/**
 * "Newest reply wins": a model that reloads on every event or keystroke may
 * have several loads in flight, and an older one may end last. Only the load
 * begun last may apply its reply.
 */

/**
 * A load's outcome: its value, or what it threw (never a rejection).
 */
export type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

/**
 * The outcome of `promise`, which then never rejects.
 */
export function settle<T>(promise: Promise<T>): Promise<Settled<T>> {
  return promise.then(
    value => ({ ok: true, value }),
    (error: unknown) => ({ ok: false, error })
  );
}

/**
 * Counts the loads of one thing so that only the newest applies its reply.
 */
export class NewestReply {
  /**
   * Begin a load: the function returned says whether it is still the newest.
   */
  begin(): () => boolean {
    const generation = ++this._generation;
    return () => generation === this._generation;
  }

  /**
   * Begin a load and wait for its outcome; null when a newer load began
   * meanwhile (its reply must then be dropped).
   */
  async settle<T>(load: () => Promise<T>): Promise<Settled<T> | null> {
    const isNewest = this.begin();
    const outcome = await settle(load());
    return isNewest() ? outcome : null;
  }

  private _generation = 0;
}
