/**
 * Component tests of the views against a fake server (a `fetch` stub in the
 * server settings): the run view renders user text as text, edits tags and
 * notes through the REST API and sandboxes HTML previews; the compare table
 * highlights and hides rows; the chart re-queries the visible range on zoom
 * (plotly replaced by a recording stand-in: jsdom cannot draw SVG charts;
 * the real plotly is exercised by the Galata tests).
 */

import * as React from 'react';
import { act } from 'react';
import { Root } from 'react-dom/client';
import { fakeServerSettings, ICall, mountEachTest, flush, EVIL } from './utils';

import {
  RenderMimeRegistry,
  standardRendererFactories
} from '@jupyterlab/rendermime';

import { ViewsAPI } from '../views/api';
import { MetricChart } from '../views/chart';
import { CompareModel, CompareTable, GroupTable } from '../views/compareview';
import { groupRuns } from '../grouping';
import { RunViewModel } from '../views/runmodel';
import { IRunViewContext, RunView } from '../views/runview';

// A stand-in for plotly: records what it is asked to draw and lets the test
// fire plotly events on the node.
const drawn: Array<{ data: any[]; layout: any }> = [];
jest.mock('plotly.js-dist-min', () => ({
  react: (node: any, data: any[], layout: any) => {
    drawn.push({ data, layout });
    if (!node.on) {
      const handlers: Record<string, Array<(e: any) => void>> = {};
      node.on = (name: string, f: (e: any) => void) =>
        (handlers[name] = [...(handlers[name] ?? []), f]);
      node.emit = (name: string, e: any) =>
        (handlers[name] ?? []).forEach(f => f(e));
    }
    return Promise.resolve(node);
  },
  purge: () => undefined,
  Plots: { resize: () => undefined }
}));

const RUN = 'a'.repeat(32);
const OTHER = 'b'.repeat(32);

function fakeServer(routes: Parameters<typeof fakeServerSettings>[0]): {
  api: ViewsAPI;
  calls: ICall[];
} {
  const { settings, calls } = fakeServerSettings(routes);
  return { api: new ViewsAPI(settings), calls };
}

function run(overrides: Record<string, unknown> = {}): any {
  return {
    id: RUN,
    name: EVIL,
    experiment_id: '0',
    experiment: 'Default',
    status: 'FINISHED',
    start_time: 1_000_000,
    end_time: 1_060_000,
    user: EVIL,
    lifecycle_stage: 'active',
    notes: EVIL,
    params: { [EVIL]: EVIL },
    metrics: {},
    tags: { team: EVIL, 'mm.cell.id': 'c1' },
    ...overrides
  };
}

