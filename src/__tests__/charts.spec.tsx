/**
 * The charts workspace: its layout (charts added and removed, new metrics,
 * settings), saved and read back per experiment, the runs it charts from the
 * run panel (the cap), the shared x range, run colours beyond ten, the wall
 * time axis, and the view itself drawing one chart per metric whose zoom
 * every other chart follows. Plotly is replaced by a recording stand-in.
 */

import * as React from 'react';
import { act } from 'react';
import { Root } from 'react-dom/client';

import { drawn, relayoutHandlers as listeners } from './plotlyStub';
import {
  fakeViewStore,
  FAKE_RUN,
  mountEachTest,
  OTHER_RUN as OTHER,
  THIRD_RUN as THIRD
} from './utils';

import { runColor, RUN_COLORS } from '../views/chart';
import {
  addableCharts,
  addChart,
  chartedRuns,
  DEFAULT_LAYOUT,
  IChartsLayout,
  layoutJSON,
  layoutKey,
  MAX_CHART_RUNS,
  parseLayout,
  removeChart,
  SharedXRange,
  shownCharts,
  unionRange,
  withSettings
} from '../views/charts';
import { ChartsModel, ChartsView, IChartsMemory } from '../views/chartsview';
import {
  historyQueries,
  relayoutXRange,
  wallMs,
  wallX,
  xExtent,
  xValues
} from '../views/metrics';

jest.mock(
  'plotly.js-dist-min',
  () => jest.requireActual('./plotlyStub').plotlyStub
);

const layout = (over: Partial<IChartsLayout> = {}): IChartsLayout => ({
  ...DEFAULT_LAYOUT,
  ...over
});

describe('charts layout', () => {
  const keys = ['acc', 'loss', 'lr'];

  it('shows every metric until the user edits the list', () => {
    expect(shownCharts(keys, layout())).toEqual(keys);
    expect(addableCharts(keys, layout())).toEqual([]);
  });

  it('removes a chart and adds it back at the end', () => {
    const removed = removeChart(layout(), keys, 'loss');
    expect(shownCharts(keys, removed)).toEqual(['acc', 'lr']);
    expect(addableCharts(keys, removed)).toEqual(['loss']);
    const added = addChart(removed, keys, 'loss');
    expect(shownCharts(keys, added)).toEqual(['acc', 'lr', 'loss']);
    expect(addableCharts(keys, added)).toEqual([]);
    // Adding a shown chart moves nothing twice.
    expect(shownCharts(keys, addChart(added, keys, 'acc'))).toEqual([
      'lr',
      'loss',
      'acc'
    ]);
  });

  it('gives a metric logged later its chart, keeps a removed one removed', () => {
    const removed = removeChart(layout(), keys, 'lr');
    const later = [...keys, 'f1'];
    expect(shownCharts(later, removed)).toEqual(['acc', 'loss', 'f1']);
    expect(addableCharts(later, removed)).toEqual(['lr']);
  });

  it('keeps the place of charts the current runs lack', () => {
    const edited = removeChart(layout(), keys, 'lr');
    // Other runs, without acc: no chart for it, but it is not forgotten.
    const fewer = ['loss'];
    expect(shownCharts(fewer, edited)).toEqual(['loss']);
    const again = addChart(edited, fewer, 'loss');
    expect(again.charts).toEqual(['loss', 'acc']);
    expect(shownCharts(keys, again)).toEqual(['loss', 'acc']);
  });

  it('takes the settings, and survives a JSON round trip', () => {
    const edited = withSettings(removeChart(layout(), keys, 'acc'), {
      axis: 'wall',
      smoothing: 0.6,
      logY: true
    });
    const back = parseLayout(JSON.parse(JSON.stringify(layoutJSON(edited))));
    expect(back).toEqual(edited);
    expect(back.axis).toBe('wall');
    expect(shownCharts(keys, back)).toEqual(['loss', 'lr']);
  });

  it('reads malformed saved layouts as the default', () => {
    expect(parseLayout(null)).toEqual(DEFAULT_LAYOUT);
    expect(parseLayout('x')).toEqual(DEFAULT_LAYOUT);
    expect(
      parseLayout({ charts: [1], axis: 'days', smoothing: 3, logY: 'yes' })
    ).toEqual(DEFAULT_LAYOUT);
    expect(parseLayout({ charts: ['a'], smoothing: 0.5 })).toEqual(
      layout({ charts: ['a'], smoothing: 0.5 })
    );
  });

  it('is keyed by experiment', () => {
    expect(layoutKey('3')).not.toBe(layoutKey('4'));
    expect(layoutKey('*')).toBe('jupyter-mm:charts-workspace:*');
  });
});

