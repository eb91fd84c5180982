/**
 * A version's lifecycle in the version view: its state (active, deprecated,
 * archived) with the reason given, and the Deprecate… / Archive… / Reactivate
 * actions. Reasons are user text: React text only.
 */

import * as React from 'react';

import { IAuditEntry, IModelVersion, Lifecycle } from './api';
import { formatUtc } from './format';

/**
 * The version's lifecycle (`active` when the server did not say).
 */
export function lifecycleOf(v: Pick<IModelVersion, 'lifecycle'>): Lifecycle {
  return v.lifecycle ?? 'active';
}

/**
 * The audit entry that put the version in its current lifecycle, if any:
 * the newest `version.deprecated` / `version.archived` of this version.
 */
export function lifecycleEntry(
  audit: IAuditEntry[],
  v: Pick<IModelVersion, 'version' | 'lifecycle'>
): IAuditEntry | null {
  const state = lifecycleOf(v);
  if (state === 'active') {
    return null;
  }
  const action = `version.${state}`;
  let found: IAuditEntry | null = null;
  for (const e of audit) {
    if (e.action === action && e.version === v.version) {
      if (!found || e.seq > found.seq) {
        found = e;
      }
    }
  }
  return found;
}

/**
 * The actions a version's lifecycle offers: deprecate an active one, archive
 * one not archived, reactivate one not active.
 */
export function lifecycleActions(lifecycle: Lifecycle): Lifecycle[] {
  switch (lifecycle) {
    case 'active':
      return ['deprecated', 'archived'];
    case 'deprecated':
      return ['archived', 'active'];
    default:
      return ['active'];
  }
}

const ACTION_LABELS: Record<Lifecycle, string> = {
  deprecated: 'Deprecate…',
  archived: 'Archive…',
  active: 'Reactivate…'
};

export function LifecycleBadge(props: {
  version: Pick<IModelVersion, 'lifecycle'>;
}): JSX.Element | null {
  const state = lifecycleOf(props.version);
  if (state === 'active') {
    return null;
  }
  return (
    <span
      className={`jp-mm-badge jp-mm-lifecycle jp-mm-lifecycle-${state}`}
      data-lifecycle={state}
    >
      {state}
    </span>
  );
}

/**
 * The Lifecycle section: the state, why and who, and the actions.
 */
export function LifecycleView(props: {
  v: IModelVersion;
  audit: IAuditEntry[];
  setLifecycle: (name: string, version: number, state: Lifecycle) => void;
}): JSX.Element {
  const { v, audit, setLifecycle } = props;
  const state = lifecycleOf(v);
  const entry = lifecycleEntry(audit, v);
  const reason = state === 'deprecated' ? v.deprecation : entry?.comment;
  return (
    <>
      <dl className="jp-mm-kv jp-mm-lifecycle-facts">
        <dt>State</dt>
        <dd className="jp-mm-lifecycle-state" data-lifecycle={state}>
          {state}
        </dd>
        {state !== 'active' ? (
          <>
            <dt>Reason</dt>
            <dd className="jp-mm-lifecycle-reason">{reason || '—'}</dd>
          </>
        ) : null}
        {entry ? (
          <>
            <dt>Since</dt>
            <dd>{`${formatUtc(entry.time)} by ${entry.actor}`}</dd>
          </>
        ) : null}
      </dl>
      <div className="jp-mm-actions">
        {lifecycleActions(state).map(next => (
          <button
            key={next}
            className={
              'jp-mm-button jp-mod-styled' +
              (next === 'archived' ? ' jp-mod-warn' : '')
            }
            onClick={() => setLifecycle(v.name, v.version, next)}
          >
            {ACTION_LABELS[next]}
          </button>
        ))}
      </div>
    </>
  );
}