describe('RunView', () => {
  let host: HTMLDivElement;
  let root: Root;
  const context: IRunViewContext = {
    rendermime: new RenderMimeRegistry({
      initialFactories: standardRendererFactories
    }),
    restoreSnapshot: jest.fn(() => Promise.resolve())
  };

  mountEachTest(m => ({ host, root } = m));

  function routes(state: { run: any }) {
    return (call: ICall) => {
      const path = call.url.replace(
        'http://localhost:8888/jupyter-mm/api/',
        ''
      );
      if (path === `runs/${RUN}` && call.method === 'GET') {
        return { body: state.run };
      }
      if (path === `runs/${RUN}` && call.method === 'PATCH') {
        state.run = {
          ...state.run,
          ...(call.body.notes !== undefined ? { notes: call.body.notes } : {}),
          tags: { ...state.run.tags, ...(call.body.tags ?? {}) }
        };
        return { body: state.run };
      }
      if (path.startsWith(`runs/${RUN}/tags/`) && call.method === 'DELETE') {
        const key = decodeURIComponent(path.split('/').pop()!);
        const tags = { ...state.run.tags };
        delete tags[key];
        state.run = { ...state.run, tags };
        return { body: {} };
      }
      if (path === `runs/${RUN}/artifacts?recursive=true`) {
        return {
          body: {
            run_id: RUN,
            artifacts: [
              // the record the run has (the view asks for no other)
              {
                path: '.mm/cell.json',
                is_dir: false,
                size: 200,
                digest: 'c',
                media_type: 'application/json',
                created_time: 0
              },
              {
                path: 'report.html',
                is_dir: false,
                size: 40,
                digest: 'd',
                media_type: 'text/html',
                created_time: 0
              }
            ]
          }
        };
      }
      if (path === `runs/${RUN}/artifacts/report.html`) {
        return {
          body: `<script>window.__pwned = 1</script>${EVIL}`,
          type: 'text/html'
        };
      }
      if (path === `runs/${RUN}/datasets`) {
        return { body: { run_id: RUN, datasets: [] } };
      }
      if (path === `runs/${RUN}/records/cell`) {
        return {
          body: {
            run_id: RUN,
            kind: 'cell',
            path: '.mm/cell.json',
            record: {
              cell_id: 'c1',
              execution_count: 2,
              source: 'print(1)',
              outputs: [
                {
                  output_type: 'display_data',
                  data: { 'text/html': EVIL, 'text/plain': 'x' },
                  metadata: {}
                }
              ]
            }
          }
        };
      }
      return {
        status: 404,
        body: { error_code: 'RESOURCE_DOES_NOT_EXIST', message: 'no' }
      };
    };
  }

  /** The view of the default run, loaded and drawn. */
  async function showRun(): Promise<void> {
    const { api } = fakeServer(routes({ run: run() }));
    const model = new RunViewModel(api, RUN);
    await act(() => model.load());
    act(() => root.render(<RunView model={model} context={context} />));
    await flush();
  }

  it('renders user text as text and sanitises outputs', async () => {
    await showRun();
    expect(host.querySelector('.jp-mm-view-title')?.textContent).toBe(EVIL);
    expect(host.querySelector('dd[data-label="User"]')?.textContent).toBe(EVIL);
    expect(host.querySelector('.jp-mm-tag-value')?.textContent).toBe(EVIL);
    expect(
      (host.querySelector('.jp-mm-textarea') as HTMLTextAreaElement).value
    ).toBe(EVIL);
    // The cell's HTML output went through the sanitiser: no onerror survives.
    expect(host.querySelector('.jp-mm-cell-outputs')).not.toBeNull();
    host.querySelectorAll('img').forEach(img => {
      expect(img.getAttribute('onerror')).toBeNull();
    });
    expect((window as any).__pwned).toBeUndefined();
    // The restore button is disabled without a snapshot.
    const restore = Array.from(host.querySelectorAll('button')).find(b =>
      b.textContent?.includes('Restore snapshot')
    )!;
    expect(restore.disabled).toBe(true);
  });

  it('adds and removes tags and saves notes through the API', async () => {
    const state = { run: run({ name: 'plain', tags: {}, notes: '' }) };
    const { api, calls } = fakeServer(routes(state));
    const model = new RunViewModel(api, RUN);
    await act(() => model.load());
    // As RunViewWidget does: render again whenever the model changes.
    const render = () =>
      root.render(<RunView model={model} context={context} />);
    model.changed.connect(render);
    act(render);
    await flush();

    const setInput = (
      el: HTMLInputElement | HTMLTextAreaElement,
      v: string
    ) => {
      const proto = Object.getPrototypeOf(el);
      Object.getOwnPropertyDescriptor(proto, 'value')!.set!.call(el, v);
      el.dispatchEvent(new Event('input', { bubbles: true }));
    };
    act(() => {
      setInput(host.querySelector('[aria-label="New tag key"]')!, 'stage');
      setInput(host.querySelector('[aria-label="New tag value"]')!, 'dev');
    });
    await act(async () => {
      host
        .querySelector('.jp-mm-tag-form')!
        .dispatchEvent(
          new Event('submit', { bubbles: true, cancelable: true })
        );
    });
    await flush();
    const patch = calls.find(c => c.method === 'PATCH')!;
    expect(patch.body).toEqual({ tags: { stage: 'dev' } });
    expect(host.querySelector('.jp-mm-tag-key')?.textContent).toBe('stage');

    await act(async () => {
      (
        host.querySelector(
          '[aria-label="Remove tag stage"]'
        ) as HTMLButtonElement
      ).click();
    });
    await flush();
    expect(
      calls.some(c => c.method === 'DELETE' && c.url.endsWith('/tags/stage'))
    ).toBe(true);
    expect(host.querySelector('.jp-mm-tag-key')).toBeNull();

    act(() => setInput(host.querySelector('.jp-mm-textarea')!, 'better'));
    const save = Array.from(host.querySelectorAll('button')).find(
      b => b.textContent === 'Save notes'
    )!;
    expect(save.disabled).toBe(false);
    await act(async () => save.click());
    await flush();
    expect(calls.filter(c => c.method === 'PATCH').pop()!.body).toEqual({
      notes: 'better'
    });
    expect(host.querySelector('.jp-mm-notes-state')?.textContent).toBe(
      'Saved.'
    );
  });

  it('shows artifacts as a tree the keyboard can walk', async () => {
    await showRun();
    const items = () =>
      Array.from(host.querySelectorAll<HTMLElement>('[role="treeitem"]'));
    const labels = () =>
      items().map(i => [
        i.querySelector('.jp-mm-artifact-path')!.textContent,
        i.getAttribute('aria-level')
      ]);
    const key = (item: HTMLElement, k: string) =>
      act(() => {
        item.dispatchEvent(
          new KeyboardEvent('keydown', { key: k, bubbles: true })
        );
      });
    expect(host.querySelector('[role="tree"]')).not.toBeNull();
    expect(labels()).toEqual([
      ['.mm/', '1'],
      ['report.html', '1']
    ]);
    expect(items()[0].getAttribute('aria-expanded')).toBe('false');
    expect(items().map(i => i.tabIndex)).toEqual([0, -1]);
    key(items()[0], 'ArrowRight');
    expect(labels()).toEqual([
      ['.mm/', '1'],
      ['cell.json', '2'],
      ['report.html', '1']
    ]);
    expect(items()[0].getAttribute('aria-expanded')).toBe('true');
    key(items()[0], 'ArrowDown');
    expect(document.activeElement).toBe(items()[1]);
    expect(items().map(i => i.tabIndex)).toEqual([-1, 0, -1]);
    key(items()[1], 'ArrowLeft');
    expect(document.activeElement).toBe(items()[0]);
    key(items()[0], 'ArrowLeft');
    expect(labels()).toEqual([
      ['.mm/', '1'],
      ['report.html', '1']
    ]);
    key(items()[0], 'End');
    expect(document.activeElement).toBe(items()[1]);
    await act(async () => key(items()[1], 'Enter'));
    await flush();
    expect(items()[1].getAttribute('aria-selected')).toBe('true');
    expect(host.querySelector('.jp-mm-preview-header code')?.textContent).toBe(
      'report.html'
    );
  });

  it('previews HTML artifacts only in a sandboxed iframe', async () => {
    await showRun();
    await act(async () => {
      Array.from(host.querySelectorAll<HTMLElement>('.jp-mm-artifact'))
        .find(b => b.textContent?.includes('report.html'))!
        .click();
    });
    await flush();
    const frame = host.querySelector('iframe.jp-mm-preview-html')!;
    expect(frame).not.toBeNull();
    expect(frame.getAttribute('sandbox')).toBe('');
    expect(frame.getAttribute('srcdoc')).toContain('<script>');
    // Nothing of the file reached the page itself.
    expect(host.querySelector('.jp-mm-preview script')).toBeNull();
    expect((window as any).__pwned).toBeUndefined();
  });
});

