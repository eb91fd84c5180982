/**
 * Pure helpers of the Models panel and version view (unit-tested).
 */

import type { IRegistryPolicy, IRunModel } from '../schema';
import { IAuditEntry, IModelVersion } from './api';

/**
 * The approval state of a version as a short word (and the CSS modifier of
 * its badge): `none`, `pending`, `approved` or `rejected`.
 */
export function approvalState(
  version: Pick<IModelVersion, 'approval'>
): 'none' | 'pending' | 'approved' | 'rejected' {
  const status = version.approval?.status;
  switch (status) {
    case 'PendingManualApproval':
      return 'pending';
    case 'Approved':
      return 'approved';
    case 'Rejected':
      return 'rejected';
    default:
      return 'none';
  }
}

/**
 * What a user may do next with a version's approval.
 */
export function approvalActions(version: Pick<IModelVersion, 'approval'>): {
  request: boolean;
  decide: boolean;
} {
  const state = approvalState(version);
  // A rejection is final; an approval can still be revoked by a rejection.
  return {
    request: state === 'none',
    decide: state === 'pending' || state === 'approved'
  };
}

/**
 * A time in milliseconds as `YYYY-MM-DD HH:MM:SS` UTC (audit times are UTC,
 * so auditors in different places read the same text).
 */
export function formatUtc(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) {
    return '—';
  }
  return new Date(ms).toISOString().replace('T', ' ').slice(0, 19) + ' UTC';
}

/**
 * A value of an audit entry's from/to, as short text.
 */
export function auditValue(value: any): string {
  if (value === null || value === undefined) {
    return '∅';
  }
  if (typeof value !== 'object') {
    return String(value);
  }
  const keys = Object.keys(value);
  if (keys.length === 1 && keys[0] === 'version') {
    return `v${value.version}`;
  }
  if (keys.length === 1 && keys[0] === 'status') {
    return String(value.status);
  }
  if ('status' in value && 'evidence' in value) {
    const evidence = value.evidence as string[];
    return evidence.length
      ? `${value.status} (evidence: ${evidence.join(', ')})`
      : String(value.status);
  }
  return JSON.stringify(value);
}

/**
 * One line saying what an audit entry changed: `champion: v1 → v2`,
 * `PendingManualApproval → Approved`, ...
 */
export function describeChange(entry: IAuditEntry): string {
  const subject: string[] = [];
  if (entry.version !== null && entry.version !== undefined) {
    subject.push(`v${entry.version}`);
  }
  if (entry.alias) {
    subject.push(`@${entry.alias}`);
  }
  const prefix = subject.length ? `${subject.join(' ')}: ` : '';
  if (entry.action === 'model.created' || entry.action === 'version.created') {
    return `${prefix}created`;
  }
  if (entry.from === null || entry.from === undefined) {
    return `${prefix}→ ${auditValue(entry.to)}`;
  }
  if (entry.to === null || entry.to === undefined) {
    return `${prefix}${auditValue(entry.from)} → ∅`;
  }
  return `${prefix}${auditValue(entry.from)} → ${auditValue(entry.to)}`;
}

/**
 * Aliases of a model grouped by version: `{1: ['champion'], 2: ['challenger']}`.
 */
export function aliasesByVersion(
  aliases: Record<string, number>
): Record<number, string[]> {
  const out: Record<number, string[]> = {};
  for (const [alias, version] of Object.entries(aliases).sort()) {
    (out[version] = out[version] ?? []).push(alias);
  }
  return out;
}

/**
 * The models a run logged, both kinds: `mm.log_model`'s, from the `mm.models`
 * tag (`{"name": {"artifact_path": "models/name", "flavor": ...}}`), then the
 * `mlflow` client's (MLflow 3 logged models), from the `mm.mlflow.models` tag
 * (`{"m-<id>": "name"}`, files under `models/m-<id>`; see
 * `jupyter_mm/server/mlflow/logged_models.py`). Empty when neither tag is
 * there or readable.
 */
