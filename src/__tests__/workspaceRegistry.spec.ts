/**
 * The runs workspace's registry helpers: who may decide an approval (the
 * requester's disabled Approve and its reason), a run's models as the Register
 * dialog's pick list (both kinds), the run picker's labels and the versions
 * lists' source-run summaries; and the REST bodies they lead to.
 */

import { RegistryAPI } from '../models/api';
import {
  decisionBlock,
  runModelLabel,
  runModelTarget,
  runPickLabel,
  runSummary
} from '../models/format';
import { fakeServerSettings } from './utils';

const pending = {
  approval: {
    status: 'PendingManualApproval',
    requested_by: 'ada',
    requested_time: 1,
    request_comment: '',
    evidence: [],
    decided_by: null,
    decided_time: null,
    decision_comment: null
  }
};
const policy = { four_eyes: true, approvers: [] as string[], acting_as: 'ada' };

describe('decisionBlock', () => {
  it('blocks the requester under four eyes and says who may decide', () => {
    const why = decisionBlock(pending, policy);
    expect(why).toContain('You (ada) requested this approval');
    expect(why).toContain('anyone but you must decide');
    expect(why).toContain('Turn four eyes off');
    const named = decisionBlock(pending, {
      ...policy,
      approvers: ['ada', 'val']
    });
    expect(named).toContain('val must decide');
    expect(named).not.toContain('ada, val');
  });

  it('lets another user, a lab without four eyes and a revocation decide', () => {
    expect(decisionBlock(pending, { ...policy, acting_as: 'bob' })).toBeNull();
    expect(decisionBlock(pending, { ...policy, four_eyes: false })).toBeNull();
    const approved = {
      approval: { ...pending.approval, status: 'Approved' }
    };
    expect(decisionBlock(approved, policy)).toBeNull();
  });

  it('blocks whoever the approvers list leaves out', () => {
    expect(
      decisionBlock(pending, {
        ...policy,
        acting_as: 'bob',
        approvers: ['val']
      })
    ).toBe('Only val may approve or reject (policy approvers).');
  });

  it('leaves the decision to the server while the policy is unknown', () => {
    expect(decisionBlock(pending, null)).toBeNull();
    expect(decisionBlock(pending, { ...policy, acting_as: '' })).toBeNull();
    expect(decisionBlock({ approval: null }, policy)).toBeNull();
  });
});

describe("a run's models", () => {
  const mm = {
    kind: 'mm' as const,
    name: 'pd',
    path: 'models/pd',
    model_id: null,
    flavor: 'sklearn',
    logged_time: Date.UTC(2026, 0, 2, 3, 4, 5),
    source: `runs:/${'a'.repeat(32)}/models/pd`
  };
  const logged = {
    kind: 'mlflow' as const,
    name: 'clf',
    path: `models/m-${'b'.repeat(32)}`,
    model_id: `m-${'b'.repeat(32)}`,
    flavor: null,
    logged_time: null,
    source: `models:/m-${'b'.repeat(32)}`
  };

  it('labels both kinds with name, kind, flavour and time', () => {
    expect(runModelLabel(mm)).toBe(
      'pd (mm.log_model, sklearn, 2026-01-02 03:04:05 UTC)'
    );
    expect(runModelLabel(logged)).toBe(
      'clf (MLflow logged model, unknown flavour)'
    );
  });

  it('registers an mm model by path and a logged model by its models:/ URI', async () => {
    expect(runModelTarget(mm)).toBe('models/pd');
    expect(runModelTarget(logged)).toBe(logged.source);
    const { settings, calls } = fakeServerSettings(() => ({
      body: { name: 'credit', version: 1 }
    }));
    const api = new RegistryAPI(settings);
    await api.createVersion('credit', 'a'.repeat(32), runModelTarget(logged));
    await api.createVersion('credit', 'a'.repeat(32), runModelTarget(mm), 'w');
    expect(calls.map(c => c.body)).toEqual([
      { source: logged.source, comment: '' },
      { run_id: 'a'.repeat(32), path: 'models/pd', comment: 'w' }
    ]);
  });
});

describe('runs as people know them', () => {
  it('picks a run by name, short id, experiment and time', () => {
    expect(
      runPickLabel({
        id: 'c'.repeat(32),
        name: 'logit',
        experiment: 'credit',
        start_time: Date.UTC(2026, 0, 2)
      })
    ).toBe('logit · cccccccc · credit · 2026-01-02 00:00:00 UTC');
    expect(runPickLabel({ id: 'd'.repeat(32), experiment_id: '0' })).toBe(
      '(unnamed) · dddddddd · experiment 0'
    );
  });

  it('summarises a source run by its name and key metrics', () => {
    expect(
      runSummary({
        id: 'e'.repeat(32),
        name: 'logit',
        metrics: { rmse: 0.123456, auc: 0.81, ks: 'NaN', zz: 1 }
      })
    ).toEqual({ name: 'logit', metrics: 'auc 0.81 · ks NaN · rmse 0.1235' });
    expect(runSummary({ id: 'f'.repeat(32) })).toEqual({
      name: 'ffffffff',
      metrics: ''
    });
  });
});
