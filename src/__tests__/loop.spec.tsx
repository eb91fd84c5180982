/**
 * The issue-13 UI against a fake Jupyter server (a `fetch` stub): the jobs
 * list (log read from offsets, polling until the end, cancel, the new run),
 * the Re-run… dialog (changed params only, the server's refusal shown in the
 * dialog with what was typed kept), lifecycle actions (the archive refusal in
 * the dialog), the reproducibility evidence and the webhooks section. Every
 * piece of user or remote text goes in as markup and must come out as text.
 */

import * as React from 'react';
import { act } from 'react';
import { Root } from 'react-dom/client';

import { JobsAPI } from '../jobs/api';
import { parseTolerance } from '../jobs/commands';
import { JobsModel, tail } from '../jobs/model';
import { JobsList, jobTitle, jobVerdict } from '../jobs/panel';
import { ModelActions } from '../models/actions';
import { IAuditEntry, IModelVersion, RegistryAPI } from '../models/api';
import { askAndSubmit } from '../models/dialogs';
import {
  lifecycleActions,
  lifecycleEntry,
  LifecycleView
} from '../models/lifecycle';
import {
  checkEntry,
  environmentLines,
  metricLines,
  ReproducibilityView,
  reproducibilitySummary,
  splitProblems
} from '../models/reproducibility';
import {
  checkWebhookInput,
  excerpt,
  WebhooksModel,
  WebhooksSection
} from '../models/webhooks';
import { WebhooksAPI } from '../models/webhooks-api';
import { VersionView, VersionViewModel } from '../models/versionview';
import type { IJob, IWebhook } from '../schema';
import { askRerun, overridesFrom } from '../views/rerun';
import {
  EVIL,
  FAKE_RUN,
  fakeVersion as version,
  ICall,
  flush,
  mountEachTest,
  routedServer as server,
  scripted,
  versionViewActions,
  showModelsPanel
} from './utils';

const RUN = FAKE_RUN;
const NEW_RUN = 'b'.repeat(32);

function job(overrides: Partial<IJob> = {}): IJob {
  return {
    job_id: 'j1',
    kind: 'rerun',
    state: 'running',
    spec: { run_id: RUN, params: { C: '0.1' } },
    result: null,
    error: null,
    run_id: RUN,
    result_run_id: null,
    created_by: 'alice',
    owner: 'host:1',
    cancel_requested: false,
    created_time: Date.UTC(2026, 11, 5, 8, 0, 0),
    started_time: null,
    ended_time: null,
    updated_time: 0,
    log_size: 0,
    ...overrides
  };
}

// Every test gets a fresh React root in the document.
let host: HTMLDivElement;
let root: Root;
mountEachTest(m => ({ host, root } = m));

