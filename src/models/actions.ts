/**
 * The registry actions behind the Models commands: each asks what it needs in
 * a dialog, calls the REST API as the signed-in Jupyter identity, shows a
 * refusal (a 403 four-eyes or policy refusal, a 404, a bad name) in an error
 * dialog, and announces the change so open views reload.
 */

import { showErrorMessage } from '@jupyterlab/apputils';
import { ServerConnection } from '@jupyterlab/services';
import { ISignal, Signal } from '@lumino/signaling';

import {
  Decision,
  errorText,
  IModelVersion,
  IRegistryApi,
  Lifecycle
} from './api';
import { askAndSubmit, askForm } from './dialogs';

/**
 * What the Models panel and the version view ask of the plugin for a version:
 * open its run, decide its approval, set or delete an alias (each command
 * asks what it needs in a dialog).
 */
export interface IVersionActions {
  openRun(runId: string): void;
  decide(name: string, version: number, decision: Decision): void;
  setAlias(name: string, version: number): void;
  deleteAlias(name: string, alias: string): void;
}

/**
 * The request dialog says who will decide and how a lab of one goes on.
 */
export const REQUEST_INTRO =
  'Under the four-eyes policy (on by default) someone other than you must approve or reject; ' +
  'the policy may also name the approvers. Working alone? Turn four eyes off in the version ' +
  'view (an audited policy change), then decide your own request.';

const FOUR_EYES_OFF_INTRO =
  'Lets whoever requested an approval decide it, for every model without its own policy. ' +
  'The change, who made it and your reason are kept in the audit trail; turn it on again with ' +
  'PUT registry/policy {"four_eyes": true}.';

const DECISION_TITLES: Record<Decision, string> = {
  request: 'Request approval',
  approve: 'Approve version',
  reject: 'Reject version'
};

const LIFECYCLE_TITLES: Record<Lifecycle, string> = {
  deprecated: 'Deprecate',
  archived: 'Archive',
  active: 'Reactivate'
};

const LIFECYCLE_INTROS: Record<Lifecycle, string> = {
  deprecated: 'A deprecated version keeps serving; users are told why.',
  archived:
    'An archived version never serves and no alias can point at it; it stays readable for audit.',
  active: 'Clears the deprecation or the archiving.'
};

/**
 * Well-known alias names offered in the alias dialog.
 */
export const COMMON_ALIASES = ['champion', 'challenger', 'staging', 'shadow'];

export class ModelActions {
  constructor(readonly api: IRegistryApi) {}

  /**
   * Emitted with the model name after any change a user made here.
   */
  get changed(): ISignal<this, string> {
    return this._changed;
  }

  /**
   * Announce a change made elsewhere (e.g. a view's card edit).
   */
  notify(name: string): void {
    this._changed.emit(name);
  }

  /**
   * Request approval, approve or reject; the comment is asked for (and
   * required to decide); evidence links go with a request.
   */
  async decide(
    name: string,
    version: number,
    decision: Decision,
    given?: { comment?: string; evidence?: string[] }
  ): Promise<IModelVersion | null> {
    let comment = given?.comment;
    let evidence = given?.evidence;
    if (comment === undefined) {
      const fields = [
        {
          key: 'comment',
          label: decision === 'request' ? 'Comment' : 'Why (required)',
          multiline: true,
          required: decision !== 'request',
          placeholder:
            decision === 'request'
              ? 'What the validator should look at'
              : 'The reason, kept in the audit trail'
        }
      ];
      if (decision === 'request') {
        fields.push({
          key: 'evidence',
          label: 'Evidence links (one per line)',
          multiline: true,
          required: false,
          placeholder: 'https://…/validation-report'
        });
      }
      const answer = await askForm({
        title: `${DECISION_TITLES[decision]}: ${name} v${version}`,
        intro: decision === 'request' ? REQUEST_INTRO : undefined,
        fields,
        accept: DECISION_TITLES[decision].split(' ')[0]
      });
      if (!answer) {
        return null;
      }
      comment = answer.comment.trim();
      evidence = (answer.evidence ?? '')
        .split('\n')
        .map(s => s.trim())
        .filter(Boolean);
    }
    return this._run(DECISION_TITLES[decision], name, () =>
      this.api.decide(name, version, decision, comment ?? '', evidence)
    );
  }