describe('RunViewModel', () => {
  it('re-queries charts on new points and reloads the run for new keys', async () => {
    const state = { run: run({ metrics: { loss: 1 } }) };
    const { api, calls } = fakeServer(() => ({ body: state.run }));
    const model = new RunViewModel(api, RUN);
    await model.reloadRun();
    const changes: number[] = [];
    model.changed.connect(() => changes.push(model.metricsTick));
    const before = calls.length;
    model.metricsAppended(['loss']);
    expect(model.metricsTick).toBe(1);
    expect(changes).toEqual([1]);
    expect(calls.length).toBe(before); // a known key: only the charts query

    state.run = run({ metrics: { loss: 1, acc: 0.5 } });
    model.metricsAppended(['acc']);
    await flush();
    expect(calls.length).toBe(before + 1);
    expect(Object.keys(model.run!.metrics).sort()).toEqual(['acc', 'loss']);
  });

  it('keeps the error when the run cannot be read', async () => {
    const { api } = fakeServer(() => ({
      status: 404,
      body: { error_code: 'RESOURCE_DOES_NOT_EXIST', message: 'no such run' }
    }));
    const model = new RunViewModel(api, RUN);
    await model.load();
    expect(model.run).toBeNull();
    expect(model.error).toContain('no such run');
  });
});