describe('runs charted from the run panel', () => {
  const ids = (n: number) =>
    Array.from({ length: n }, (_, i) => i.toString(16).padStart(32, '0'));

  it('takes the selection first, else the listed runs', () => {
    expect(chartedRuns(ids(2), ids(5), false)).toEqual({
      runIds: ids(2),
      note: ''
    });
    expect(chartedRuns([], ids(5), false)).toEqual({
      runIds: ids(5),
      note: ''
    });
  });

  it('keeps the first fifty and says so', () => {
    const many = chartedRuns([], ids(73), false);
    expect(many.runIds).toEqual(ids(MAX_CHART_RUNS));
    expect(many.note).toBe('Showing the first 50 of 73 listed runs.');
    expect(chartedRuns(ids(60), [], false).note).toBe(
      'Showing the first 50 of 60 selected runs.'
    );
    // The panel has more than it loaded.
    expect(chartedRuns([], ids(50), true).note).toBe(
      'Showing the first 50 of 50+ listed runs.'
    );
  });
});

describe('shared x range', () => {
  it('is news once; the charts answering it change nothing', () => {
    const shared = new SharedXRange();
    expect(shared.set(null)).toBe(false);
    expect(shared.set([1, 5])).toBe(true);
    expect(shared.set([1, 5])).toBe(false);
    expect(shared.range).toEqual([1, 5]);
    expect(shared.set(null)).toBe(true);
    expect(shared.range).toBeNull();
  });
});

describe('the charts’ common x range', () => {
  const series = (key: string, step: number[], timestamp: number[]) => ({
    run_id: FAKE_RUN,
    key,
    step,
    timestamp,
    value: step.map(() => 1)
  });

  it('spans every chart’s data, on the chosen axis', () => {
    const a = series('a', [0, 4], [1000, 5000]);
    const b = series('b', [2, 9], [3000, 3500]);
    expect(xExtent([a, b], 'step', {})).toEqual([0, 9]);
    expect(xExtent([a, b], 'time', { [FAKE_RUN]: 1000 })).toEqual([0, 4]);
    expect(xExtent([], 'step', {})).toBeNull();
    expect(unionRange([[0, 4], null, [2, 9]])).toEqual([0, 9]);
    expect(unionRange([null])).toBeNull();
  });
});

describe('run colours', () => {
  it('are plotly’s ten, then twenty distinct ones', () => {
    expect(runColor(0)).toBe(RUN_COLORS[0]);
    expect(runColor(-1)).toBe(RUN_COLORS[0]);
    const twenty = Array.from({ length: 20 }, (_, i) => runColor(i));
    expect(new Set(twenty).size).toBe(20);
  });
});

describe('wall time axis', () => {
  it('maps times to the axis and the axis back to times', () => {
    const t = Date.UTC(2026, 11, 5, 23, 10, 0);
    expect(wallMs(wallX(t))).toBe(t);
    const series = {
      run_id: FAKE_RUN,
      key: 'loss',
      step: [0],
      timestamp: [t],
      value: [1]
    };
    expect(xValues(series, 'wall', 0)).toEqual([wallX(t)]);
    // A date axis relayouts with text.
    expect(
      relayoutXRange({
        'xaxis.range[0]': '2026-12-05 23:10:00.5',
        'xaxis.range[1]': '2026-12-05 23:12'
      })
    ).toEqual([t + 500, t + 120000]);
    expect(
      historyQueries(
        [FAKE_RUN],
        ['loss'],
        'wall',
        [wallX(t), wallX(t + 1000)],
        {}
      )
    ).toEqual([
      {
        run_ids: [FAKE_RUN],
        keys: ['loss'],
        max_points: 2000,
        time_range: [t, t + 1000]
      }
    ]);
  });
});

