/**
 * The version view's drift report against a fake registry server (plotly
 * replaced by a recording stand-in: jsdom cannot draw SVG charts): the REST
 * call, only for an evaluated version; the most drifted feature drawn first
 * (reference vs current on the same bins), the score's distributions and the
 * feature's statistic over time; another feature picked from the list; user
 * text as text in the page and escaped in the figures; a refusal in place.
 */

import { act } from 'react';
import { Root } from 'react-dom/client';

import { RegistryAPI } from '../models/api';
import { driftRank, mostDrifted } from '../models/monitoring-report';
import { VersionViewModel } from '../models/versionview';
import type {
  IModelMonitoring,
  IReportVerdict,
  IVersionMonitoringReport
} from '../schema';
import {
  EVIL,
  ICall,
  mountEachTest,
  flush,
  driftHistory,
  creditRegistry,
  showVersionView
} from './utils';
import { drawn } from './plotlyStub';

jest.mock(
  'plotly.js-dist-min',
  () => jest.requireActual('./plotlyStub').plotlyStub
);

const BASE = 'http://localhost:8888/jupyter-mm/api/registry/models/credit';

function verdict(
  feature: string,
  band: string,
  statistic: number,
  labels: string[],
  reference: number[],
  current: number[]
): IReportVerdict {
  return {
    feature,
    method: 'psi',
    statistic,
    threshold: 0.25,
    warning: 0.1,
    p_value: null,
    drifted: band === 'drift',
    band,
    n_reference: 2000,
    n_current: 1000,
    notes: [],
    bins: {
      labels,
      edges: null,
      reference,
      current,
      reference_counts: reference.map(p => p * 2000),
      current_counts: current.map(p => p * 1000)
    },
    bins_source: 'verdict'
  };
}

const REPORT: IVersionMonitoringReport = {
  name: 'credit',
  version: 1,
  report: {
    model: 'credit',
    version: 1,
    monitor: 'champion',
    evaluation: 'e'.repeat(32),
    step: 2,
    at: '2026-01-01T02:50:00Z',
    preset: 'bank',
    window: '1h',
    window_start: '2026-01-01T01:50:00Z',
    window_end: '2026-01-01T02:50:00Z',
    rows: 1000,
    compared: 1000,
    min_rows: 100,
    status: 'drift',
    drifted: true,
    share: 0.5,
    notes: [],
    verdicts: [
      verdict('age', 'warning', 0.12, ['<30', '≥30'], [0.5, 0.5], [0.6, 0.4]),
      verdict(EVIL, 'drift', 0.61, [EVIL, 'other'], [0.7, 0.3], [0.2, 0.8]),
      verdict(
        '__score__',
        'ok',
        0.01,
        ['[0, 0.5)', '[0.5, 1]'],
        [0.5, 0.5],
        [0.52, 0.48]
      )
    ]
  },
  evaluations: driftHistory(),
  series: {
    age: {
      method: 'psi',
      metric: 'psi/age',
      threshold: 0.25,
      warning: 0.1,
      statistic: [0.02, 0.12]
    },
    [EVIL]: {
      method: 'psi',
      metric: `psi/${EVIL}`,
      threshold: 0.25,
      warning: 0.1,
      statistic: [null, 0.61]
    },
    __score__: {
      method: 'psi',
      metric: 'psi/score',
      threshold: 0.25,
      warning: 0.1,
      statistic: [0.0, 0.01]
    }
  }
};

function monitoring(evaluations: number): IModelMonitoring {
  return {
    name: 'credit',
    monitors: [],
    versions: [
      {
        version: 1,
        status: evaluations ? 'drift' : 'no-data',
        monitors: [],
        evaluations,
        latest: null,
        history: []
      }
    ]
  };
}

function server(
  evaluations: number,
  report: (call: ICall) => { status?: number; body: any }
): { api: RegistryAPI; calls: ICall[] } {
  return creditRegistry({
    [`${BASE}/monitoring`]: () => ({ body: monitoring(evaluations) }),
    [`${BASE}/versions/1/monitoring`]: report
  });
}

/**
 * The last drawing into the figure of class `name`.
 */
function figure(name: string): { data: any[]; layout: any } | undefined {
  return [...drawn].reverse().find(d => d.node.classList.contains(name));
}

