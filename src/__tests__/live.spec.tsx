/**
 * Live views and structured search errors: the coalescing of store events
 * (at most one re-query per interval, only for events naming the view's
 * runs, none after disposal), the compare view following its running runs
 * while keeping what the user chose, and filter errors located from the
 * error reply's `details` (the message only for servers without them).
 * Plotly is replaced by a recording stand-in (jsdom cannot draw it).
 */

import * as React from 'react';
import { act } from 'react';
import { Root } from 'react-dom/client';
import {
  experiment,
  fakeServerSettings,
  fakeViewRun as run,
  fakeViewStore as fakeStore,
  FAKE_RUN as RUN,
  mountRoot,
  OTHER_RUN as OTHER,
  THIRD_RUN as STRANGER,
  unmountRoot
} from './utils';
import { drawn } from './plotlyStub';

import { ServerConnection } from '@jupyterlab/services';

import { filterErrorAt, RestRunsApi } from '../api';
import { ApiError, requestAPI } from '../request';
import { RunsModel } from '../runsModel';
import { CompareModel, CompareView } from '../views/compareview';
import { Coalescer, EventGaps } from '../views/live';
import { seriesToTraces } from '../views/metrics';
import { RunViewModel } from '../views/runmodel';
import { IStoreEvent } from '../storeEvents';

jest.mock(
  'plotly.js-dist-min',
  () => jest.requireActual('./plotlyStub').plotlyStub
);

function event(
  action: IStoreEvent['action'],
  runId: string,
  extra: Partial<IStoreEvent> = {}
): IStoreEvent {
  return { action, run_id: runId, ...extra };
}

/**
 * Let pending promises (fake fetches, React effects) settle.
 */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) {
    await act(() => Promise.resolve());
  }
}

describe('Coalescer', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('hands over everything since the last time, once per interval', () => {
    const flushed: string[][] = [];
    const live = new Coalescer<string>(items => flushed.push(items), 1000);
    live.add(['a']);
    jest.advanceTimersByTime(400);
    live.add(['b', 'a']);
    expect(flushed).toEqual([]);
    jest.advanceTimersByTime(600);
    expect(flushed).toEqual([['a', 'b', 'a']]);
    expect(live.pending).toBe(false);
    live.add([]); // nothing named still runs the flush (e.g. "reload all")
    jest.advanceTimersByTime(1000);
    expect(flushed).toEqual([['a', 'b', 'a'], []]);
  });

  it('hands nothing over after disposal', () => {
    const flushed: string[][] = [];
    const live = new Coalescer<string>(items => flushed.push(items), 1000);
    live.add(['a']);
    live.dispose();
    jest.advanceTimersByTime(5000);
    live.add(['b']);
    jest.advanceTimersByTime(5000);
    expect(flushed).toEqual([]);
    expect(live.isDisposed).toBe(true);
  });
});

describe('RunViewModel live', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('coalesces metric events of its run into one re-query', async () => {
    const store = fakeStore();
    const model = new RunViewModel(store.api, RUN);
    await model.reloadRun();
    model.storeEvent(event('metrics-appended', RUN, { keys: ['loss'] }));
    model.storeEvent(event('metrics-appended', OTHER, { keys: ['loss'] }));
    model.storeEvent(event('metrics-appended', RUN, { keys: ['loss'] }));
    expect(model.metricsTick).toBe(0);
    await jest.advanceTimersByTimeAsync(1000);
    expect(model.metricsTick).toBe(1);
    model.storeEvent(event('metrics-appended', RUN, { keys: ['loss'] }));
    model.dispose();
    await jest.advanceTimersByTimeAsync(5000);
    expect(model.metricsTick).toBe(1);
  });
});

describe('trace identity', () => {
  it('is per run, key and line, and safe in a CSS class name', () => {
    const series = (run_id: string, key: string) => ({
      run_id,
      key,
      step: [0],
      timestamp: [0],
      value: [1]
    });
    const traces = seriesToTraces(
      [series(RUN, 'loss/val <b>'), series(OTHER, 'loss/val <b>')],
      { axis: 'step', smoothing: 0.5, startTimes: {} }
    );
    const uids = traces.map(t => t.uid);
    expect(new Set(uids).size).toBe(4);
    uids.forEach(uid => expect(uid).toMatch(/^[A-Za-z0-9-]+$/));
    // the same series keeps its uid when another appears before it
    const later = seriesToTraces([series(OTHER, 'loss/val <b>')], {
      axis: 'step',
      smoothing: 0.5,
      startTimes: {}
    });
    expect(later.map(t => t.uid)).toEqual(uids.slice(2));
  });
});

