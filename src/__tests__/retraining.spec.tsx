/**
 * The version view's Retraining section against a fake Jupyter server (a `fetch` stub answering
 * with the reply shapes of `openapi.ts`): the record that produced a version (trigger, runs, the
 * gate's every check, the approval), the model's recent retrainings with a failed gate, the
 * policy, Retrain now… (its overrides, the server's 400 shown in the dialog, polling the new
 * record until it settles). Reasons, errors, triggers and parameter values go in as markup and
 * must come out as text.
 */

import * as React from 'react';
import { act } from 'react';
import { Root } from 'react-dom/client';

import { ServerConnection } from '@jupyterlab/services';

import { RegistryAPI } from '../models/api';
import type { askForm } from '../models/dialogs';
import {
  askRetrain,
  gateRows,
  gateSpecText,
  RetrainingModel,
  RetrainingView,
  triggerText
} from '../models/retraining';
import { RetrainingAPI } from '../models/retraining-api';
import { VersionView, VersionViewModel } from '../models/versionview';
import type { IRetraining, IRetrainingPolicy } from '../schema';
import {
  EVIL,
  FAKE_RUN,
  fakeVersion,
  flush,
  mountEachTest,
  routedServer,
  scripted,
  versionViewActions
} from './utils';

const CANDIDATE = 'c'.repeat(32);
const BASE = 'registry/models/credit-risk';

const POLICY: IRetrainingPolicy = {
  triggers: ['drift', 'manual'],
  alias: 'champion',
  run_id: null,
  params: { window_days: 30 },
  gate: [
    {
      metric: 'auc',
      threshold: 0.7,
      min_absolute_change: 0.01,
      greater_is_better: true
    }
  ],
  executor: 'local',
  enabled: true
};

function record(overrides: Partial<IRetraining> = {}): IRetraining {
  return {
    retraining_id: 'r1',
    model: 'credit-risk',
    event_key: 'monitor.drift_detected:7',
    trigger: {
      kind: 'drift',
      event: 'monitor.drift_detected',
      evaluation_id: 7,
      monitor: 'credit-drift'
    },
    policy: POLICY,
    state: 'pending_approval',
    source_run_id: FAKE_RUN,
    params: { window_days: 30 },
    job_id: 'j9',
    run_id: CANDIDATE,
    champion_version: 1,
    gate: {
      passed: true,
      thresholds: [
        {
          metric: 'auc',
          candidate: 0.82,
          champion: 0.78,
          passed: true,
          checks: [
            {
              kind: 'threshold',
              bound: 0.7,
              passed: true,
              reason: 'auc 0.82 >= 0.7'
            },
            {
              kind: 'min_absolute_change',
              bound: 0.79,
              passed: true,
              reason: 'auc 0.82 >= champion 0.78 + 0.01'
            }
          ]
        }
      ]
    },
    version: 2,
    approval: 'PendingManualApproval',
    error: null,
    created_by: 'jupyter-mm-retraining',
    created_time: Date.UTC(2026, 11, 5, 8, 0, 0),
    updated_time: Date.UTC(2026, 11, 5, 8, 1, 0),
    ...overrides
  };
}

const GATE_FAILED = record({
  retraining_id: 'r0',
  state: 'gate_failed',
  trigger: { kind: 'manual', by: `mallory ${EVIL}` },
  params: { window_days: EVIL },
  run_id: 'd'.repeat(32),
  version: null,
  approval: null,
  error: `no model ${EVIL}`,
  gate: {
    passed: false,
    thresholds: [
      {
        metric: 'auc',
        candidate: 0.6,
        champion: 0.78,
        passed: false,
        checks: [
          {
            kind: 'threshold',
            bound: 0.7,
            passed: false,
            reason: `auc 0.6 < 0.7 ${EVIL}`
          }
        ]
      }
    ]
  }
});

function cells(row: Element | null): string[] {
  return Array.from(row?.querySelectorAll('td') ?? []).map(
    td => td.textContent ?? ''
  );
}