describe('jobs list', () => {
  it('reads the log from where it left off until the job ends', async () => {
    let state: IJob['state'] = 'running';
    let log = `step 1 ${EVIL}\n`;
    const { settings, calls } = server((method, path) => {
      if (method === 'GET' && path.startsWith('jobs?')) {
        return { body: { jobs: [job({ state })] } };
      }
      if (method === 'GET' && path.startsWith('jobs/j1?')) {
        const offset = Number(
          new URLSearchParams(path.split('?')[1]).get('log_offset')
        );
        const ended = state !== 'running';
        return {
          body: {
            ...job({
              state,
              log_size: log.length,
              result_run_id: ended ? NEW_RUN : null
            }),
            log: {
              offset,
              text: log.slice(offset),
              next_offset: log.length,
              complete: ended
            }
          }
        };
      }
      return undefined;
    });
    const model = new JobsModel(new JobsAPI(settings), { interval: 60000 });
    const openRun = jest.fn();
    act(() => root.render(<JobsList model={model} openRun={openRun} />));
    await act(() => model.refresh());
    log += 'step 2\n';
    state = 'finished';
    await act(() => model.refresh());
    await flush();
    const offsets = calls
      .filter(c => c.url.includes('jobs/j1'))
      .map(c => new URL(c.url).searchParams.get('log_offset'));
    expect(offsets).toEqual(['0', String(`step 1 ${EVIL}\n`.length)]);
    expect(model.log('j1')).toBe(`step 1 ${EVIL}\nstep 2\n`);
    expect(host.querySelector('img')).toBeNull();
    expect(host.querySelector('.jp-mm-job-log')?.textContent).toContain(EVIL);
    expect(host.querySelector('.jp-mm-job')?.getAttribute('data-state')).toBe(
      'finished'
    );
    // Ended: no Cancel, a link to the new run.
    expect(host.querySelector('.jp-mm-job .jp-mod-warn')).toBeNull();
    act(() => (host.querySelector('.jp-mm-runid') as HTMLElement).click());
    expect(openRun).toHaveBeenCalledWith(NEW_RUN);
    // A complete log is not asked for again.
    const before = calls.length;
    await act(() => model.refresh());
    expect(calls.length - before).toBe(1);
    model.dispose();
  });

  it('cancels, and shows the refusal of cancelling an ended job', async () => {
    let cancelled = false;
    const { settings, calls } = server((method, path) => {
      if (method === 'GET' && path.startsWith('jobs?')) {
        return { body: { jobs: [] } };
      }
      if (method === 'GET' && path.startsWith('jobs/j1?')) {
        const j = job({ state: cancelled ? 'cancelled' : 'running' });
        return {
          body: {
            ...j,
            log: { offset: 0, text: '', next_offset: 0, complete: cancelled }
          }
        };
      }
      if (method === 'POST' && path === 'jobs/j1/cancel') {
        if (cancelled) {
          return {
            status: 400,
            body: { message: 'job j1 already ended (cancelled)' }
          };
        }
        cancelled = true;
        return { body: job({ state: 'cancelled' }) };
      }
      return undefined;
    });
    const model = new JobsModel(new JobsAPI(settings), { interval: 60000 });
    act(() => root.render(<JobsList model={model} openRun={jest.fn()} />));
    await act(async () => model.track(job()));
    await flush();
    const cancel = host.querySelector(
      '.jp-mm-job .jp-mod-warn'
    ) as HTMLButtonElement;
    expect(cancel.textContent).toBe('Cancel');
    act(() => cancel.click());
    await flush();
    expect(
      calls.some(c => c.method === 'POST' && c.url.endsWith('jobs/j1/cancel'))
    ).toBe(true);
    expect(host.querySelector('.jp-mm-job')?.getAttribute('data-state')).toBe(
      'cancelled'
    );
    // The job started here stays listed although the server lists no unfinished job.
    expect(model.jobs.map(j => j.job_id)).toEqual(['j1']);
    await act(() => model.cancel('j1'));
    expect(host.querySelector('[role="alert"]')?.textContent).toBe(
      'job j1 already ended (cancelled)'
    );
    model.dispose();
  });

  it('says what a job does and a check’s verdict', () => {
    expect(jobTitle(job())).toBe('Re-run of aaaaaaaa (C=0.1)');
    const check = job({
      kind: 'reproducibility',
      spec: { model: 'credit-risk', version: 2 },
      result: { summary: { passed: false } }
    });
    expect(jobTitle(check)).toBe('Reproducibility check of credit-risk v2');
    expect(jobVerdict(check)).toBe(false);
    expect(jobVerdict(job())).toBeNull();
    expect(tail('abcdef', 3)).toBe('def');
    expect(parseTolerance('1e-6')).toBe(1e-6);
    expect(parseTolerance('')).toBeNull();
    expect(parseTolerance('-1')).toBeNull();
    expect(parseTolerance('lots')).toBeNull();
  });
});

