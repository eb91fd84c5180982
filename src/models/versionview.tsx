/**
 * The version view: one main-area tab per model version with its overview
 * (source run, status, approval and who decided), the model's audit timeline,
 * the lineage (version → run → notebook snapshot and execution log →
 * datasets → environment → git), the model card with its editable fields,
 * its reference profile and its monitoring (status, the latest evaluation's
 * verdicts, the history).
 * Registry events for its model reload it; a rename is followed, a deletion
 * leaves what was shown under a notice.
 *
 * Registry data is user text: React text nodes everywhere; the card's HTML
 * (escaped by the server) is shown only in an `<iframe sandbox="">`.
 */

import * as React from 'react';

import { ServerConnection } from '@jupyterlab/services';
import { ISignal, Signal } from '@lumino/signaling';

import {
  CARD_FIELDS,
  CardFormat,
  errorText,
  IAuditEntry,
  ICardReply,
  ILineage,
  IModelVersion,
  IRegistryApi,
  Lifecycle
} from './api';
import { LifecycleBadge, LifecycleView } from './lifecycle';
import { MonitoringReportView } from './monitoring-report';
import { REFERENCE_TAG, ReferenceProfileView } from './reference';
import { REPRODUCIBILITY_TAG, ReproducibilityView } from './reproducibility';
import { RetrainingModel, RetrainingView } from './retraining';
import type { IRetrainingApi } from './retraining-api';
import type {
  IEvaluationRecord,
  IReferenceReply,
  IRegistryPolicy,
  IReproducibilityReply,
  IVersionMonitoring,
  IVersionMonitoringReport
} from '../schema';
import {
  ErrorAlert,
  TableHead,
  ReloadButton,
  AliasBadge,
  ApprovalBadge,
  MonitoringBadge,
  MONITORING_TEXT,
  RunLink,
  RegistryViewWidget,
  SourceRun,
  VersionDecisions
} from './components';
import { useRerenderOn } from '../hooks';
import { TryIt } from './tryit-view';
import {
  approvalActions,
  decisionBlock,
  describeChange,
  formatUtc,
  shortDigest
} from './format';
import { NewestReply } from '../newestReply';
import type { IVersionActions } from './actions';

export interface IVersionViewActions extends IVersionActions {
  /**
   * Open another version's view (the retraining section links its versions).
   */
  openVersion?(name: string, version: number): void;
  /**
   * Turn the store-wide four-eyes policy off (a dialog asks why; audited).
   */
  turnOffFourEyes?(): void;
  /**
   * Called after the card's fields were saved here.
   */
  changed(name: string): void;
  /**
   * Deprecate, archive or reactivate (a dialog asks why).
   */
  setLifecycle(name: string, version: number, lifecycle: Lifecycle): void;
  /**
   * Start a reproducibility check; the job started, or null.
   */
  checkReproducibility(
    name: string,
    version: number
  ): Promise<{ job_id: string } | null>;
}

/**
 * One version's data, loaded from the registry REST API.
 */
export class VersionViewModel {
  constructor(
    readonly api: IRegistryApi,
    name: string,
    readonly version: number,
    retrainingApi?: IRetrainingApi
  ) {
    this._name = name;
    this.retraining = retrainingApi
      ? new RetrainingModel(retrainingApi, () => this._name)
      : null;
  }

  /**
   * The model's retrainings and policy (null: no retraining API given).
   */
  readonly retraining: RetrainingModel | null;

  /**
   * The model's name (it follows renames).
   */
  get name(): string {
    return this._name;
  }