describe('CompareModel live', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('re-reads only the named runs, at most once per interval', async () => {
    const store = fakeStore();
    const model = new CompareModel(store.api, [RUN, OTHER]);
    await model.load();
    expect(store.getRuns()).toEqual([RUN, OTHER]);
    const changes: number[] = [];
    model.changed.connect(() => changes.push(model.metricsTick('loss')));

    // Another run's events are not ours: nothing is read.
    model.storeEvent(event('metrics-appended', STRANGER, { keys: ['loss'] }));
    await jest.advanceTimersByTimeAsync(2000);
    expect(store.getRuns()).toHaveLength(2);
    expect(changes).toEqual([]);

    store.runs[RUN] = run(RUN, { metrics: { loss: 0.25, acc: 0.5 } });
    for (let i = 0; i < 5; i++) {
      model.storeEvent(
        event('metrics-appended', RUN, { keys: i ? ['loss'] : ['acc'] })
      );
      await jest.advanceTimersByTimeAsync(150);
    }
    await jest.advanceTimersByTimeAsync(1000);
    expect(store.getRuns().slice(2)).toEqual([RUN]); // once, only RUN
    expect(changes).toEqual([1]);
    expect(model.metricsTick('acc')).toBe(1);
    expect(model.metricsTick('other')).toBe(0);
    expect(model.runs.map(r => r.metrics)).toEqual([
      { loss: 0.25, acc: 0.5 },
      { loss: 1 }
    ]);

    // A finished run: its status, and every chart re-queries (last points).
    store.runs[OTHER] = run(OTHER, { status: 'FINISHED', end_time: 2_000_000 });
    model.storeEvent(event('run-finished', OTHER, { status: 'FINISHED' }));
    await jest.advanceTimersByTimeAsync(1000);
    expect(model.runs.map(r => r.status)).toEqual(['RUNNING', 'FINISHED']);
    expect(model.metricsTick('loss')).toBe(2);
    expect(model.metricsTick('other')).toBe(1);

    // A run that cannot be read now keeps what was shown.
    delete store.runs[RUN];
    model.storeEvent(event('run-updated', RUN));
    await jest.advanceTimersByTimeAsync(1000);
    expect(model.runs.map(r => r.id)).toEqual([RUN, OTHER]);

    // Closed: events are ignored and nothing pending is read.
    const reads = store.getRuns().length;
    model.storeEvent(event('metrics-appended', OTHER, { keys: ['loss'] }));
    model.dispose();
    await jest.advanceTimersByTimeAsync(5000);
    expect(store.getRuns()).toHaveLength(reads);
  });
});

describe('missed events', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('are told by a gap in the numbers or a new stream', () => {
    const gaps = new EventGaps();
    expect(gaps.missedBefore({})).toBe(false); // an older server: no numbers
    expect(gaps.missedBefore({ stream: 'a', seq: 40 })).toBe(false);
    expect(gaps.missedBefore({ stream: 'a', seq: 41 })).toBe(false);
    expect(gaps.missedBefore({ stream: 'a', seq: 43 })).toBe(true);
    expect(gaps.missedBefore({ stream: 'a', seq: 44 })).toBe(false);
    expect(gaps.missedBefore({ stream: 'b', seq: 1 })).toBe(true);
  });

  it('make the compare and run views read everything again', async () => {
    const store = fakeStore();
    const compare = new CompareModel(store.api, [RUN, OTHER]);
    await compare.load();
    const view = new RunViewModel(store.api, RUN);
    await view.load();
    const reads = store.getRuns().length;
    store.runs[OTHER] = run(OTHER, { status: 'FINISHED', end_time: 2_000_000 });
    compare.resync();
    view.resync();
    await jest.advanceTimersByTimeAsync(1000);
    expect(store.getRuns().slice(reads).sort()).toEqual(
      [RUN, OTHER, RUN].sort()
    );
    expect(compare.runs.map(r => r.status)).toEqual(['RUNNING', 'FINISHED']);
    expect(compare.metricsTick('any key')).toBe(1);
    expect(view.metricsTick).toBe(1);
    compare.dispose();
    view.dispose();
  });
});

