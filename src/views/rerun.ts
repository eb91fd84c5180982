/**
 * The Re-run… dialog: the run's params prefilled, each changed value sent as
 * an override (`POST jobs/reruns`), plus free `NAME=VALUE` lines for
 * parameters the run did not log (a `parameters` cell, an earlier cell's
 * literal). The server checks every override before it makes a job; its
 * refusal (an unknown name, with what can be overridden) is shown in the
 * dialog, which opens again with what was typed.
 */

import { ApiError } from '../request';
import { errorText } from '../models/api';
import { askAndSubmit, askForm, IFormField } from '../models/dialogs';
import type { IJob } from '../schema';
import type { IJobsApi } from '../jobs/api';

const PARAM = 'param:';
const OTHER = 'other';

/**
 * The overrides a filled form asks for: the params whose value changed and the
 * `NAME=VALUE` lines; an error message for a line that is not one.
 */
export function overridesFrom(
  original: Record<string, string>,
  answer: Record<string, string>
): { params: Record<string, string> } | { error: string } {
  const params: Record<string, string> = {};
  for (const [key, value] of Object.entries(answer)) {
    if (key.startsWith(PARAM)) {
      const name = key.slice(PARAM.length);
      if (value !== original[name]) {
        params[name] = value;
      }
    }
  }
  for (const raw of (answer[OTHER] ?? '').split('\n')) {
    const line = raw.trim();
    if (!line) {
      continue;
    }
    const eq = line.indexOf('=');
    const name = eq > 0 ? line.slice(0, eq).trim() : '';
    if (!name) {
      return { error: `Not NAME=VALUE: ${line}` };
    }
    params[name] = line.slice(eq + 1).trim();
  }
  return { params };
}

/**
 * The words of a refused re-run: the server's message (which lists what can
 * be overridden), saying so when nothing can.
 */
export function refusalText(error: unknown): string {
  const text = errorText(error);
  const names =
    error instanceof ApiError
      ? (error.details as { overridable?: unknown } | null)?.overridable
      : undefined;
  if (Array.isArray(names) && names.length === 0) {
    return `${text} (nothing in this run can be overridden)`;
  }
  return text;
}

/**
 * Ask for the overrides and start the re-run; null when cancelled.
 */
export function askRerun(
  api: IJobsApi,
  run: { id: string; name?: string | null; params: Record<string, string> },
  ask: typeof askForm = askForm
): Promise<IJob | null> {
  const fields: IFormField[] = Object.entries(run.params)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, value]) => ({ key: PARAM + name, label: name, value }));
  fields.push({
    key: OTHER,
    label: 'Other overrides (NAME=VALUE, one per line)',
    multiline: true,
    placeholder: 'window_days=90'
  });
  return askAndSubmit(
    {
      title: `Re-run ${run.name || run.id.slice(0, 8)}`,
      intro:
        'Re-executes the notebook as it ran, in a fresh kernel, up to the tracked cell. ' +
        'Change a value to override it.',
      fields,
      accept: 'Re-run'
    },
    answer => {
      const overrides = overridesFrom(run.params, answer);
      if ('error' in overrides) {
        throw new Error(overrides.error);
      }
      return api.startRerun(run.id, overrides.params);
    },
    refusalText,
    ask
  );
}