  data: IModelVersion | null = null;
  audit: IAuditEntry[] = [];
  lineage: ILineage | null = null;
  /**
   * The latest reproducibility check's details (null: never checked, or not loaded).
   */
  reproducibility: IReproducibilityReply['details'] = null;
  card: ICardReply | null = null;
  /**
   * This version's monitoring (null until loaded).
   */
  monitoring: IVersionMonitoring | null = null;
  /**
   * The latest evaluation's report (null: never evaluated, or not loaded).
   */
  report: IVersionMonitoringReport | null = null;
  /**
   * The version's reference profile (null: none, or not loaded).
   */
  reference: IReferenceReply | null = null;
  /**
   * The policy in force for the model and who acts here (null until loaded).
   */
  policy: IRegistryPolicy | null = null;
  cardFormat: CardFormat = 'html';
  /**
   * The job of a reproducibility check started here, until its verdict is
   * recorded on the version.
   */
  pendingCheck: string | null = null;
  error: string | null = null;
  errors: Record<string, string> = {};
  /**
   * Why the version is gone (its model or it was deleted), else null.
   */
  gone: string | null = null;

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /**
   * Load (or reload) everything; each part fails on its own.
   */
  async load(): Promise<void> {
    const reply = await this._loads.settle(() =>
      this.api.getVersion(this.name, this.version)
    );
    if (!reply) {
      return;
    }
    this.data = reply.ok ? reply.value : this.data;
    this.error = reply.ok ? null : errorText(reply.error);
    this._changed.emit();
    if (!reply.ok) {
      return;
    }
    await Promise.all([
      this._part('audit', async () => {
        this.audit = await this.api.audit(this.name);
      }),
      this._part('lineage', async () => {
        this.lineage = await this.api.lineage(this.name, this.version);
      }),
      this._part('reproducibility', async () => {
        // Only a version with a recorded check has details to read.
        this.reproducibility = this.data?.tags[REPRODUCIBILITY_TAG]
          ? (await this.api.reproducibility(this.name, this.version)).details
          : null;
      }),
      this._part('reference', async () => {
        // Only a version tagged with a profile has one to read.
        this.reference = this.data?.tags[REFERENCE_TAG]
          ? await this.api.referenceProfile(this.name, this.version)
          : null;
      }),
      this.loadCard(),
      this.retraining?.load(),
      this._part('policy', async () => {
        this.policy = (await this.api.policy?.(this.name)) ?? null;
      }),
      this._part('monitoring', async () => {
        const reply = await this.api.monitoring(this.name);
        this.monitoring =
          reply.versions.find(v => v.version === this.version) ?? null;
      }).then(() =>
        // Only an evaluated version has a report to read.
        this._part('report', async () => {
          this.report = this.monitoring?.evaluations
            ? await this.api.monitoringReport(this.name, this.version)
            : null;
        })
      )
    ]);
  }

  async loadCard(format?: CardFormat): Promise<void> {
    if (format) {
      this.cardFormat = format;
    }
    // A reload started before a format click may answer after it: only the
    // newest request's reply is shown.
    const isNewest = this._cardLoads.begin();
    await this._part('card', async () => {
      const card = await this.api.card(
        this.name,
        this.version,
        this.cardFormat
      );
      if (isNewest()) {
        this.card = card;
      }
    });
  }

  /**
   * Save the card's human fields (audited; all or nothing).
   */
  async saveCard(
    fields: Record<string, string | null>,
    comment: string
  ): Promise<boolean> {
    try {
      await this.api.updateCard(this.name, this.version, fields, comment);
      delete this.errors['card-save'];
    } catch (error) {
      this.errors['card-save'] = errorText(error);
      this._changed.emit();
      return false;
    }
    await this.load();
    return true;
  }

  /**
   * A reproducibility check was started from this view.
   */
  checkStarted(jobId: string): void {
    this.pendingCheck = jobId;
    this._changed.emit();
  }

  /**
   * The model was renamed elsewhere: follow it.
   */
  rename(name: string): void {
    this._name = name;
    this._changed.emit();
  }

  /**
   * The version or its model was deleted elsewhere: keep what was shown,
   * under a notice.
   */
  markGone(reason: string): void {
    this.gone = reason;
    this._changed.emit();
  }

  private _cardLoads = new NewestReply();

  private async _part(key: string, load: () => Promise<void>): Promise<void> {
    try {
      await load();
      delete this.errors[key];
    } catch (error) {
      this.errors[key] = errorText(error);
    }
    this._changed.emit();
  }

  private _changed = new Signal<this, void>(this);
  private _name: string;
  private _loads = new NewestReply();
}

function Section(props: {
  title: string;
  id: string;
  children: React.ReactNode;
}): JSX.Element {
  return (
    <section
      className="jp-mm-section jp-mm-version-section"
      aria-labelledby={props.id}
    >
      <h2 className="jp-mm-version-section-title" id={props.id}>
        {props.title}
      </h2>
      {props.children}
    </section>
  );
}

