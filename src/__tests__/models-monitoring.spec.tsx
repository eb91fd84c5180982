/**
 * Monitoring in the Models panel and the version view against a fake
 * registry server: the REST call, a status badge per version row (text,
 * class, accessible label; a dash when the server cannot say), and the
 * version view's Monitoring section (the latest verdicts and the history as
 * text, never HTML; a thin window said plainly; a refusal shown in place).
 */

import { act } from 'react';
import { Root } from 'react-dom/client';

import { RegistryAPI } from '../models/api';
import { statText, VersionViewModel } from '../models/versionview';
import type { IEvaluationRecord, IModelMonitoring } from '../schema';
import {
  EVIL,
  fakeVersion,
  ICall,
  mountEachTest,
  flush,
  driftHistory,
  creditRegistry,
  showModelsPanel,
  showVersionView
} from './utils';

const BASE = 'http://localhost:8888/jupyter-mm/api/registry/models/credit';

const RECORD: IEvaluationRecord = {
  id: 'e'.repeat(32),
  at: '2026-01-01T02:50:00+00:00',
  model: 'credit',
  monitor: 'champion',
  alias: 'champion',
  version: 1,
  step: 2,
  status: 'drift',
  rows: 1000,
  min_rows: 100,
  preset: 'bank',
  share: 0.5,
  drift_share: 0,
  performance: null,
  verdicts: [
    {
      feature: EVIL,
      method: 'psi',
      statistic: 0.61234,
      threshold: 0.25,
      warning: 0.1,
      p_value: 0,
      drifted: true,
      band: 'drift',
      n_reference: 2000,
      n_current: 1000
    },
    {
      feature: '__score__',
      method: 'psi',
      statistic: 'NaN',
      threshold: 0.25,
      warning: 0.1,
      p_value: null,
      drifted: false,
      band: 'ok',
      n_reference: 2000,
      n_current: 1000
    }
  ]
};

const MONITORING: IModelMonitoring = {
  name: 'credit',
  monitors: [
    {
      id: 'champion',
      alias: 'champion',
      window: '1h',
      every: '1h',
      preset: 'bank',
      min_rows: 100,
      version: 1
    }
  ],
  versions: [
    {
      version: 3,
      status: 'no-data',
      monitors: [],
      evaluations: 0,
      latest: null,
      history: []
    },
    {
      version: 1,
      status: 'drift',
      monitors: ['champion'],
      evaluations: 2,
      latest: RECORD,
      history: driftHistory()
    }
  ]
};

function server(monitoring: (call: ICall) => { status?: number; body: any }): {
  api: RegistryAPI;
  calls: ICall[];
} {
  return creditRegistry({
    'http://localhost:8888/jupyter-mm/api/registry/models': () => ({
      body: { models: [{ ...MODEL }] }
    }),
    [BASE]: () => ({ body: MODEL }),
    [`${BASE}/versions`]: () => ({
      body: {
        versions: [3, 2, 1].map(n =>
          fakeVersion({ name: 'credit', version: n })
        )
      }
    }),
    [`${BASE}/monitoring`]: monitoring
  });
}

const MODEL = {
  name: 'credit',
  description: null,
  owner: 'ana',
  creation_time: 1,
  last_update_time: 1,
  tags: {},
  aliases: { champion: 1 },
  last_version: 3
};