describe("The version view's drift report", () => {
  let host: HTMLDivElement;
  let root: Root;

  beforeEach(() => (drawn.length = 0));
  mountEachTest(m => ({ host, root } = m));

  async function open(api: RegistryAPI): Promise<VersionViewModel> {
    return showVersionView(root, new VersionViewModel(api, 'credit', 1));
  }

  it('asks the version route for a bounded history', async () => {
    const { api, calls } = server(2, () => ({ body: REPORT }));
    await api.monitoringReport('credit', 1);
    expect(calls[0].method).toBe('GET');
    expect(calls[0].url).toBe(`${BASE}/versions/1/monitoring?history=50`);
  });

  it('draws the most drifted feature, the score and the statistic over time', async () => {
    const { api } = server(2, () => ({ body: REPORT }));
    await open(api);
    expect(host.querySelector('img')).toBeNull();
    const select = host.querySelector<HTMLSelectElement>(
      '.jp-mm-report-feature'
    )!;
    expect(Array.from(select.options).map(o => o.textContent)).toEqual([
      'age',
      EVIL
    ]);
    expect(select.value).toBe(EVIL);
    expect(host.querySelector('.jp-mm-report-caption')?.textContent).toBe(
      `${EVIL}: psi 0.61 (threshold 0.25) · drift · evaluation 2 of monitor champion`
    );

    const bins = figure('jp-mm-report-bins')!;
    expect(bins.data.map(t => [t.type, t.name, t.y])).toEqual([
      ['bar', 'reference', [0.7, 0.3]],
      ['bar', 'current', [0.2, 0.8]]
    ]);
    // plotly reads a subset of HTML in labels: the user's are escaped
    expect(bins.data[0].x).toEqual([
      '&lt;img src=x onerror="window.__pwned=1"&gt;',
      'other'
    ]);
    expect(bins.layout.title.text).not.toContain('<img');
    expect(bins.layout.xaxis.type).toBe('category');

    const score = figure('jp-mm-report-score')!;
    expect(score.data.map(t => t.y)).toEqual([
      [0.5, 0.5],
      [0.52, 0.48]
    ]);

    const over = figure('jp-mm-report-over-time')!;
    expect(over.data[0].x).toEqual([
      '2026-01-01T00:50:00+00:00',
      '2026-01-01T02:50:00+00:00'
    ]);
    expect(over.data[0].y).toEqual([null, 0.61]);
    expect(over.data.slice(1).map(t => [t.name, t.y])).toEqual([
      ['threshold', [0.25, 0.25]],
      ['warning', [0.1, 0.1]]
    ]);

    // another feature, chosen by the user
    await act(async () => {
      select.value = 'age';
      select.dispatchEvent(new Event('change', { bubbles: true }));
    });
    await flush();
    expect(figure('jp-mm-report-bins')!.data.map(t => t.y)).toEqual([
      [0.5, 0.5],
      [0.6, 0.4]
    ]);
    expect(figure('jp-mm-report-over-time')!.data[0].y).toEqual([0.02, 0.12]);
  });

  it('asks nothing for a version never evaluated', async () => {
    const { api, calls } = server(0, () => ({ body: REPORT }));
    const model = await open(api);
    expect(calls.some(c => c.url.includes('/versions/1/monitoring'))).toBe(
      false
    );
    expect(model.report).toBeNull();
    expect(host.querySelector('.jp-mm-monitoring-report')).toBeNull();
  });

  it('says when the latest window was too thin', async () => {
    const thin = {
      ...REPORT,
      report: {
        ...REPORT.report!,
        status: 'too_few_rows' as const,
        rows: 12,
        verdicts: []
      }
    };
    const { api } = server(1, () => ({ body: thin }));
    await open(api);
    expect(host.querySelector('.jp-mm-report-empty')?.textContent).toBe(
      'The latest evaluation has no distributions to show: 12 rows in its window, 100 needed.'
    );
    expect(figure('jp-mm-report-bins')).toBeUndefined();
  });

  it('shows a refusal of the report in place', async () => {
    const { api } = server(2, () => ({
      status: 403,
      body: { error_code: 'PERMISSION_DENIED', message: 'not yours' }
    }));
    const model = await open(api);
    expect(model.errors.report).toBe('Refused (403): not yours');
    expect(host.textContent).toContain('Refused (403): not yours');
    // the rest of the section stays
    expect(host.querySelector('.jp-mm-monitoring')?.textContent).toBe('drift');
  });

  it('orders verdicts by band, then how far past the threshold', () => {
    const [age, evil, score] = REPORT.report!.verdicts;
    expect(mostDrifted([age, evil, score])).toBe(EVIL);
    expect(mostDrifted([score])).toBe('');
    const ks = (p: number): IReportVerdict => ({
      ...age,
      band: 'drift',
      drifted: true,
      method: 'ks',
      statistic: 0.2,
      threshold: 0.05,
      p_value: p,
      direction: 'p_value<threshold'
    });
    // a test that drifts below its threshold: the smaller p-value is further
    expect(driftRank(ks(0.001))[1]).toBeGreaterThan(driftRank(ks(0.01))[1]);
    expect(mostDrifted([ks(0.01), { ...ks(0.001), feature: 'b' }])).toBe('b');
  });
});