function Overview(props: {
  v: IModelVersion;
  actions: IVersionViewActions;
  policy?: IRegistryPolicy | null;
  getRun?: IRegistryApi['getRun'];
}): JSX.Element {
  const { v, actions } = props;
  const a = v.approval;
  const can = approvalActions(v);
  const blocked = decisionBlock(v, props.policy ?? null);
  return (
    <>
      <dl className="jp-mm-kv">
        <dt>Source run</dt>
        <dd>
          {v.run_id ? (
            <SourceRun
              runId={v.run_id}
              openRun={actions.openRun}
              load={props.getRun}
            />
          ) : (
            '—'
          )}
        </dd>
        <dt>Source</dt>
        <dd>
          <code>{v.source}</code>
        </dd>
        <dt>Status</dt>
        <dd>{v.status}</dd>
        <dt>Registered</dt>
        <dd>
          {formatUtc(v.creation_time)}
          {v.user_id ? ` by ${v.user_id}` : ''}
        </dd>
        <dt>Approval</dt>
        <dd>
          <ApprovalBadge version={v} />
        </dd>
        {a ? (
          <>
            <dt>Requested</dt>
            <dd>
              {`${formatUtc(a.requested_time)} by ${a.requested_by ?? '?'}`}
              {a.request_comment ? ` — “${a.request_comment}”` : ''}
            </dd>
            {a.evidence.length ? (
              <>
                <dt>Evidence</dt>
                <dd>
                  <ul className="jp-mm-plain-list">
                    {a.evidence.map(link => (
                      <li key={link}>
                        <code>{link}</code>
                      </li>
                    ))}
                  </ul>
                </dd>
              </>
            ) : null}
            {a.decided_by ? (
              <>
                <dt>Decided</dt>
                <dd className="jp-mm-decision">
                  {`${a.status} on ${formatUtc(a.decided_time)} by ${a.decided_by}`}
                  {a.decision_comment ? ` — “${a.decision_comment}”` : ''}
                </dd>
              </>
            ) : null}
          </>
        ) : null}
        {v.description ? (
          <>
            <dt>Description</dt>
            <dd>{v.description}</dd>
          </>
        ) : null}
      </dl>
      <div className="jp-mm-actions">
        <VersionDecisions
          name={v.name}
          version={v}
          policy={props.policy ?? null}
          actions={actions}
        />
      </div>
      {can.decide && blocked ? (
        <p className="jp-mm-dim jp-mm-decision-block" role="note">
          {blocked}{' '}
          {props.policy?.four_eyes && actions.turnOffFourEyes ? (
            <button
              className="jp-mm-button jp-mod-styled jp-mm-four-eyes-off"
              onClick={() => actions.turnOffFourEyes?.()}
            >
              Turn off four eyes…
            </button>
          ) : null}
        </p>
      ) : null}
    </>
  );
}

function AuditTimeline(props: {
  entries: IAuditEntry[];
  version: number;
}): JSX.Element {
  if (props.entries.length === 0) {
    return <p className="jp-mm-dim">No audit entry.</p>;
  }
  return (
    <ol className="jp-mm-timeline" aria-label="Audit timeline">
      {props.entries.map(e => (
        <li
          key={e.seq}
          className={
            'jp-mm-timeline-entry' +
            (e.version === props.version ? ' jp-mm-timeline-this' : '')
          }
          data-action={e.action}
        >
          <span className="jp-mm-timeline-time">{formatUtc(e.time)}</span>
          <span className="jp-mm-timeline-actor">{e.actor}</span>
          <span className="jp-mm-timeline-action">{e.action}</span>
          <span className="jp-mm-timeline-change">{describeChange(e)}</span>
          {e.comment ? (
            <span className="jp-mm-timeline-comment">“{e.comment}”</span>
          ) : null}
        </li>
      ))}
    </ol>
  );
}

function Flag(props: { on: boolean; label: string }): JSX.Element {
  return (
    <span
      className={
        'jp-mm-flag ' + (props.on ? 'jp-mm-flag-on' : 'jp-mm-flag-off')
      }
    >
      {props.label}: {props.on ? 'yes' : 'no'}
    </span>
  );
}

function Digest(props: { digest: string | null | undefined }): JSX.Element {
  return (
    <code className="jp-mm-digest" title={props.digest ?? ''}>
      {shortDigest(props.digest)}
    </code>
  );
}

