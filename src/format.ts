import { IStatusReply } from './tokens';

/**
 * Pure formatting helpers used by the sidebar. Everything returns plain text:
 * the view renders it as text nodes, never as HTML.
 */

/**
 * Placeholder for a value that is not known (yet).
 */
export const UNKNOWN = '—';

/**
 * Format a count with thousands separators, independent of the locale.
 */
export function formatCount(value: number | null | undefined): string {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    return UNKNOWN;
  }
  const sign = value < 0 ? '-' : '';
  const digits = Math.trunc(Math.abs(value)).toString();
  return sign + digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/**
 * `1 run`, `2 runs`, `1,024 experiments`.
 */
export function pluralize(
  value: number | null | undefined,
  singular: string,
  plural = `${singular}s`
): string {
  return `${formatCount(value)} ${value === 1 ? singular : plural}`;
}

/**
 * Human label of a store kind.
 */
export function describeKind(kind: string | null | undefined): string {
  switch (kind) {
    case 'sqlite':
      return 'SQLite (embedded)';
    case 'postgresql':
      return 'PostgreSQL';
    case undefined:
    case null:
    case '':
      return UNKNOWN;
    default:
      return kind;
  }
}

/**
 * Mask the password of a `scheme://user:password@host/...` URI.
 *
 * The server masks it already; the sidebar does it again so that a secret
 * never reaches the screen even from an older server.
 */
export function maskUri(uri: string | null | undefined): string {
  if (!uri) {
    return UNKNOWN;
  }
  return uri.replace(
    /^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^:/?#@]*):[^@/?#]*@/,
    '$1:***@'
  );
}

/**
 * `HH:MM:SS` of a date, in local time.
 */
export function formatTime(date: Date | null | undefined): string {
  if (!date) {
    return UNKNOWN;
  }
  const pad = (n: number) => n.toString().padStart(2, '0');
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

/**
 * Text lines the sidebar shows for a status reply.
 */
export interface IStatusSummary {
  uri: string;
  kind: string;
  experiments: string;
  runs: string;
  version: string;
  /**
   * The store's error reported by the server, if any.
   */
  storeError: string | null;
}

/**
 * Summarize a status reply (or its absence) for display.
 */
export function summarizeStatus(
  status: IStatusReply | null | undefined
): IStatusSummary {
  return {
    uri: maskUri(status?.store?.uri),
    kind: describeKind(status?.store?.kind),
    experiments: pluralize(status?.counts?.experiments, 'experiment'),
    runs: pluralize(status?.counts?.runs, 'run'),
    version: status?.version || UNKNOWN,
    storeError: status?.error?.message ?? null
  };
}

/**
 * Message of any thrown value, for display as text.
 */
export function errorText(error: unknown): string {
  if (error instanceof Error) {
    return error.message || error.name;
  }
  if (typeof error === 'string') {
    return error;
  }
  return 'Unknown error';
}
