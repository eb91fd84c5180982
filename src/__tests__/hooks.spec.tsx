/**
 * The shared hooks: a view re-renders for every change of its model,
 * including one that lands between its render and React's passive effects.
 */

import { Signal } from '@lumino/signaling';
import * as React from 'react';
import { act } from 'react';
import type { Root } from 'react-dom/client';

import { useRerenderOn } from '../hooks';
import { mountEachTest } from './utils';

class Counter {
  value = 0;
  readonly changed = new Signal<this, void>(this);

  bump(): void {
    this.value += 1;
    this.changed.emit();
  }
}

function Shown(props: { model: Counter; slow?: boolean }): JSX.Element {
  useRerenderOn(props.model.changed);
  if (props.slow) {
    // A render as long as a busy page's: React's scheduler then yields to
    // the browser before it runs the passive effects.
    const end = Date.now() + 20;
    while (Date.now() < end) {
      // busy
    }
  }
  return <span>{props.model.value}</span>;
}

/**
 * Resolves once `done()` holds, or after about half a second.
 */
async function waitFor(done: () => boolean): Promise<void> {
  for (let i = 0; i < 50 && !done(); i++) {
    await new Promise(resolve => setTimeout(resolve, 10));
  }
}

describe('useRerenderOn', () => {
  let host: HTMLDivElement;
  let root: Root;

  mountEachTest(m => ({ host, root } = m));

  it('re-renders for each change', () => {
    const model = new Counter();
    act(() => root.render(<Shown model={model} />));
    expect(host.textContent).toBe('0');
    act(() => model.bump());
    act(() => model.bump());
    expect(host.textContent).toBe('2');
  });

  it('sees a change made before the passive effects run', async () => {
    // A reply landing right after the first render (as on a busy page with a
    // fast server): React has committed the view to the DOM but runs passive
    // effects in a later task. A hook connecting in `useEffect` would miss
    // this change and show 0 until the next one.
    const model = new Counter();
    const actEnvironment = (globalThis as any).IS_REACT_ACT_ENVIRONMENT;
    (globalThis as any).IS_REACT_ACT_ENVIRONMENT = false;
    try {
      const committed = new Promise<void>(resolve => {
        const observer = new MutationObserver(() => {
          observer.disconnect();
          // A microtask after the commit's task: before any later task.
          model.bump();
          resolve();
        });
        observer.observe(host, { childList: true, subtree: true });
      });
      root.render(<Shown model={model} slow />);
      await committed;
      await waitFor(() => host.textContent === '1');
      expect(host.textContent).toBe('1');
    } finally {
      (globalThis as any).IS_REACT_ACT_ENVIRONMENT = actEnvironment;
    }
  });

  it('stops listening once unmounted', () => {
    const model = new Counter();
    const connect = jest.spyOn(model.changed, 'connect');
    const disconnect = jest.spyOn(model.changed, 'disconnect');
    act(() => root.render(<Shown model={model} />));
    expect(connect).toHaveBeenCalledTimes(1);
    expect(disconnect).not.toHaveBeenCalled();
    act(() => root.render(<span>gone</span>));
    expect(disconnect).toHaveBeenCalledTimes(1);
    expect(disconnect.mock.calls[0][0]).toBe(connect.mock.calls[0][0]);
  });
});