export function loggedModelPaths(tags: Record<string, string> | undefined): {
  name: string;
  path: string;
}[] {
  const read = (key: string): Record<string, any> => {
    try {
      const parsed = JSON.parse(tags?.[key] ?? '');
      // An object (anything else lists none).
      return parsed && typeof parsed === 'object' && !Array.isArray(parsed)
        ? parsed
        : {};
    } catch {
      return {};
    }
  };
  const own = Object.entries(read('mm.models'))
    .map(([name, info]) => ({
      name,
      path:
        info && typeof info.artifact_path === 'string'
          ? info.artifact_path
          : `models/${name}`
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
  const mlflow = Object.entries(read('mm.mlflow.models'))
    .filter(([id]) => /^m-[0-9a-f]{32}$/.test(id))
    .map(([id, name]) => ({
      name: typeof name === 'string' && name ? name : id,
      path: `models/${id}`
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
  return [...own, ...mlflow];
}

/**
 * A model name is 1-250 characters without control characters or a slash at
 * either end (the server checks more and says why).
 */
export function isPlausibleName(name: string): boolean {
  return (
    name.trim().length > 0 &&
    name.length <= 250 &&
    !/[\u0000-\u001f\u007f]/.test(name)
  );
}

/**
 * A digest shortened for display (the full one goes in the tooltip).
 */
export function shortDigest(digest: string | null | undefined): string {
  if (!digest) {
    return '—';
  }
  return digest.length > 12 ? digest.slice(0, 12) + '…' : digest;
}

/**
 * The JSON-schema properties of a command's `name` and `version` arguments.
 */
export const VERSION_PROPERTIES = {
  name: { type: 'string', description: 'the registered model' },
  version: { type: 'number', description: 'the version number' }
};

/**
 * `{name, version}` from command args, or null when they are not usable.
 */
export function versionArgs(
  args: Record<string, unknown>
): { name: string; version: number } | null {
  const name = typeof args.name === 'string' ? args.name : '';
  const version = Number(args.version);
  if (!name || !Number.isInteger(version) || version < 1) {
    return null;
  }
  return { name, version };
}

/**
 * Why the signed-in user may not approve or reject the version under the
 * policy in force (the server would answer 403), naming who may; null when
 * they may, or when the policy is not known yet (the server still decides).
 */
export function decisionBlock(
  version: Pick<IModelVersion, 'approval'>,
  policy: Pick<IRegistryPolicy, 'four_eyes' | 'approvers' | 'acting_as'> | null
): string | null {
  const a = version.approval;
  if (!policy || !a || !policy.acting_as) {
    return null;
  }
  const me = policy.acting_as;
  const who = policy.approvers.length
    ? policy.approvers.filter(u => u !== me || !policy.four_eyes).join(', ')
    : '';
  if (policy.approvers.length && !policy.approvers.includes(me)) {
    return `Only ${policy.approvers.join(', ')} may approve or reject (policy approvers).`;
  }
  // Revoking an approval (rejecting an approved version) is not under four eyes.
  if (policy.four_eyes && a.status !== 'Approved' && a.requested_by === me) {
    const others = who ? who : 'anyone but you';
    return (
      `You (${me}) requested this approval: under the four-eyes policy ${others} must decide. ` +
      'Alone in this lab? Turn four eyes off (an audited policy change).'
    );
  }
  return null;
}

/**
 * A run's model as one line of the Register dialog's pick list: name, kind,
 * flavour and when it was logged.
 */
export function runModelLabel(m: IRunModel): string {
  const kind = m.kind === 'mlflow' ? 'MLflow logged model' : 'mm.log_model';
  const parts = [kind, m.flavor ?? 'unknown flavour'];
  if (m.logged_time) {
    parts.push(formatUtc(m.logged_time));
  }
  return `${m.name} (${parts.join(', ')})`;
}

/**
 * Why a run offers nothing to register (the Register dialog, the run view's
 * button and the run panel's "Register Model…" say the same).
 */
export const NO_RUN_MODEL =
  'This run holds no model: log one with mm.log_model or the mlflow client (mlflow.<flavor>.log_model) first.';

/**
 * What the Register dialog sends for a run's model: its path in the run
 * (`mm.log_model`'s), or the logged model's `models:/m-…` URI, so the
 * version records that logged model.
 */
export function runModelTarget(m: IRunModel): string {
  return m.kind === 'mlflow' || !m.path ? m.source : m.path;
}

/**
 * A run as one choice of "Register from run…": name, short id, experiment
 * and start time (the id is what is registered; nobody pastes it).
 */
export function runPickLabel(run: {
  id: string;
  name?: string;
  experiment?: string | null;
  experiment_id?: string;
  start_time?: number;
}): string {
  const parts = [
    run.name || '(unnamed)',
    run.id.slice(0, 8),
    run.experiment || `experiment ${run.experiment_id ?? '?'}`
  ];
  if (run.start_time) {
    parts.push(formatUtc(run.start_time));
  }
  return parts.join(' · ');
}

/**
 * A source run as the versions lists show it: its name (its short id when it
 * has none) and its key metrics, the first `count` by name, as text
 * (`auc 0.81 · ks 0.42`).
 */
export function runSummary(
  run: {
    id: string;
    name?: string;
    metrics?: Record<string, number | string>;
  },
  count = 3
): { name: string; metrics: string } {
  const metrics = Object.entries(run.metrics ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .slice(0, count)
    .map(([key, value]) => {
      const shown =
        typeof value === 'number' && Number.isFinite(value)
          ? Number(value.toPrecision(4)).toString()
          : String(value);
      return `${key} ${shown}`;
    });
  return { name: run.name || run.id.slice(0, 8), metrics: metrics.join(' · ') };
}