function LineageView(props: {
  lineage: ILineage;
  actions: IVersionViewActions;
}): JSX.Element {
  const { lineage, actions } = props;
  const run = lineage.run;
  const snap = lineage.notebook.snapshot;
  const log = lineage.execution_log;
  const env = lineage.environment;
  const git = lineage.git;
  const steps: Array<{ key: string; title: string; body: React.ReactNode }> = [
    {
      key: 'version',
      title: 'Version',
      body: (
        <>
          {lineage.model.name} v{lineage.model.version}
          {lineage.model_files ? (
            <div className="jp-mm-dim">
              {lineage.model_files.flavors.join(', ')} ·{' '}
              {lineage.model_files.files} files · MLmodel{' '}
              <Digest digest={lineage.model_files.mlmodel_digest} />
            </div>
          ) : null}
        </>
      )
    },
    {
      key: 'run',
      title: 'Run',
      body: run ? (
        <>
          <RunLink
            runId={run.id}
            openRun={actions.openRun}
            label={run.name || run.id}
          />{' '}
          <span className="jp-mm-dim">
            {run.status} · {run.user ?? '?'} · {run.experiment ?? ''}
          </span>
        </>
      ) : (
        '—'
      )
    },
    {
      key: 'notebook',
      title: 'Notebook',
      body: (
        <>
          {run?.notebook_path ? <code>{run.notebook_path}</code> : null}
          {snap ? (
            <div>
              snapshot ({snap.phase}, {snap.source}){' '}
              <Digest digest={snap.digest} />
            </div>
          ) : (
            <div className="jp-mm-dim">no snapshot</div>
          )}
          {log ? (
            <div className="jp-mm-flags">
              execution log ({log.entries} cells) <Digest digest={log.digest} />{' '}
              <Flag on={log.out_of_order} label="out of order" />{' '}
              <Flag on={log.hidden_state} label="hidden state" />
            </div>
          ) : (
            <div className="jp-mm-dim">no execution log</div>
          )}
        </>
      )
    },
    {
      key: 'datasets',
      title: 'Datasets',
      body: lineage.datasets.length ? (
        <ul className="jp-mm-plain-list">
          {lineage.datasets.map(d => (
            <li key={`${d.name}-${d.digest}-${d.context}`}>
              {d.name} {d.context ? `(${d.context})` : ''}{' '}
              <Digest digest={d.digest} />
              {d.row_count !== null && d.row_count !== undefined
                ? ` · ${d.row_count} rows`
                : ''}
            </li>
          ))}
        </ul>
      ) : (
        <span className="jp-mm-dim">none recorded</span>
      )
    },
    {
      key: 'environment',
      title: 'Environment',
      body: env ? (
        <>
          Python {env.python ?? '?'} · {env.packages} packages{' '}
          <Digest digest={env.digest} />
          <div className="jp-mm-dim">
            {Object.entries(env.key_packages)
              .map(([k, v]) => `${k} ${v}`)
              .join(', ')}
          </div>
        </>
      ) : (
        <span className="jp-mm-dim">not recorded</span>
      )
    },
    {
      key: 'git',
      title: 'Git',
      body: git ? (
        <>
          <code>{git.commit ? git.commit.slice(0, 12) : '?'}</code>
          {git.branch ? ` on ${git.branch}` : ''}
          {git.dirty ? ' (dirty)' : ''}
        </>
      ) : (
        <span className="jp-mm-dim">not recorded</span>
      )
    }
  ];
  return (
    <>
      <ol className="jp-mm-lineage" aria-label="Lineage">
        {steps.map(step => (
          <li
            key={step.key}
            className="jp-mm-lineage-step"
            data-part={step.key}
          >
            <div className="jp-mm-lineage-title">{step.title}</div>
            <div className="jp-mm-lineage-body">{step.body}</div>
          </li>
        ))}
      </ol>
      {lineage.missing.length ? (
        <details className="jp-mm-lineage-missing">
          <summary>Not recorded ({lineage.missing.length})</summary>
          <ul className="jp-mm-plain-list">
            {lineage.missing.map(m => (
              <li key={m.part}>
                <strong>{m.part}</strong>: {m.reason}
              </li>
            ))}
          </ul>
        </details>
      ) : null}
    </>
  );
}

/**
 * A number of an evaluation record as text (`"NaN"` and the like come as
 * strings; null is a dash).
 */
export function statText(value: number | string | null | undefined): string {
  if (value === null || value === undefined) {
    return '—';
  }
  if (typeof value === 'string') {
    return value;
  }
  return String(Number(value.toPrecision(3)));
}