describe('CompareTable and GroupTable', () => {
  let host: HTMLDivElement;
  let root: Root;

  mountEachTest(m => ({ host, root } = m));

  it('highlights differing rows and hides identical ones on demand', () => {
    const { api } = fakeServer(() => ({ body: {} }));
    const model = new CompareModel(api, [RUN, OTHER]);
    model.runs = [
      run({
        name: 'a',
        params: { lr: '0.1', seed: '1' },
        metrics: { auc: 0.8 }
      }),
      run({
        id: OTHER,
        name: EVIL,
        params: { lr: '0.3', seed: '1' },
        metrics: { auc: 0.9 }
      })
    ];
    model.loaded = true;
    act(() => root.render(<CompareTable model={model} />));
    const rows = () =>
      Array.from(host.querySelectorAll('tbody tr')).map(tr => [
        tr.querySelector('th')!.textContent,
        tr.getAttribute('data-differs')
      ]);
    // Something differs, so identical rows start hidden.
    expect(rows()).toEqual([
      ['param lr', 'true'],
      ['metric auc', 'true']
    ]);
    expect(host.querySelector('thead')!.textContent).toContain(EVIL);
    expect(host.querySelector('thead img')).toBeNull();
    const toggle = host.querySelector(
      'input[type="checkbox"]'
    ) as HTMLInputElement;
    act(() => toggle.click());
    expect(rows()).toEqual([
      ['param lr', 'true'],
      ['param seed', 'false'],
      ['metric auc', 'true']
    ]);
    expect(host.querySelector('.jp-mm-highest')?.textContent).toBe('0.9');
  });

  it("shows each group's runs and mean (min–max), values as text", () => {
    const { api } = fakeServer(() => ({ body: {} }));
    const model = new CompareModel(api, [RUN, OTHER, 'c'.repeat(32)]);
    model.runs = [
      run({ params: { opt: EVIL }, metrics: { auc: 0.8 } }),
      run({ id: OTHER, params: { opt: EVIL }, metrics: { auc: 0.6 } }),
      run({ id: 'c'.repeat(32), params: {}, metrics: { auc: 'NaN' } })
    ];
    model.loaded = true;
    const groups = groupRuns(model.runs, 'params.opt', ['auc']);
    act(() =>
      root.render(
        <GroupTable model={model} groupBy="params.opt" groups={groups} />
      )
    );
    const rows = Array.from(host.querySelectorAll('tbody tr')).map(tr =>
      Array.from(tr.children).map(cell => cell.textContent)
    );
    expect(rows).toEqual([
      [EVIL, '2', '0.7 (0.6–0.8)'],
      ['(none)', '1', '—']
    ]);
    expect(host.querySelector('thead')!.textContent).toBe('optrunsauc');
    expect(host.querySelector('img')).toBeNull();
  });
});