describe('Re-run dialog', () => {
  it('sends only changed params and NAME=VALUE lines', () => {
    expect(
      overridesFrom(
        { C: '0.5', seed: '0' },
        { 'param:C': '0.1', 'param:seed': '0', other: 'window = 90\n\n' }
      )
    ).toEqual({ params: { C: '0.1', window: '90' } });
    expect(overridesFrom({}, { other: 'just text' })).toEqual({
      error: 'Not NAME=VALUE: just text'
    });
  });

  it('shows the server’s refusal in the dialog, keeping what was typed', async () => {
    const { settings, calls } = server((method, path, call) => {
      if (method === 'POST' && path === 'jobs/reruns') {
        if ('nope' in call.body.params) {
          return {
            status: 400,
            body: {
              message: `cannot override 'nope' ${EVIL} (overridable: C)`,
              details: { param: 'nope', overridable: ['C'] }
            }
          };
        }
        return { status: 201, body: job({ spec: call.body }) };
      }
      return undefined;
    });
    const { ask, asked } = scripted([
      { 'param:C': '0.1', other: 'nope=1' },
      { 'param:C': '0.1', other: '' }
    ]);
    const started = await askRerun(
      new JobsAPI(settings),
      { id: RUN, name: 'train', params: { C: '0.5' } },
      ask
    );
    expect(started?.job_id).toBe('j1');
    expect(asked).toHaveLength(2);
    expect(asked[0].fields.map(f => [f.key, f.value])).toEqual([
      ['param:C', '0.5'],
      ['other', undefined]
    ]);
    expect(asked[1].intro).toBe(
      `cannot override 'nope' ${EVIL} (overridable: C)`
    );
    expect(asked[1].fields.map(f => f.value)).toEqual(['0.1', 'nope=1']);
    expect(calls.map(c => c.body)).toEqual([
      { run_id: RUN, params: { C: '0.1', nope: '1' } },
      { run_id: RUN, params: { C: '0.1' } }
    ]);
  });

  it('a cancelled dialog starts nothing', async () => {
    const { settings, calls } = server(() => undefined);
    const { ask } = scripted([null]);
    expect(
      await askRerun(new JobsAPI(settings), { id: RUN, params: {} }, ask)
    ).toBeNull();
    expect(calls).toHaveLength(0);
  });

  it('askAndSubmit reports what submit throws', async () => {
    const { ask, asked } = scripted([{ a: 'x' }, null]);
    const out = await askAndSubmit(
      { title: 't', fields: [{ key: 'a', label: 'A' }] },
      () => Promise.reject(new Error('no good')),
      e => `said: ${(e as Error).message}`,
      ask
    );
    expect(out).toBeNull();
    expect(asked[1].intro).toBe('said: no good');
    expect(asked[1].fields[0].value).toBe('x');
  });
});

function entry(overrides: Partial<IAuditEntry>): IAuditEntry {
  return {
    seq: 1,
    time: Date.UTC(2026, 11, 5, 8, 30, 0),
    time_utc: '',
    actor: 'bob',
    action: 'version.archived',
    model: 'credit-risk',
    version: 1,
    alias: null,
    from: null,
    to: null,
    comment: null,
    ...overrides
  };
}

