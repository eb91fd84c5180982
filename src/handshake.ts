import { showErrorMessage } from '@jupyterlab/apputils';
import { ServerConnection } from '@jupyterlab/services';

import { errorText } from './format';
import { requestAPI } from './request';
import { IStatusReply } from './tokens';

/**
 * Outcome of the frontend/server version handshake.
 */
export interface IHandshakeResult {
  /**
   * `ok`: versions match; `mismatch`: both run but disagree; `missing`: the
   * server extension does not answer (404); `error`: any other failure.
   */
  outcome: 'ok' | 'mismatch' | 'missing' | 'error';
  /**
   * Text for the user when the outcome is not `ok`.
   */
  message: string;
  /**
   * The status reply, when the server answered.
   */
  status?: IStatusReply;
}

/**
 * Install hint shown when the server extension is missing or out of date.
 */
export function installHint(frontendVersion: string): string {
  return (
    `Install the matching Python package (pip install "jupyter-mm==${frontendVersion}"), ` +
    'check that "jupyter server extension list" shows jupyter_mm enabled and OK, ' +
    'then restart JupyterLab.'
  );
}

/**
 * Whether a server version and a frontend version are the same release.
 *
 * The server normalizes versions itself (PEP 440 vs semver) and says so in
 * `version_match`; plain string equality is the fallback for older servers.
 */
export function versionsMatch(
  status: IStatusReply,
  frontendVersion: string
): boolean {
  if (typeof status.version_match === 'boolean') {
    return status.version_match;
  }
  return status.version === frontendVersion;
}

/**
 * Turn the answer (or failure) of the status request into a handshake result.
 */
export function interpretHandshake(
  frontendVersion: string,
  reply: { status?: IStatusReply; error?: unknown }
): IHandshakeResult {
  const { status, error } = reply;
  if (status) {
    if (versionsMatch(status, frontendVersion)) {
      return { outcome: 'ok', message: '', status };
    }
    return {
      outcome: 'mismatch',
      message:
        `The jupyter-mm frontend (${frontendVersion}) and server extension ` +
        `(${status.version}) versions differ. ${installHint(frontendVersion)}`,
      status
    };
  }
  if (
    error instanceof ServerConnection.ResponseError &&
    error.response.status === 404
  ) {
    return {
      outcome: 'missing',
      message:
        'The jupyter-mm server extension is not installed or not enabled ' +
        `(GET jupyter-mm/api/status answered 404). ${installHint(frontendVersion)}`
    };
  }
  return {
    outcome: 'error',
    message: `Could not reach the jupyter-mm server extension: ${errorText(error)}`
  };
}

/**
 * Ask the server extension for its status and version, sending ours.
 *
 * A version mismatch or a missing server extension is reported to the user
 * with an error dialog; other failures (e.g. store unavailable) are left to
 * the sidebar, which shows them.
 */
export async function checkServerExtension(
  serverSettings: ServerConnection.ISettings,
  frontendVersion: string,
  notify: (title: string, message: string) => Promise<unknown> = (
    title,
    message
  ) => showErrorMessage(title, message)
): Promise<IHandshakeResult> {
  let result: IHandshakeResult;
  try {
    const status = await requestAPI<IStatusReply>(
      'status',
      serverSettings,
      {},
      { version: frontendVersion }
    );
    result = interpretHandshake(frontendVersion, { status });
  } catch (error) {
    result = interpretHandshake(frontendVersion, { error });
  }
  if (result.outcome === 'mismatch') {
    void notify('jupyter-mm version mismatch', result.message);
  } else if (result.outcome === 'missing') {
    void notify('jupyter-mm server extension not found', result.message);
  }
  return result;
}
