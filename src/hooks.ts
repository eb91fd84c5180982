/**
 * React hooks shared by the views: their models are plain objects with a
 * `changed` signal, not React state.
 */

import * as React from 'react';

import type { ISignal } from '@lumino/signaling';

/**
 * Re-render the calling component whenever `signal` fires.
 *
 * It connects in a layout effect, which runs in the same task as the render
 * that read the model: a passive effect (`useEffect`) runs a frame or more
 * later, and a reply landing in between would change the model with nobody
 * listening, leaving the view stale until the next change.
 */
export function useRerenderOn(signal: ISignal<unknown, unknown>): void {
  const [, setTick] = React.useState(0);
  React.useLayoutEffect(() => {
    const update = () => setTick(t => t + 1);
    signal.connect(update);
    return () => {
      signal.disconnect(update);
    };
  }, [signal]);
}