describe('lifecycle', () => {
  it('shows the archive refusal in the dialog and sends the reason', async () => {
    const bodies: unknown[] = [];
    const { settings } = server((method, path, call) => {
      if (
        method === 'PUT' &&
        path === 'registry/models/credit-risk/versions/1/lifecycle'
      ) {
        bodies.push(call.body);
        if (bodies.length === 1) {
          return {
            status: 400,
            body: {
              message:
                "version 1 of 'credit-risk' cannot be archived while alias @champion points at it"
            }
          };
        }
        return { body: version({ lifecycle: 'archived' }) };
      }
      return undefined;
    });
    const actions = new ModelActions(new RegistryAPI(settings));
    const changed = jest.fn();
    actions.changed.connect(changed);
    const { ask, asked } = scripted([
      { reason: ' retired ' },
      { reason: 'retired' }
    ]);
    const done = await actions.setLifecycle('credit-risk', 1, 'archived', ask);
    expect(done?.lifecycle).toBe('archived');
    expect(asked[0].fields[0].required).toBe(true);
    expect(asked[1].intro).toContain(
      'cannot be archived while alias @champion'
    );
    expect(bodies).toEqual([
      { lifecycle: 'archived', reason: 'retired' },
      { lifecycle: 'archived', reason: 'retired' }
    ]);
    expect(changed).toHaveBeenCalledTimes(1);
  });

  it('marks a retired version in the Models panel', async () => {
    const base = 'registry/models/credit-risk';
    const model = {
      name: 'credit-risk',
      description: '',
      owner: 'a',
      creation_time: 1,
      last_update_time: 1,
      tags: {},
      aliases: {},
      last_version: 2
    };
    const { settings } = server((method, path) => {
      if (path.startsWith('registry/models?')) {
        return { body: { models: [model] } };
      }
      if (path === base) {
        return { body: model };
      }
      if (path === `${base}/versions`) {
        return {
          body: {
            versions: [
              version({ version: 2 }),
              version({ lifecycle: 'archived' })
            ]
          }
        };
      }
      return undefined;
    });
    await showModelsPanel(root, new RegistryAPI(settings));
    const badges = Array.from(
      host.querySelectorAll('tr[data-version] .jp-mm-lifecycle')
    ).map(b => [b.closest('tr')?.getAttribute('data-version'), b.textContent]);
    expect(badges).toEqual([['1', 'archived']]);
  });

  it('shows the state, the reason and who, and offers the next states', () => {
    expect(lifecycleActions('active')).toEqual(['deprecated', 'archived']);
    expect(lifecycleActions('archived')).toEqual(['active']);
    const audit = [
      entry({ seq: 3, comment: EVIL }),
      entry({ seq: 2, comment: 'older' }),
      entry({ seq: 4, version: 2, comment: 'other version' })
    ];
    const v = version({ lifecycle: 'archived' });
    expect(lifecycleEntry(audit, v)?.seq).toBe(3);
    const set = jest.fn();
    act(() =>
      root.render(<LifecycleView v={v} audit={audit} setLifecycle={set} />)
    );
    expect(host.querySelector('img')).toBeNull();
    expect(host.querySelector('.jp-mm-lifecycle-reason')?.textContent).toBe(
      EVIL
    );
    expect(host.textContent).toContain('2026-12-05 08:30:00 UTC by bob');
    const buttons = Array.from(host.querySelectorAll('button'));
    expect(buttons.map(b => b.textContent)).toEqual(['Reactivate…']);
    act(() => buttons[0].click());
    expect(set).toHaveBeenCalledWith('credit-risk', 1, 'active');
    act(() =>
      root.render(
        <LifecycleView
          v={version({ lifecycle: 'deprecated', deprecation: 'use v2' })}
          audit={[]}
          setLifecycle={set}
        />
      )
    );
    expect(host.querySelector('.jp-mm-lifecycle-reason')?.textContent).toBe(
      'use v2'
    );
  });
});