describe('the version view’s Retraining section', () => {
  let host: HTMLDivElement;
  let root: Root;
  mountEachTest(m => ({ host, root } = m));

  /**
   * The section alone for `credit-risk` (polling at once), loaded.
   */
  async function mount(
    settings: ServerConnection.ISettings,
    options: { version?: number; ask?: typeof askForm } = {}
  ): Promise<RetrainingModel> {
    const model = new RetrainingModel(
      new RetrainingAPI(settings),
      () => 'credit-risk',
      { interval: 0 }
    );
    act(() =>
      root.render(
        <RetrainingView
          model={model}
          version={options.version ?? 1}
          openRun={jest.fn()}
          ask={options.ask}
        />
      )
    );
    await act(() => model.load());
    return model;
  }

  function registry(records: IRetraining[]) {
    return routedServer((method, path) => {
      if (method !== 'GET') {
        return undefined;
      }
      const [route, query] = path.split('?');
      if (route === `${BASE}/versions/2`) {
        return { body: fakeVersion({ version: 2, run_id: CANDIDATE }) };
      }
      if (route === `${BASE}/retrainings`) {
        expect(new URLSearchParams(query).get('max_results')).toBe('20');
        return { body: { retrainings: records } };
      }
      if (route === `${BASE}/retraining-policy`) {
        return { body: { name: 'credit-risk', policy: POLICY } };
      }
      return undefined;
    });
  }

  it('shows the retraining that produced the version, with its gate', async () => {
    const { settings } = registry([record(), GATE_FAILED]);
    const model = new VersionViewModel(
      new RegistryAPI(settings),
      'credit-risk',
      2,
      new RetrainingAPI(settings)
    );
    const acts = versionViewActions();
    act(() => root.render(<VersionView model={model} actions={acts} />));
    await act(() => model.load());
    await flush();
    const produced = host.querySelector('.jp-mm-retraining-produced');
    expect(produced).not.toBeNull();
    expect(
      produced?.querySelector('.jp-mm-retraining-trigger')?.textContent
    ).toBe(
      'drift · monitor.drift_detected · monitor credit-drift · evaluation 7 · 2026-12-05 08:00:00 UTC'
    );
    expect(
      produced?.querySelector('.jp-mm-retraining-approval')?.textContent
    ).toBe('PendingManualApproval');
    expect(produced?.textContent).toContain('job j9');
    // The gate: one row per check, each passing.
    const rows = produced?.querySelectorAll('.jp-mm-gate tbody tr') ?? [];
    expect(Array.from(rows).map(cells)).toEqual([
      ['auc', '0.82', '0.78', 'threshold', '0.7', 'pass', 'auc 0.82 >= 0.7'],
      [
        'auc',
        '0.82',
        '0.78',
        'min_absolute_change',
        '0.79',
        'pass',
        'auc 0.82 >= champion 0.78 + 0.01'
      ]
    ]);
    // The run links open the run view: source run, then the candidate.
    const links = produced?.querySelectorAll('.jp-mm-runid') ?? [];
    expect(links).toHaveLength(2);
    act(() => (links[1] as HTMLElement).click());
    expect(acts.openRun).toHaveBeenCalledWith(CANDIDATE);
    // The recent list: the version link opens the version.
    const recent = host.querySelectorAll('.jp-mm-retrainings tbody tr');
    expect(
      Array.from(recent).map(r => r.getAttribute('data-retraining'))
    ).toEqual(['r1', 'r0']);
    act(() =>
      (recent[0].querySelector('.jp-mm-version-link') as HTMLElement).click()
    );
    expect(acts.openVersion).toHaveBeenCalledWith('credit-risk', 2);
    // The policy.
    const policy = host.querySelector('.jp-mm-retraining-policy');
    expect(policy?.textContent).toContain('drift, manual');
    expect(policy?.textContent).toContain('@champion');
    expect(policy?.textContent).toContain('window_days=30');
    expect(policy?.textContent).toContain('auc ≥ 0.7, +0.01 vs champion');
  });

  it('shows a failed gate and user text as text', async () => {
    const { settings } = registry([GATE_FAILED]);
    await mount(settings);
    await flush();
    expect(host.querySelector('img')).toBeNull();
    expect(host.querySelector('.jp-mm-retraining-produced')).toBeNull();
    const row = host.querySelector('[data-retraining="r0"]');
    expect(row?.querySelector('[data-state]')?.textContent).toBe('gate failed');
    expect(
      row?.querySelector('.jp-mm-gate-failed')?.getAttribute('data-passed')
    ).toBe('false');
    expect(row?.querySelector('.jp-mm-gate-reasons')?.textContent).toBe(
      `auc 0.6 < 0.7 ${EVIL}`
    );
    expect(cells(row)[2]).toBe(`manual, by mallory ${EVIL}`);
    expect(cells(row)[4]).toBe('—');
    expect(cells(row)[5]).toBe(`no model ${EVIL}`);
  });

  it('reads the gate result and the policy’s thresholds', () => {
    expect(gateRows(GATE_FAILED.gate).map(r => r.check.passed)).toEqual([
      false
    ]);
    expect(gateRows(null)).toEqual([]);
    expect(gateRows({ passed: true, thresholds: 'junk' })).toEqual([]);
    expect(
      gateSpecText({
        metric: 'rmse',
        min_relative_change: 0.05,
        greater_is_better: false
      })
    ).toBe('rmse −5% vs champion');
    expect(triggerText({ kind: 'schedule', period: 3, every: 3600 })).toBe(
      'schedule, period 3 (every 3600 s)'
    );
  });

  it('starts one by hand, shows the 400 in the dialog, and follows it', async () => {
    let state: IRetraining['state'] = 'running';
    let listed: IRetraining[] = [];
    const { settings, calls } = routedServer((method, path, call) => {
      const route = path.split('?')[0];
      if (method === 'POST' && route === `${BASE}/retrainings`) {
        if ('nope' in call.body.params) {
          return {
            status: 400,
            body: { message: `cannot override 'nope' ${EVIL}` }
          };
        }
        listed = [
          record({
            retraining_id: 'r2',
            state,
            trigger: { kind: 'manual', by: 'alice' },
            params: call.body.params,
            run_id: null,
            gate: null,
            version: null,
            approval: null
          })
        ];
        return { status: 201, body: listed[0] };
      }
      if (method === 'GET' && route === `${BASE}/retrainings`) {
        return {
          body: {
            retrainings: listed.map(r =>
              r.retraining_id === 'r2' && state !== 'running'
                ? { ...record({ retraining_id: 'r2' }), params: r.params }
                : r
            )
          }
        };
      }
      if (method === 'GET' && route === `${BASE}/retraining-policy`) {
        return { body: { name: 'credit-risk', policy: POLICY } };
      }
      return undefined;
    });
    const { ask, asked } = scripted([
      { other: `nope=1\nwindow_days=${EVIL}` },
      { other: 'window_days = 60\n' }
    ]);
    const model = await mount(settings, { version: 2, ask });
    act(() =>
      (host.querySelector('.jp-mm-retrain') as HTMLButtonElement).click()
    );
    await flush();
    expect(asked).toHaveLength(2);
    expect(asked[1].intro).toBe(`cannot override 'nope' ${EVIL}`);
    expect(asked[1].fields[0].value).toBe(`nope=1\nwindow_days=${EVIL}`);
    const posts = calls.filter(c => c.method === 'POST').map(c => c.body);
    expect(posts).toEqual([
      { params: { nope: '1', window_days: EVIL } },
      { params: { window_days: '60' } }
    ]);
    expect(
      host.querySelector('[data-retraining="r2"] [data-state]')?.textContent
    ).toBe('running');
    // It is polled until it settles: the candidate is v2, pending approval.
    state = 'pending_approval';
    await flush();
    expect(
      host.querySelector('[data-retraining="r2"] [data-state]')?.textContent
    ).toBe('pending approval');
    expect(host.querySelector('.jp-mm-retraining-params')?.textContent).toBe(
      'window_days=60'
    );
    const gets = calls.filter(
      c => c.method === 'GET' && c.url.includes('/retrainings')
    ).length;
    await flush();
    // Settled: no more polling.
    expect(
      calls.filter(c => c.method === 'GET' && c.url.includes('/retrainings'))
        .length
    ).toBe(gets);
    model.dispose();
  });

  it('a 400 from a bad line is shown without asking the server', async () => {
    const { settings, calls } = routedServer(() => undefined);
    const { ask, asked } = scripted([{ other: 'just text' }, null]);
    expect(
      await askRetrain(new RetrainingAPI(settings), 'credit-risk', ask)
    ).toBeNull();
    expect(asked[1].intro).toBe('Not NAME=VALUE: just text');
    expect(calls).toHaveLength(0);
  });

  it('says so without a policy and offers no Retrain now…', async () => {
    const { settings } = routedServer((method, path) => {
      const route = path.split('?')[0];
      if (route === `${BASE}/retrainings`) {
        return { body: { retrainings: [] } };
      }
      if (route === `${BASE}/retraining-policy`) {
        return { body: { name: 'credit-risk', policy: null } };
      }
      return undefined;
    });
    await mount(settings);
    expect(host.textContent).toContain('No retraining yet.');
    expect(host.textContent).toContain('No retraining policy');
    expect(
      (host.querySelector('.jp-mm-retrain') as HTMLButtonElement).disabled
    ).toBe(true);
  });
});