describe('Monitoring in the Models panel and version view', () => {
  let host: HTMLDivElement;
  let root: Root;

  mountEachTest(m => ({ host, root } = m));

  it('asks the monitoring route for a bounded history', async () => {
    const { api, calls } = server(() => ({ body: MONITORING }));
    await api.monitoring('credit');
    expect(calls[0].method).toBe('GET');
    expect(calls[0].url).toBe(`${BASE}/monitoring?history=50`);
  });

  it('shows a status badge on each version row', async () => {
    const { api } = server(() => ({ body: MONITORING }));
    await showModelsPanel(root, api);
    const rows = Array.from(
      host.querySelectorAll('.jp-mm-versions-table tbody tr')
    );
    expect(rows.map(r => r.getAttribute('data-version'))).toEqual([
      '3',
      '2',
      '1'
    ]);
    const badge = (row: Element) => row.querySelector('.jp-mm-monitoring');
    expect(badge(rows[0])?.textContent).toBe('no data');
    expect(badge(rows[0])?.classList).toContain('jp-mm-monitoring-no-data');
    expect(badge(rows[1])).toBeNull(); // the server did not name version 2
    expect(badge(rows[2])?.textContent).toBe('drift');
    expect(badge(rows[2])?.classList).toContain('jp-mm-monitoring-drift');
    expect(badge(rows[2])?.getAttribute('aria-label')).toBe(
      'Monitoring: drift'
    );
  });

  it('shows the warning and performance-down badges', async () => {
    const { api } = server(() => ({
      body: {
        ...MONITORING,
        versions: [
          { ...MONITORING.versions[0], version: 3, status: 'warning' },
          { ...MONITORING.versions[0], version: 2, status: 'ok' },
          { ...MONITORING.versions[1], status: 'performance-down' }
        ]
      }
    }));
    await showModelsPanel(root, api);
    const badges = Array.from(
      host.querySelectorAll('.jp-mm-versions-table tbody tr')
    ).map(row => {
      const b = row.querySelector('.jp-mm-monitoring')!;
      return [
        row.getAttribute('data-version'),
        b.textContent,
        b.getAttribute('data-status'),
        b.getAttribute('aria-label'),
        b.classList.contains(
          `jp-mm-monitoring-${b.getAttribute('data-status')}`
        ),
        b.getAttribute('title')
      ];
    });
    expect(badges).toEqual([
      [
        '3',
        'warning',
        'warning',
        'Monitoring: warning',
        true,
        'a feature moved past its warning band'
      ],
      [
        '2',
        'OK',
        'ok',
        'Monitoring: OK',
        true,
        'no drift in the last evaluation'
      ],
      [
        '1',
        'performance down',
        'performance-down',
        'Monitoring: performance down',
        true,
        'performance degraded'
      ]
    ]);
  });

  it('keeps the versions when the monitoring route fails', async () => {
    const { api } = server(() => ({
      status: 403,
      body: { error_code: 'PERMISSION_DENIED', message: 'no' }
    }));
    const model = await showModelsPanel(root, api);
    const rows = host.querySelectorAll('.jp-mm-versions-table tbody tr');
    expect(rows).toHaveLength(3);
    expect(host.querySelector('.jp-mm-monitoring')).toBeNull();
    expect(model.versionsError).toBeNull();
  });

  it('shows the latest verdicts and the history as text', async () => {
    const { api } = server(() => ({ body: MONITORING }));
    await showVersionView(root, new VersionViewModel(api, 'credit', 1));
    expect(host.querySelector('img')).toBeNull();
    const section = host.querySelector(
      'section[aria-labelledby="jp-mm-version-credit-1-monitoring"]'
    )!;
    expect(section.querySelector('h2')?.textContent).toBe('Monitoring');
    expect(section.querySelector('.jp-mm-monitoring')?.textContent).toBe(
      'drift'
    );
    expect(section.textContent).toContain('champion');
    expect(section.querySelector('.jp-mm-monitoring-latest')?.textContent).toBe(
      '2026-01-01T02:50:00+00:00 · monitor champion (@champion, bank) · ' +
        'evaluation 2 · 1000 rows · drift · drifted share 0.5'
    );
    const verdicts = Array.from(
      section.querySelectorAll('.jp-mm-verdicts tbody tr')
    ).map(r => Array.from(r.querySelectorAll('td')).map(td => td.textContent));
    expect(verdicts).toEqual([
      [EVIL, 'psi', '0.612', '0.25 (warning 0.1)', '0', 'drift', '2000 / 1000'],
      ['score', 'psi', 'NaN', '0.25 (warning 0.1)', '—', 'ok', '2000 / 1000']
    ]);
    // newest first
    const history = Array.from(
      section.querySelectorAll('.jp-mm-monitoring-history tbody tr')
    ).map(r => Array.from(r.querySelectorAll('td')).map(td => td.textContent));
    expect(history).toEqual([
      ['2026-01-01 02:50:00', 'champion', '2', 'drift', '1000', '0.5'],
      ['2026-01-01 00:50:00', 'champion', '1', 'OK', '1000', '0']
    ]);
  });

  it('says when the window was too thin, and shows a refusal in place', async () => {
    const thin: IEvaluationRecord = {
      ...RECORD,
      status: 'not-enough-data',
      rows: 12,
      share: null,
      drift_share: null,
      verdicts: []
    };
    let refuse = false;
    const { api } = server(() =>
      refuse
        ? {
            status: 403,
            body: { error_code: 'PERMISSION_DENIED', message: 'not yours' }
          }
        : {
            body: {
              ...MONITORING,
              versions: [
                {
                  ...MONITORING.versions[1],
                  status: 'not-enough-data',
                  latest: thin
                }
              ]
            }
          }
    );
    const model = await showVersionView(
      root,
      new VersionViewModel(api, 'credit', 1)
    );
    expect(host.textContent).toContain(
      'No verdict: 12 rows in the window, 100 needed.'
    );
    expect(host.querySelector('.jp-mm-monitoring')?.textContent).toBe(
      'not enough data'
    );
    refuse = true;
    await act(() => model.load());
    await flush();
    expect(model.errors.monitoring).toBe('Refused (403): not yours');
    expect(host.textContent).toContain('Refused (403): not yours');
  });

  it('writes record numbers as text', () => {
    expect(statText(null)).toBe('—');
    expect(statText('Infinity')).toBe('Infinity');
    expect(statText(3)).toBe('3');
    expect(statText(0.123456)).toBe('0.123');
  });
});