  /**
   * Turn the store-wide four-eyes policy off, so a requester may decide their
   * own request (a one-person lab). The reason is required: the change is in
   * the audit trail.
   */
  async turnOffFourEyes(ask: typeof askForm = askForm): Promise<boolean> {
    const setPolicy = this.api.setPolicy?.bind(this.api);
    if (!setPolicy) {
      return false;
    }
    const done = await askAndSubmit(
      {
        title: 'Turn off four eyes',
        intro: FOUR_EYES_OFF_INTRO,
        fields: [
          {
            key: 'reason',
            label: 'Reason (required)',
            multiline: true,
            required: true,
            placeholder: 'e.g. one-person lab: no second reviewer'
          }
        ],
        accept: 'Turn off'
      },
      answer => setPolicy({ four_eyes: false }, answer.reason.trim()),
      errorText,
      ask
    );
    return done !== null;
  }

  /**
   * Point an alias at a version (setting it, or moving it from another).
   */
  async setAlias(
    name: string,
    version: number,
    alias?: string,
    comment?: string
  ): Promise<IModelVersion | null> {
    if (alias === undefined) {
      const answer = await askForm({
        title: `Set alias: ${name} v${version}`,
        intro: 'An alias that points at another version moves here.',
        fields: [
          {
            key: 'alias',
            label: 'Alias',
            value: 'champion',
            required: true,
            choices: COMMON_ALIASES
          },
          { key: 'comment', label: 'Why', multiline: true }
        ],
        accept: 'Set'
      });
      if (!answer) {
        return null;
      }
      alias = answer.alias.trim();
      comment = answer.comment.trim();
    }
    const chosen = alias;
    return this._run('Set alias', name, () =>
      this.api.setAlias(name, chosen, version, comment ?? '')
    );
  }

  async deleteAlias(
    name: string,
    alias: string,
    comment?: string
  ): Promise<boolean> {
    if (comment === undefined) {
      const answer = await askForm({
        title: `Delete alias @${alias} of ${name}`,
        fields: [{ key: 'comment', label: 'Why', multiline: true }],
        accept: 'Delete'
      });
      if (!answer) {
        return false;
      }
      comment = answer.comment.trim();
    }
    const done = await this._run('Delete alias', name, async () => {
      await this.api.deleteAlias(name, alias, comment ?? '');
      return true;
    });
    return done === true;
  }

  /**
   * Deprecate, archive (a reason is required) or reactivate a version. The
   * server's refusal (an alias still holds the version, say) is shown in the
   * dialog, which stays open to change the answer or cancel.
   */
  async setLifecycle(
    name: string,
    version: number,
    lifecycle: Lifecycle,
    ask: typeof askForm = askForm
  ): Promise<IModelVersion | null> {
    const title = LIFECYCLE_TITLES[lifecycle];
    const done = await askAndSubmit(
      {
        title: `${title}: ${name} v${version}`,
        intro: LIFECYCLE_INTROS[lifecycle],
        fields: [
          {
            key: 'reason',
            label: lifecycle === 'active' ? 'Why' : 'Reason (required)',
            multiline: true,
            required: lifecycle !== 'active',
            placeholder: 'Kept in the audit trail'
          }
        ],
        accept: title
      },
      answer =>
        this.api.setLifecycle(name, version, lifecycle, answer.reason.trim()),
      errorText,
      ask
    );
    if (done) {
      this._changed.emit(name);
    }
    return done;
  }

  /**
   * Register `runs:/RUN/PATH` as the next version of a model, creating the
   * model when it does not exist yet.
   */
  async register(
    runId: string,
    path: string,
    name: string,
    comment = ''
  ): Promise<IModelVersion | null> {
    return this._run('Register model', name, async () => {
      try {
        await this.api.getModel(name);
      } catch (error) {
        if (
          error instanceof ServerConnection.ResponseError &&
          error.response.status === 404
        ) {
          await this.api.createModel(name);
        } else {
          throw error;
        }
      }
      return this.api.createVersion(name, runId, path, comment);
    });
  }

  private async _run<T>(
    title: string,
    name: string,
    call: () => Promise<T>
  ): Promise<T | null> {
    try {
      const result = await call();
      this._changed.emit(name);
      return result;
    } catch (error) {
      await showErrorMessage(`${title} failed`, errorText(error));
      return null;
    }
  }

  private _changed = new Signal<this, string>(this);
}