describe('MetricChart', () => {
  it('draws groups as mean lines in bands, and runs again', async () => {
    const { api } = fakeServer(() => ({
      body: {
        series: [RUN, OTHER].map((id, i) => ({
          run_id: id,
          key: 'loss',
          step: [0, 1],
          timestamp: [1, 2],
          value: [i, i + 2]
        }))
      }
    }));
    const node = document.createElement('div');
    document.body.appendChild(node);
    const chart = new MetricChart({
      node,
      api,
      runIds: [RUN, OTHER],
      keys: ['loss'],
      startTimes: {},
      settings: { axis: 'step', smoothing: 0, logY: false },
      grouping: {
        title: EVIL,
        groups: [{ name: EVIL, runIds: [RUN, OTHER], color: '#2ca02c' }]
      }
    });
    drawn.length = 0;
    await chart.refresh();
    const grouped = drawn[drawn.length - 1];
    expect(grouped.data.map((t: any) => [t.meta.band, t.fill])).toEqual([
      ['min', undefined],
      ['max', 'tonexty'],
      ['mean', undefined]
    ]);
    expect(grouped.data[2].y).toEqual([0.5, 2.5]);
    // Names are user text: escaped for plotly's HTML subset.
    expect(grouped.data[2].name).not.toContain('<');
    expect(grouped.layout.legend.title.text).not.toContain('<');
    expect(grouped.layout.showlegend).toBe(true);
    await chart.setGrouping(null);
    const runs = drawn[drawn.length - 1];
    expect(runs.data.map((t: any) => t.meta.runId)).toEqual([RUN, OTHER]);
    expect(runs.layout.legend.title).toBeUndefined();
    chart.dispose();
    node.remove();
  });

  it('asks for ~2,000 points of the visible range, again on zoom', async () => {
    const history = (call: ICall) => ({
      body: {
        series: [
          {
            run_id: RUN,
            key: 'loss',
            step: [0, 1, 2],
            timestamp: [1, 2, 3],
            value: [3, 'NaN', 1]
          }
        ]
      },
      call
    });
    const { api, calls } = fakeServer(history);
    const node = document.createElement('div');
    document.body.appendChild(node);
    const chart = new MetricChart({
      node,
      api,
      runIds: [RUN],
      keys: ['loss'],
      startTimes: { [RUN]: 0 },
      settings: { axis: 'step', smoothing: 0, logY: false },
      title: '<b>loss</b>'
    });
    drawn.length = 0;
    await chart.refresh();
    expect(calls).toHaveLength(1);
    expect(calls[0].body).toEqual({
      run_ids: [RUN],
      keys: ['loss'],
      max_points: 2000
    });
    expect(drawn[0].data[0].y).toEqual([3, null, 1]);
    expect(drawn[0].layout.title.text).toBe('&lt;b&gt;loss&lt;/b&gt;');
    expect(node.dataset.points).toBe('3');

    const next = new Promise<number>(resolve =>
      chart.drawn.connect((_, n) => resolve(n))
    );
    (node as any).emit('plotly_relayout', {
      'xaxis.range[0]': 100.5,
      'xaxis.range[1]': 200.5
    });
    await next;
    expect(calls[1].body.step_range).toEqual([100, 201]);

    // a y-axis zoom does not query again
    (node as any).emit('plotly_relayout', { 'yaxis.range[0]': 1 });
    await chart.setSettings({ axis: 'step', smoothing: 0.5, logY: true });
    expect(calls).toHaveLength(2);
    const last = drawn[drawn.length - 1];
    expect(last.layout.yaxis.type).toBe('log');
    expect(last.data).toHaveLength(2); // raw + smoothed
    chart.dispose();
    node.remove();
  });
});