function VerdictTable(props: { record: IEvaluationRecord }): JSX.Element {
  const { record } = props;
  if (record.verdicts.length === 0) {
    return (
      <p className="jp-mm-dim">
        No verdict: {record.rows} rows in the window, {record.min_rows} needed.
      </p>
    );
  }
  return (
    <table className="jp-mm-table jp-mm-verdicts" aria-label="Latest verdicts">
      <TableHead
        columns={[
          'Feature',
          'Method',
          'Statistic',
          'Threshold',
          'p-value',
          'Verdict',
          'n (reference / current)'
        ]}
      />
      <tbody>
        {record.verdicts.map(v => (
          <tr
            key={v.feature}
            data-feature={v.feature}
            className={v.drifted ? 'jp-mm-verdict-drifted' : undefined}
          >
            <td>{v.feature === '__score__' ? 'score' : v.feature}</td>
            <td>{v.method}</td>
            <td>{statText(v.statistic)}</td>
            <td>
              {statText(v.threshold)}
              {v.warning !== null && v.warning !== undefined
                ? ` (warning ${statText(v.warning)})`
                : ''}
            </td>
            <td>{statText(v.p_value)}</td>
            <td className={`jp-mm-band jp-mm-band-${v.band || 'none'}`}>
              {v.band || (v.drifted ? 'drift' : 'ok')}
            </td>
            <td>
              {v.n_reference} / {v.n_current}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function MonitoringView(props: { m: IVersionMonitoring }): JSX.Element {
  const { m } = props;
  const r = m.latest;
  const history = [...m.history].reverse();
  return (
    <>
      <dl className="jp-mm-kv">
        <dt>Status</dt>
        <dd>
          <MonitoringBadge status={m.status} />
        </dd>
        <dt>Watched by</dt>
        <dd>
          {m.monitors.length
            ? m.monitors.join(', ')
            : 'no monitor watches this version now'}
        </dd>
        <dt>Evaluations</dt>
        <dd>{m.evaluations}</dd>
        {r ? (
          <>
            <dt>Latest</dt>
            <dd className="jp-mm-monitoring-latest">
              {`${r.at} · monitor ${r.monitor} (@${r.alias}, ${r.preset}) · ` +
                `evaluation ${r.step} · ${r.rows} rows · ` +
                (MONITORING_TEXT[r.status] ?? r.status) +
                (r.share !== null && r.share !== undefined
                  ? ` · drifted share ${statText(r.share)}`
                  : '')}
            </dd>
          </>
        ) : null}
      </dl>
      {r ? <VerdictTable record={r} /> : null}
      {history.length ? (
        <table
          className="jp-mm-table jp-mm-monitoring-history"
          aria-label="Monitoring history"
        >
          <TableHead
            columns={[
              'Evaluated (UTC)',
              'Monitor',
              'Step',
              'Status',
              'Rows',
              'Drifted share'
            ]}
          />
          <tbody>
            {history.map(h => (
              <tr key={`${h.monitor}-${h.step}`} data-step={h.step}>
                <td>{h.at.slice(0, 19).replace('T', ' ')}</td>
                <td>{h.monitor}</td>
                <td>{h.step}</td>
                <td>
                  <MonitoringBadge status={h.status} />
                </td>
                <td>{h.rows}</td>
                <td>{statText(h.drift_share)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p className="jp-mm-dim">
          No evaluation yet: define a monitor with mm.monitor(…).
        </p>
      )}
    </>
  );
}

/**
 * The server's HTML card (every value escaped there) in a sandboxed iframe:
 * no scripts, no same-origin access. The theme's colours are passed in as a
 * stylesheet of our own.
 */
export function cardDocument(
  html: string,
  style: CSSStyleDeclaration | null
): string {
  const v = (name: string, fallback: string) =>
    (style?.getPropertyValue(name) || '').trim() || fallback;
  const css = [
    `body{margin:8px 12px;font-family:${v('--jp-content-font-family', 'sans-serif')};`,
    `color:${v('--jp-content-font-color1', '#000')};background:${v('--jp-layout-color0', '#fff')};font-size:13px}`,
    `table{border-collapse:collapse}td,th{border:1px solid ${v('--jp-border-color2', '#ccc')};padding:2px 8px;text-align:left}`,
    'h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.2em}'
  ].join('');
  return `<!DOCTYPE html><html><head><meta charset="utf-8"><style>${css}</style></head><body>${html}</body></html>`;
}

function CardView(props: {
  model: VersionViewModel;
  actions: IVersionViewActions;
}): JSX.Element {
  const { model, actions } = props;
  const card = model.card;
  const [editing, setEditing] = React.useState(false);
  const [draft, setDraft] = React.useState<Record<string, string>>({});
  const [comment, setComment] = React.useState('');
  const startEdit = () => {
    const fields = card?.fields ?? {};
    const values: Record<string, string> = {};
    CARD_FIELDS.forEach(f => (values[f.key] = fields[f.key] ?? ''));
    setDraft(values);
    setComment('');
    setEditing(true);
  };
  const save = async () => {
    const values: Record<string, string | null> = {};
    CARD_FIELDS.forEach(f => {
      const text = (draft[f.key] ?? '').trim();
      values[f.key] = text ? text : null;
    });
    if (await model.saveCard(values, comment.trim())) {
      setEditing(false);
      actions.changed(model.name);
    }
  };
  const formats: CardFormat[] = ['html', 'markdown', 'json'];
  let body: React.ReactNode = <p className="jp-mm-dim">Loading…</p>;
  if (card && card.format === 'html') {
    body = (
      <iframe
        className="jp-mm-card-frame"
        title={`Model card of ${model.name} version ${model.version}`}
        sandbox=""
        srcDoc={cardDocument(
          String(card.card),
          typeof window !== 'undefined'
            ? window.getComputedStyle(document.body)
            : null
        )}
      />
    );
  } else if (card) {
    body = (
      <pre className="jp-mm-card-text">
        {card.format === 'json'
          ? JSON.stringify(card.card, null, 2)
          : String(card.card)}
      </pre>
    );
  }
  return (
    <>
      <div className="jp-mm-card-toolbar" role="group" aria-label="Card format">
        {formats.map(f => (
          <button
            key={f}
            className={
              'jp-mm-button jp-mod-styled' +
              (model.cardFormat === f ? ' jp-mod-selected' : '')
            }
            aria-pressed={model.cardFormat === f}
            onClick={() => void model.loadCard(f)}
          >
            {f === 'html' ? 'Card' : f === 'markdown' ? 'Markdown' : 'JSON'}
          </button>
        ))}
        {!editing ? (
          <button className="jp-mm-button jp-mod-styled" onClick={startEdit}>
            Edit fields…
          </button>
        ) : null}
      </div>
      {editing ? (
        <form
          className="jp-mm-card-form"
          onSubmit={e => {
            e.preventDefault();
            void save();
          }}
        >
          {CARD_FIELDS.map(f => (
            <label key={f.key} className="jp-mm-card-field">
              <span>{f.title}</span>
              <textarea
                className="jp-mod-styled"
                name={f.key}
                rows={3}
                value={draft[f.key] ?? ''}
                onChange={e => setDraft({ ...draft, [f.key]: e.target.value })}
              />
            </label>
          ))}
          <label className="jp-mm-card-field">
            <span>Why (kept in the audit trail)</span>
            <input
              className="jp-mod-styled"
              name="comment"
              value={comment}
              onChange={e => setComment(e.target.value)}
            />
          </label>
          <ErrorAlert message={model.errors['card-save']} />
          <div className="jp-mm-actions">
            <button
              type="submit"
              className="jp-mm-button jp-mod-styled jp-mod-accept"
            >
              Save card
            </button>
            <button
              type="button"
              className="jp-mm-button jp-mod-styled"
              onClick={() => setEditing(false)}
            >
              Cancel
            </button>
          </div>
        </form>
      ) : null}
      {model.errors.card ? (
        <div className="jp-mm-error" role="alert">
          {model.errors.card}
        </div>
      ) : (
        body
      )}
    </>
  );
}

export function VersionView(props: {
  model: VersionViewModel;
  actions: IVersionViewActions;
}): JSX.Element {
  const { model, actions } = props;
  useRerenderOn(model.changed);
  const v = model.data;
  const idBase = `jp-mm-version-${Private.slug(model.name)}-${model.version}`;
  return (
    <div className="jp-mm-view-body jp-mm-version">
      <div className="jp-mm-view-header">
        <h1 className="jp-mm-view-title">
          {model.name} <span className="jp-mm-dim">v{model.version}</span>
        </h1>
        {v ? <ApprovalBadge version={v} /> : null}
        {v ? <LifecycleBadge version={v} /> : null}
        {v?.aliases.map(alias => (
          <AliasBadge
            key={alias}
            alias={alias}
            onDelete={() => actions.deleteAlias(model.name, alias)}
          />
        ))}
        <ReloadButton label="Reload" reload={() => model.load()} />
      </div>
      <ErrorAlert message={model.gone} className="jp-mm-version-gone" />
      {model.error && !model.gone ? (
        <div className="jp-mm-error" role="alert">
          {model.error}
        </div>
      ) : null}
      {v ? (
        <>
          <Section title="Overview" id={`${idBase}-overview`}>
            <Overview
              v={v}
              actions={actions}
              policy={model.policy}
              getRun={model.api.getRun?.bind(model.api)}
            />
          </Section>
          {'serverSettings' in model.api ? (
            <Section title="Try it" id={`${idBase}-tryit`}>
              <TryIt
                serverSettings={
                  (model.api as { serverSettings: ServerConnection.ISettings })
                    .serverSettings
                }
                version={v}
              />
            </Section>
          ) : null}
          <Section title="Audit timeline" id={`${idBase}-audit`}>
            {model.errors.audit ? (
              <div className="jp-mm-error">{model.errors.audit}</div>
            ) : (
              <AuditTimeline entries={model.audit} version={model.version} />
            )}
          </Section>
          <Section title="Lineage" id={`${idBase}-lineage`}>
            {model.errors.lineage ? (
              <div className="jp-mm-error">{model.errors.lineage}</div>
            ) : model.lineage ? (
              <LineageView lineage={model.lineage} actions={actions} />
            ) : (
              <p className="jp-mm-dim">Loading…</p>
            )}
          </Section>
          <Section title="Reference profile" id={`${idBase}-reference`}>
            {model.errors.reference ? (
              <div className="jp-mm-error">{model.errors.reference}</div>
            ) : (
              <ReferenceProfileView
                reply={model.reference}
                tagged={Boolean(v.tags[REFERENCE_TAG])}
              />
            )}
          </Section>
          <Section title="Monitoring" id={`${idBase}-monitoring`}>
            {model.errors.monitoring ? (
              <div className="jp-mm-error">{model.errors.monitoring}</div>
            ) : model.monitoring ? (
              <>
                <MonitoringView m={model.monitoring} />
                {model.errors.report ? (
                  <div className="jp-mm-error">{model.errors.report}</div>
                ) : model.report ? (
                  <MonitoringReportView reply={model.report} />
                ) : null}
              </>
            ) : (
              <p className="jp-mm-dim">Loading…</p>
            )}
          </Section>
          <Section title="Lifecycle" id={`${idBase}-lifecycle`}>
            <LifecycleView
              v={v}
              audit={model.audit}
              setLifecycle={actions.setLifecycle}
            />
          </Section>
          <Section title="Reproducibility" id={`${idBase}-reproducibility`}>
            <ReproducibilityView
              v={v}
              audit={model.audit}
              details={model.reproducibility}
              detailsError={model.errors.reproducibility ?? null}
              openRun={actions.openRun}
              pendingJob={model.pendingCheck}
              check={(name, version) =>
                void actions
                  .checkReproducibility(name, version)
                  .then(job => job && model.checkStarted(job.job_id))
              }
            />
          </Section>
          {model.retraining ? (
            <Section title="Retraining" id={`${idBase}-retraining`}>
              <RetrainingView
                model={model.retraining}
                version={model.version}
                openRun={actions.openRun}
                openVersion={actions.openVersion}
              />
            </Section>
          ) : null}
          <Section title="Model card" id={`${idBase}-card`}>
            <CardView model={model} actions={actions} />
          </Section>
        </>
      ) : null}
    </div>
  );
}

/**
 * The version view widget.
 */
export class VersionViewWidget extends RegistryViewWidget<
  VersionViewModel,
  IVersionViewActions
> {
  constructor(model: VersionViewModel, actions: IVersionViewActions) {
    super(model, actions, 'jp-mm-version-view', VersionView);
  }

  dispose(): void {
    this.model.retraining?.dispose();
    super.dispose();
  }
}

namespace Private {
  export function slug(text: string): string {
    return text.replace(/[^A-Za-z0-9_-]/g, '_');
  }
}