describe('reproducibility evidence', () => {
  const summary = {
    passed: false,
    tolerance: 1e-9,
    source_run_id: RUN,
    rerun_run_id: NEW_RUN,
    job_id: 'j9',
    metrics_compared: 2,
    predictions_sample: 'reference sample',
    environment_differences: 3,
    problems: [
      `metric auc: 0.9 → 0.8 ${EVIL}`,
      'predictions on the reference sample: max difference 0.2',
      'the re-run failed: x'
    ],
    details: 'f'.repeat(64)
  };

  it('reads the summary and sorts the differences', () => {
    expect(reproducibilitySummary({})).toBeNull();
    expect(
      reproducibilitySummary({ 'mm.reproducibility': '{' })?.passed
    ).toBeNull();
    expect(
      reproducibilitySummary({ 'mm.reproducibility': JSON.stringify(summary) })
        ?.job_id
    ).toBe('j9');
    expect(splitProblems(summary.problems)).toEqual({
      metrics: [`auc: 0.9 → 0.8 ${EVIL}`],
      predictions: ['predictions on the reference sample: max difference 0.2'],
      other: ['the re-run failed: x']
    });
    const audit = [
      entry({
        seq: 5,
        action: 'version.tag_set',
        comment: 'reproducibility check (job j9)'
      }),
      entry({
        seq: 6,
        action: 'version.tag_set',
        comment: 'reproducibility check (job j8)'
      })
    ];
    expect(checkEntry(audit, 1, 'j9')?.seq).toBe(5);
    expect(checkEntry(audit, 2, 'j9')).toBeNull();
  });

  it('shows the verdict, the differences, when and by whom, and starts a check', () => {
    const v = version({
      tags: { 'mm.reproducibility': JSON.stringify(summary) }
    });
    const audit = [
      entry({
        seq: 5,
        action: 'version.tag_set',
        actor: 'alice',
        comment: 'reproducibility check (job j9)'
      })
    ];
    const check = jest.fn();
    const openRun = jest.fn();
    const show = (shown: IModelVersion, entries: IAuditEntry[]) =>
      act(() =>
        root.render(
          <ReproducibilityView
            v={shown}
            audit={entries}
            openRun={openRun}
            check={check}
            pendingJob="j10"
          />
        )
      );
    show(v, audit);
    expect(host.querySelector('img')).toBeNull();
    expect(host.querySelector('[data-verdict]')?.textContent).toBe(
      'not reproduced'
    );
    expect(host.querySelector('.jp-mm-repro-metrics')?.textContent).toBe(
      `auc: 0.9 → 0.8 ${EVIL}`
    );
    expect(host.textContent).toContain(
      '2026-12-05 08:30:00 UTC by alice · job j9'
    );
    expect(host.querySelector('.jp-mm-repro-pending')?.textContent).toContain(
      'job j10'
    );
    const links = host.querySelectorAll('.jp-mm-runid');
    act(() => (links[1] as HTMLElement).click());
    expect(openRun).toHaveBeenCalledWith(NEW_RUN);
    act(() =>
      (host.querySelector('.jp-mm-repro-check') as HTMLElement).click()
    );
    expect(check).toHaveBeenCalledWith('credit-risk', 1);
    // The check started here is recorded: no longer pending.
    const recorded = { ...summary, job_id: 'j10', passed: true, problems: [] };
    show(
      version({ tags: { 'mm.reproducibility': JSON.stringify(recorded) } }),
      []
    );
    expect(host.querySelector('.jp-mm-repro-pending')).toBeNull();
    expect(host.querySelector('[data-verdict]')?.textContent).toBe(
      'reproduced'
    );
    expect(host.querySelector('.jp-mm-repro-metrics')?.textContent).toBe(
      'none (2 compared)'
    );
  });
});

describe('the version view’s reproducibility details', () => {
  it('reads the details of a recorded check and shows them as text', async () => {
    const tag = JSON.stringify({
      passed: true,
      tolerance: 0.001,
      job_id: 'j3'
    });
    const paths: string[] = [];
    const { settings } = server((method, path) => {
      paths.push(path.split('?')[0]);
      const base = 'registry/models/credit-risk';
      if (path === `${base}/versions/1`) {
        return { body: version({ tags: { 'mm.reproducibility': tag } }) };
      }
      if (path === `${base}/versions/1/reproducibility`) {
        return {
          body: {
            summary: JSON.parse(tag),
            details: {
              metrics: [
                {
                  key: 'auc',
                  original: 0.9,
                  rerun: 0.9,
                  within_tolerance: true
                }
              ],
              environment: [{ key: `packages.${EVIL}`, a: '1.0', b: null }]
            }
          }
        };
      }
      return undefined;
    });
    const model = new VersionViewModel(
      new RegistryAPI(settings),
      'credit-risk',
      1
    );
    const acts = versionViewActions({
      checkReproducibility: jest.fn(() => Promise.resolve({ job_id: 'j4' }))
    });
    act(() => root.render(<VersionView model={model} actions={acts} />));
    await act(() => model.load());
    await flush();
    expect(paths).toContain(
      'registry/models/credit-risk/versions/1/reproducibility'
    );
    expect(host.querySelector('img')).toBeNull();
    expect(host.querySelector('.jp-mm-repro-environment')?.textContent).toBe(
      `packages.${EVIL}: 1.0 → ∅`
    );
    expect(host.textContent).toContain('auc: 0.9 → 0.9');
    // Check reproducibility… : the started job is shown as pending.
    act(() =>
      (host.querySelector('.jp-mm-repro-check') as HTMLElement).click()
    );
    await flush();
    expect(acts.checkReproducibility).toHaveBeenCalledWith('credit-risk', 1);
    expect(host.querySelector('.jp-mm-repro-pending')?.textContent).toContain(
      'job j4'
    );
  });

  it('lists metric and environment differences from the details', () => {
    expect(
      metricLines({
        metrics: [
          { key: 'ks', original: 0.4, rerun: 0.5, within_tolerance: false }
        ]
      })
    ).toEqual(['ks: 0.4 → 0.5 (outside the tolerance)']);
    expect(environmentLines(null)).toEqual([]);
    expect(environmentLines({ environment: 'not a list' })).toEqual([]);
  });
});