describe('ChartsView', () => {
  let host: HTMLDivElement;
  let root: Root;

  mountEachTest(mounted => {
    ({ host, root } = mounted);
    drawn.length = 0;
    listeners.clear();
  });

  async function settle(): Promise<void> {
    for (let i = 0; i < 10; i++) {
      await act(() => Promise.resolve());
    }
  }

  function memory(): IChartsMemory & { saved: Map<string, unknown> } {
    const saved = new Map<string, unknown>();
    return {
      saved,
      fetch: async key => saved.get(key),
      save: async (key, value) => {
        saved.set(key, JSON.parse(JSON.stringify(value)));
      }
    };
  }

  async function open(
    mem: IChartsMemory,
    experimentId = '1'
  ): Promise<{ model: ChartsModel; store: ReturnType<typeof fakeViewStore> }> {
    const store = fakeViewStore(OTHER);
    store.runs[FAKE_RUN].metrics = { loss: 1, acc: 0.5 };
    store.runs[THIRD] = { ...store.runs[OTHER], id: THIRD, name: 'gamma' };
    const model = new ChartsModel({
      api: store.api,
      runIds: [FAKE_RUN, OTHER, THIRD],
      experimentId,
      title: 'exp',
      memory: mem,
      interval: 0
    });
    await model.load();
    const render = () =>
      act(() => root.render(<ChartsView model={model} openRun={() => {}} />));
    model.changed.connect(render);
    render();
    await settle();
    return { model, store };
  }

  const chartKeys = () =>
    Array.from(host.querySelectorAll('.jp-mm-chart')).map(
      c => (c as HTMLElement).dataset.keys
    );
  const lastDraw = (key: string) =>
    [...drawn].reverse().find(d => d.node.dataset.keys === key)!;

  it('draws a chart per metric, a curve per run, one legend', async () => {
    const { model } = await open(memory());
    expect(chartKeys()).toEqual(['acc', 'loss']);
    const loss = lastDraw('loss');
    expect(loss.data.map(t => t.name)).toEqual(['alpha', 'beta', 'gamma']);
    expect(loss.layout.showlegend).toBe(false);
    // A run has the same colour in every chart.
    expect(lastDraw('acc').data[0].line.color).toBe(loss.data[0].line.color);
    expect(
      Array.from(host.querySelectorAll('.jp-mm-compare-runs li')).map(
        li => li.textContent
      )
    ).toEqual(['alpha running', 'beta running', 'gamma running']);
    model.dispose();
  });

  it('zooming one chart zooms the others', async () => {
    const { model } = await open(memory());
    // Unzoomed, every chart spans all the charts' data (steps 0 and 1).
    expect(model.fullRange).toEqual([0, 1]);
    expect(lastDraw('loss').layout.xaxis.range).toEqual([0, 1]);
    const acc = lastDraw('acc').node;
    const loss = lastDraw('loss').node;
    act(() =>
      listeners.get(acc)!({ 'xaxis.range[0]': 0.2, 'xaxis.range[1]': 0.8 })
    );
    await settle();
    expect(lastDraw('loss').layout.xaxis.range).toEqual([0.2, 0.8]);
    expect(lastDraw('acc').layout.xaxis.range).toEqual([0.2, 0.8]);
    expect(model.xRange).toEqual([0.2, 0.8]);
    // Back to everything from the other chart: all of every chart's data.
    act(() => listeners.get(loss)!({ 'xaxis.autorange': true }));
    await settle();
    expect(model.xRange).toBeNull();
    expect(lastDraw('acc').layout.xaxis.range).toEqual([0, 1]);
    // A double click resets to that range: not a zoom.
    act(() => listeners.get(acc)!({ 'xaxis.range': [0, 1] }));
    await settle();
    expect(model.xRange).toBeNull();
    model.dispose();
  });

  it('saves charts, axis and smoothing per experiment and reads them back', async () => {
    const mem = memory();
    const first = await open(mem, '1');
    act(() =>
      (
        host.querySelector(
          '[aria-label="Remove the chart of acc"]'
        ) as HTMLButtonElement
      ).click()
    );
    await settle();
    expect(chartKeys()).toEqual(['loss']);
    const add = host.querySelector(
      '.jp-mm-charts-add select'
    ) as HTMLSelectElement;
    expect(Array.from(add.options).map(o => o.value)).toEqual(['', 'acc']);
    first.model.setSettings({ axis: 'time', smoothing: 0.5, logY: false });
    await settle();
    // Smoothing: a faint raw line behind each smoothed one.
    expect(lastDraw('loss').data).toHaveLength(6);
    expect(mem.saved.get(layoutKey('1'))).toMatchObject({
      charts: ['loss'],
      axis: 'time',
      smoothing: 0.5
    });
    first.model.dispose();

    // Reopened: the layout is back; another experiment has its own.
    const again = await open(mem, '1');
    expect(chartKeys()).toEqual(['loss']);
    expect(again.model.layout.smoothing).toBe(0.5);
    again.model.dispose();
    const other = await open(mem, '2');
    expect(chartKeys()).toEqual(['acc', 'loss']);
    other.model.dispose();
  });

  it('follows its runs live: a chart whose metric got points asks again', async () => {
    const { model, store } = await open(memory());
    const asked = (key: string) =>
      store.histories().filter(c => c.body.keys.includes(key)).length;
    const [acc, loss] = [asked('acc'), asked('loss')];
    model.storeEvent({
      action: 'metrics-appended',
      run_id: OTHER,
      keys: ['loss']
    });
    // Another run's event is not this workspace's.
    model.storeEvent({
      action: 'metrics-appended',
      run_id: 'd'.repeat(32),
      keys: ['acc']
    });
    await act(() => new Promise<void>(resolve => setTimeout(resolve, 10)));
    await settle();
    expect(asked('loss')).toBe(loss + 1);
    expect(asked('acc')).toBe(acc);
    model.dispose();
  });
});
