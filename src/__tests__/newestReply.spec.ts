/**
 * "Newest reply wins": of loads in flight, only the one begun last applies.
 */
import { NewestReply, settle } from '../newestReply';

/** A promise and the functions that settle it. */
function deferred<T>(): {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
} {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('settle', () => {
  it('gives the value or the error, never rejecting', async () => {
    await expect(settle(Promise.resolve(3))).resolves.toEqual({
      ok: true,
      value: 3
    });
    const error = new Error('no');
    await expect(settle(Promise.reject(error))).resolves.toEqual({
      ok: false,
      error
    });
  });
});

describe('NewestReply', () => {
  it('drops the reply of a load that a newer one overtook', async () => {
    const loads = new NewestReply();
    const older = deferred<string>();
    const newer = deferred<string>();
    const first = loads.settle(() => older.promise);
    const second = loads.settle(() => newer.promise);
    newer.resolve('new');
    older.resolve('old'); // ends last
    await expect(second).resolves.toEqual({ ok: true, value: 'new' });
    await expect(first).resolves.toBeNull();
  });

  it('drops an overtaken failure too, and keeps the newest one', async () => {
    const loads = new NewestReply();
    const older = deferred<string>();
    const first = loads.settle(() => older.promise);
    const second = loads.settle(() => Promise.reject(new Error('down')));
    older.reject(new Error('old'));
    await expect(first).resolves.toBeNull();
    const reply = await second;
    expect(reply?.ok).toBe(false);
    expect(reply && !reply.ok && (reply.error as Error).message).toBe('down');
  });

  it('begin() tells a load whether it is still the newest', () => {
    const loads = new NewestReply();
    const a = loads.begin();
    expect(a()).toBe(true);
    const b = loads.begin();
    expect(a()).toBe(false);
    expect(b()).toBe(true);
    // Another counter is independent.
    new NewestReply().begin();
    expect(b()).toBe(true);
  });
});