describe('webhooks', () => {
  const HOOK: IWebhook = {
    webhook_id: 'w1',
    name: EVIL,
    url: 'https://ci.example/hook',
    events: ['model_version.created'],
    model: null,
    description: '',
    status: 'ACTIVE',
    has_secret: true,
    created_by: 'alice',
    creation_time: 1,
    last_update_time: 1,
    target: null
  };

  function hooksServer() {
    const hooks: IWebhook[] = [HOOK];
    return server((method, path, call) => {
      if (method === 'GET' && path === 'webhooks?model=credit-risk') {
        return { body: { webhooks: hooks } };
      }
      if (method === 'POST' && path === 'webhooks') {
        if (call.body.url.includes('127.0.0.1')) {
          return {
            status: 400,
            body: { message: `the URL's host ${EVIL} is a private address` }
          };
        }
        const hook = {
          ...HOOK,
          webhook_id: 'w2',
          ...call.body,
          has_secret: !!call.body.secret
        };
        delete hook.secret;
        hooks.push(hook);
        return { status: 201, body: hook };
      }
      if (method === 'PATCH' && path === 'webhooks/w1') {
        hooks[0] = { ...hooks[0], ...call.body };
        return { body: hooks[0] };
      }
      if (method === 'POST' && path === 'webhooks/w1/test') {
        return {
          body: {
            success: true,
            response_status: 200,
            response_body: EVIL,
            error_message: null,
            delivery_id: 'd1'
          }
        };
      }
      if (method === 'GET' && path.startsWith('webhooks/w1/deliveries')) {
        return {
          body: {
            deliveries: [
              {
                delivery_id: 'd1',
                webhook_id: 'w1',
                event: 'model_version.created',
                event_key: 'test:d1',
                model: null,
                payload: '{}',
                status: 'succeeded',
                attempts: 2,
                created_time: 1,
                next_attempt_time: null,
                finished_time: 2,
                attempt_log: [
                  {
                    attempt: 1,
                    time: 1,
                    duration_ms: 30,
                    response_status: null,
                    response_body: '',
                    error: `refused ${EVIL}`
                  },
                  {
                    attempt: 2,
                    time: 2,
                    duration_ms: 12,
                    response_status: 200,
                    response_body: EVIL + 'x'.repeat(400),
                    error: null
                  }
                ]
              }
            ]
          }
        };
      }
      if (method === 'DELETE' && path === 'webhooks/w1') {
        hooks.shift();
        return { body: {} };
      }
      return undefined;
    });
  }

  /**
   * The webhooks section of `credit-risk`, shown against `hooksServer`; the calls it gets.
   */
  async function showWebhooks(): Promise<ICall[]> {
    const { settings, calls } = hooksServer();
    act(() =>
      root.render(
        <WebhooksSection api={new WebhooksAPI(settings)} model="credit-risk" />
      )
    );
    await flush();
    return calls;
  }

  it('checks the form before asking the server', () => {
    const ok = {
      name: 'ci',
      url: 'https://x',
      events: ['rerun.finished'],
      model: null
    };
    expect(checkWebhookInput(ok)).toBeNull();
    expect(checkWebhookInput({ ...ok, name: ' ' })).toBe(
      'Give the webhook a name.'
    );
    expect(checkWebhookInput({ ...ok, url: 'javascript:alert(1)' })).toBe(
      'The URL is an http:// or https:// address.'
    );
    expect(checkWebhookInput({ ...ok, events: [] })).toBe(
      'Choose at least one event.'
    );
    expect(excerpt('y'.repeat(500))).toHaveLength(301);
  });

  it('lists, tests and shows the deliveries with every attempt', async () => {
    const calls = await showWebhooks();
    expect(host.querySelector('img')).toBeNull();
    expect(host.querySelector('.jp-mm-webhook-name')?.textContent).toBe(EVIL);
    expect(host.querySelector('.jp-mm-webhook')?.textContent).toContain(
      'every model · signed · by alice'
    );
    const button = (label: string) =>
      Array.from(host.querySelectorAll('.jp-mm-webhook button')).find(
        b => b.textContent === label
      ) as HTMLButtonElement;
    act(() => button('Test').click());
    await flush();
    expect(host.querySelector('.jp-mm-webhook-test')?.textContent).toBe(
      'Test: delivered (HTTP 200)'
    );
    const attempts = host.querySelectorAll('[data-attempt]');
    expect(attempts).toHaveLength(2);
    expect(attempts[0].textContent).toContain('no answer · 30 ms');
    expect(attempts[0].textContent).toContain(`refused ${EVIL}`);
    expect(attempts[1].textContent).toContain('HTTP 200 · 12 ms');
    expect(attempts[1].querySelector('pre')?.textContent).toBe(
      excerpt(EVIL + 'x'.repeat(400))
    );
    expect(host.querySelector('img')).toBeNull();
    act(() => button('Disable').click());
    await flush();
    expect(calls.find(c => c.method === 'PATCH')?.body).toEqual({
      status: 'DISABLED'
    });
    expect(button('Enable')).toBeTruthy();
  });

  it('creates one, showing the private-address refusal in the form', async () => {
    const calls = await showWebhooks();
    const click = (label: string) =>
      act(() =>
        (
          Array.from(host.querySelectorAll('button')).find(
            b => b.textContent === label
          ) as HTMLButtonElement
        ).click()
      );
    click('New webhook…');
    const form = host.querySelector('form') as HTMLFormElement;
    const type = (name: string, value: string) => {
      const input = form.querySelector(`[name="${name}"]`) as HTMLInputElement;
      const setter = Object.getOwnPropertyDescriptor(
        HTMLInputElement.prototype,
        'value'
      )!.set!;
      act(() => {
        setter.call(input, value);
        input.dispatchEvent(new Event('input', { bubbles: true }));
      });
    };
    type('webhook-name', 'ci');
    type('webhook-url', 'http://127.0.0.1:9/hook');
    type('webhook-secret', 's3cret');
    act(() =>
      (
        form.querySelector('[value="rerun.finished"]') as HTMLInputElement
      ).click()
    );
    act(() =>
      form.dispatchEvent(
        new Event('submit', { bubbles: true, cancelable: true })
      )
    );
    await flush();
    expect(form.querySelector('[role="alert"]')?.textContent).toBe(
      `the URL's host ${EVIL} is a private address`
    );
    expect(host.querySelector('img')).toBeNull();
    const scopes = Array.from(
      form.querySelectorAll<HTMLInputElement>('[name="webhook-scope"]')
    );
    expect(
      scopes.map(r => [r.value, r.checked, r.parentElement!.textContent])
    ).toEqual([
      ['model', true, 'credit-risk only'],
      ['all', false, 'every model']
    ]);
    act(() => scopes[1].click());
    expect(scopes.map(r => r.checked)).toEqual([false, true]);
    type('webhook-url', 'https://ci.example/other');
    act(() =>
      form.dispatchEvent(
        new Event('submit', { bubbles: true, cancelable: true })
      )
    );
    await flush();
    const posts = calls.filter(c => c.method === 'POST').map(c => c.body);
    expect(posts[1]).toEqual({
      name: 'ci',
      url: 'https://ci.example/other',
      events: ['model_version.created', 'rerun.finished'],
      model: null,
      secret: 's3cret'
    });
    expect(posts[0].model).toBe('credit-risk');
    expect(host.querySelector('form')).toBeNull();
    expect(host.querySelectorAll('.jp-mm-webhook')).toHaveLength(2);
  });

  it('removes a webhook and its kept deliveries', async () => {
    const { settings } = hooksServer();
    const model = new WebhooksModel(new WebhooksAPI(settings), 'credit-risk');
    await model.load();
    await model.toggleDeliveries('w1');
    expect(model.deliveries.get('w1')).toHaveLength(1);
    await model.remove('w1');
    expect(model.webhooks).toEqual([]);
    expect(model.deliveries.has('w1')).toBe(false);
    expect(model.error).toBeNull();
  });
});