describe('CompareView live', () => {
  let host: HTMLDivElement;
  let root: Root;

  beforeEach(() => {
    ({ host, root } = mountRoot());
    drawn.length = 0;
  });

  afterEach(() => {
    unmountRoot(host, root);
  });

  it('follows new points and statuses, keeping what the user chose', async () => {
    const store = fakeStore();
    const model = new CompareModel(store.api, [RUN, OTHER], 0);
    await model.load();
    const context = { openRun: () => undefined, openDiff: () => undefined };
    const render = () =>
      act(() => root.render(<CompareView model={model} context={context} />));
    model.changed.connect(render);
    render();
    await settle();
    expect(store.histories()).toHaveLength(1);

    // The user's choices: log scale on, identical rows shown.
    const logScale = Array.from(host.querySelectorAll('label'))
      .find(l => l.textContent?.includes('log scale'))!
      .querySelector('input') as HTMLInputElement;
    act(() => logScale.click());
    const showAll = host.querySelector(
      '.jp-mm-compare-table input[type="checkbox"]'
    ) as HTMLInputElement;
    const hidden = showAll.checked;
    act(() => showAll.click());
    await settle();

    store.runs[RUN] = run(RUN, {
      status: 'FINISHED',
      metrics: { loss: 0.125 }
    });
    model.storeEvent(event('metrics-appended', RUN, { keys: ['loss'] }));
    model.storeEvent(event('run-finished', RUN, { status: 'FINISHED' }));
    await act(() => new Promise<void>(resolve => setTimeout(resolve, 10)));
    await settle();

    // The chart asked again, without being made anew (same node).
    expect(store.histories()).toHaveLength(2);
    const charts = drawn.filter(d => d.node.classList.contains('jp-mm-chart'));
    expect(new Set(charts.map(d => d.node)).size).toBe(1);
    expect(charts[charts.length - 1].layout.yaxis.type).toBe('log');
    // Table and status follow; the user's choices stay.
    expect(host.querySelector('.jp-mm-compare-table')!.textContent).toContain(
      '0.125'
    );
    expect(
      Array.from(host.querySelectorAll('.jp-mm-compare-runs .jp-mm-badge')).map(
        b => b.textContent
      )
    ).toEqual(['finished', 'running']);
    expect(logScale.checked).toBe(true);
    expect(
      (
        host.querySelector(
          '.jp-mm-compare-table input[type="checkbox"]'
        ) as HTMLInputElement
      ).checked
    ).toBe(!hidden);
    // The scatter and parallel coordinates redraw, keeping the user's zoom
    // and brushing (same uirevision).
    const scatters = drawn.filter(d =>
      d.node.classList.contains('jp-mm-scatter-plot')
    );
    expect(scatters.length).toBeGreaterThan(1);
    expect(scatters[scatters.length - 1].data[0].y).toEqual([0.125, 1]);
    expect(new Set(scatters.map(d => d.layout.uirevision)).size).toBe(1);
    model.dispose();
  });
});

describe('filter error position', () => {
  function reply(status: number, body: unknown): Response {
    return new Response(JSON.stringify(body), { status });
  }

  it('comes from the error details, for the filter only', () => {
    const message = 'expected a value at position 99\n  a =\n     ^';
    const at = (details: any) =>
      filterErrorAt(
        new ApiError(
          reply(400, {}),
          message,
          'INVALID_PARAMETER_VALUE',
          details
        )
      );
    expect(at({ field: 'filter', position: 3 })).toEqual({ position: 3 });
    expect(at({ field: 'filter' })).toEqual({ position: null });
    expect(at({ field: 'order_by', item: 0, position: 3 })).toBeNull();
    // Without details (an older server): read from the message.
    expect(at(null)).toEqual({ position: 99 });
    expect(
      filterErrorAt(new ServerConnection.ResponseError(reply(400, {}), message))
    ).toEqual({ position: 99 });
    // Not a rejected request: not the filter's fault.
    expect(
      filterErrorAt(new ServerConnection.ResponseError(reply(500, {}), message))
    ).toBeNull();
    expect(filterErrorAt(new Error(message))).toBeNull();
  });

  it('reaches the run panel through the search request', async () => {
    const { settings } = fakeServerSettings(call =>
      call.body.filter
        ? {
            status: 400,
            body: {
              error_code: 'INVALID_PARAMETER_VALUE',
              message:
                'expected a value, found end of input\n  auc >\n       ^',
              details: { field: 'filter', position: 5 }
            }
          }
        : call.body.order_by?.includes('x')
          ? {
              status: 400,
              body: {
                error_code: 'INVALID_PARAMETER_VALUE',
                message: 'expected ASC or DESC at position 7',
                details: { field: 'order_by', item: 0, position: 7 }
              }
            }
          : { body: { runs: [], next_page_token: null } }
    );
    const api = new RestRunsApi(settings);
    const error = await api.search({ filter: 'auc >' }).catch(e => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error.errorCode).toBe('INVALID_PARAMETER_VALUE');
    expect(error.details).toEqual({ field: 'filter', position: 5 });
    await expect(
      requestAPI('runs/search', settings, {
        method: 'POST',
        body: JSON.stringify({ order_by: ['x'] })
      })
    ).rejects.toMatchObject({ details: { field: 'order_by', position: 7 } });

    // The panel marks the spot the details name (the message has none).
    const model = new RunsModel({
      api: {
        experiments: async () => [experiment('0', 'Default')],
        search: query => api.search(query),
        getRun: () => Promise.reject(new Error('unused')),
        updateRun: () => Promise.reject(new Error('unused')),
        deleteRun: () => Promise.reject(new Error('unused')),
        restoreRun: () => Promise.reject(new Error('unused')),
        cellRecord: () => Promise.reject(new Error('unused'))
      }
    });
    await model.start();
    await model.setFilter('auc >');
    expect(model.filterError).toEqual({
      message: 'expected a value, found end of input',
      position: 5
    });
    model.dispose();
  });
});
