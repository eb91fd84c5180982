import { IRun } from './schema';
import { UNKNOWN } from './format';

/**
 * Columns of the run table. A column id is `<section>.<key>`:
 * `attributes.status`, `params.C`, `metrics.val/auc`, `tags.team`.
 */

export type Section = 'attributes' | 'params' | 'metrics' | 'tags';

/**
 * A column of the run table.
 */
export interface IColumn {
  id: string;
  section: Section;
  key: string;
}

/**
 * Run attributes offered as columns, with their labels.
 */
export const ATTRIBUTE_COLUMNS: ReadonlyArray<{ key: string; label: string }> =
  [
    { key: 'status', label: 'Status' },
    { key: 'name', label: 'Name' },
    { key: 'experiment', label: 'Experiment' },
    { key: 'start_time', label: 'Started' },
    { key: 'duration', label: 'Duration' },
    { key: 'user', label: 'User' },
    { key: 'notes', label: 'Notes' },
    { key: 'id', label: 'Run id' }
  ];

/**
 * Columns shown when nothing else was chosen.
 */
export const DEFAULT_COLUMNS: ReadonlyArray<string> = [
  'attributes.status',
  'attributes.name',
  'attributes.start_time'
];

/**
 * What the table always fetches, whatever the columns: enough for the badge,
 * the name, the live updates, deleted rows and the "Register Model…" action
 * (the `mm.models` tag lists the models a run logged; it is small).
 */
export const BASE_FIELDS: ReadonlyArray<string> = [
  'name',
  'status',
  'start_time',
  'end_time',
  'lifecycle_stage',
  'experiment_id',
  // what the run actions read (src/commands.ts, src/runFacts.ts): the
  // models to register, whether a snapshot or a notebook cell exists
  'tags.mm.models',
  'tags.mm.mlflow.models',
  'tags.mm.snapshot.end',
  'tags.mm.snapshot.start',
  'tags.mm.snapshot.kernel',
  'tags.mm.cell.execution_count',
  'tags.mm.notebook.path',
  'tags.mm.source.type'
];

const SECTIONS: ReadonlyArray<Section> = [
  'attributes',
  'params',
  'metrics',
  'tags'
];

/**
 * Parse a column id; null when it is not one.
 */
export function parseColumn(id: string): IColumn | null {
  const dot = id.indexOf('.');
  if (dot <= 0 || dot === id.length - 1) {
    return null;
  }
  const section = id.slice(0, dot) as Section;
  const key = id.slice(dot + 1);
  if (!SECTIONS.includes(section)) {
    return null;
  }
  if (
    section === 'attributes' &&
    !ATTRIBUTE_COLUMNS.some(column => column.key === key)
  ) {
    return null;
  }
  return { id, section, key };
}

/** Where each section's columns sit in the table, left to right. */
const SECTION_ORDER: ReadonlyArray<Section> = [
  'attributes',
  'metrics',
  'params',
  'tags'
];

/**
 * `columns` with `id` added beside its section's columns (after the last of
 * them, or where its section belongs), so the order does not depend on what
 * was shown when it was chosen.
 */
export function withColumn(
  columns: ReadonlyArray<string>,
  id: string
): string[] {
  if (columns.includes(id)) {
    return [...columns];
  }
  const rank = (c: string) =>
    SECTION_ORDER.indexOf(parseColumn(c)?.section ?? 'tags');
  const own = rank(id);
  let at = 0;
  columns.forEach((c, i) => {
    if (rank(c) <= own) {
      at = i + 1;
    }
  });
  return [...columns.slice(0, at), id, ...columns.slice(at)];
}

/**
 * Header text of a column.
 */
export function columnLabel(id: string): string {
  const column = parseColumn(id);
  if (!column) {
    return id;
  }
  if (column.section === 'attributes') {
    return (
      ATTRIBUTE_COLUMNS.find(a => a.key === column.key)?.label ?? column.key
    );
  }
  return column.key;
}

/**
 * The server's `columns` entries that fetch a column's values.
 */
export function serverColumns(ids: ReadonlyArray<string>): string[] {
  const out = new Set<string>(BASE_FIELDS);
  for (const id of ids) {
    const column = parseColumn(id);
    if (!column) {
      continue;
    }
    if (column.section !== 'attributes') {
      out.add(column.id);
    } else if (column.key !== 'duration' && column.key !== 'id') {
      // `experiment` (the name) is a field of its own: `experiment_id` is in BASE_FIELDS
      out.add(column.key);
    }
  }
  return [...out];
}

/**
 * Attribute column key -> the search grammar's attribute name.
 */
const ORDER_ATTRIBUTES: Record<string, string> = {
  status: 'status',
  name: 'run_name',
  start_time: 'start_time',
  user: 'user_id',
  notes: 'notes',
  id: 'run_id'
};

/**
 * Whether the server can sort by a column.
 */
export function isSortable(id: string): boolean {
  const column = parseColumn(id);
  if (!column) {
    return false;
  }
  return column.section !== 'attributes' || column.key in ORDER_ATTRIBUTES;
}

/**
 * A key as the search grammar reads it: bare when it is made of name
 * characters, else between backticks.
 */
export function quoteKey(key: string): string {
  if (/^[A-Za-z_][A-Za-z0-9_\-./:]*$/.test(key)) {
    return key;
  }
  return '`' + key.replace(/`/g, '``') + '`';
}

/**
 * The `order_by` clause for a column, or null when it cannot be sorted.
 */
export function orderByClause(id: string, ascending: boolean): string | null {
  const column = parseColumn(id);
  if (!column || !isSortable(id)) {
    return null;
  }
  const direction = ascending ? 'ASC' : 'DESC';
  if (column.section === 'attributes') {
    return `attributes.${ORDER_ATTRIBUTES[column.key]} ${direction}`;
  }
  return `${column.section}.${quoteKey(column.key)} ${direction}`;
}

/**
 * A string literal of the search grammar.
 */
export function quoteString(value: string): string {
  return "'" + value.replace(/\\/g, '\\\\').replace(/'/g, "\\'") + "'";
}

/**
 * A metric value as a number (NaN for the wire strings and missing values).
 */
export function metricNumber(value: unknown): number {
  if (typeof value === 'number') {
    return value;
  }
  if (value === 'Infinity') {
    return Infinity;
  }
  if (value === '-Infinity') {
    return -Infinity;
  }
  return NaN;
}

/**
 * A metric value as text: 4 significant digits, or the wire spelling.
 */
export function formatMetric(value: unknown): string {
  if (value === undefined || value === null) {
    return '';
  }
  const n = metricNumber(value);
  if (Number.isNaN(n)) {
    return 'NaN';
  }
  if (!Number.isFinite(n)) {
    return n > 0 ? '∞' : '-∞';
  }
  if (Number.isInteger(n) && Math.abs(n) < 1e9) {
    return n.toString();
  }
  const abs = Math.abs(n);
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e6)) {
    return n.toExponential(3);
  }
  return parseFloat(n.toPrecision(4)).toString();
}

/**
 * `YYYY-MM-DD HH:MM` in local time.
 */
export function formatDateTime(ms: number | null | undefined): string {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) {
    return '';
  }
  const d = new Date(ms);
  const pad = (n: number) => n.toString().padStart(2, '0');
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}`
  );
}

/**
 * `42 s`, `3 min 5 s`, `2 h 01 min`.
 */
export function formatDuration(ms: number | null | undefined): string {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
    return '';
  }
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) {
    return `${seconds} s`;
  }
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) {
    return `${minutes} min ${seconds % 60} s`;
  }
  const hours = Math.floor(minutes / 60);
  return `${hours} h ${(minutes % 60).toString().padStart(2, '0')} min`;
}

/**
 * The text of a run's cell in a column (always plain text).
 */
export function cellText(run: IRun, id: string, now = Date.now()): string {
  const column = parseColumn(id);
  if (!column) {
    return '';
  }
  switch (column.section) {
    case 'params':
      return run.params?.[column.key] ?? '';
    case 'tags':
      return run.tags?.[column.key] ?? '';
    case 'metrics':
      return formatMetric(run.metrics?.[column.key]);
  }
  switch (column.key) {
    case 'status':
      return statusLabel(run.status);
    case 'name':
      return run.name || shortId(run.id);
    case 'experiment':
      return run.experiment ?? run.experiment_id ?? '';
    case 'start_time':
      return formatDateTime(run.start_time);
    case 'duration':
      if (typeof run.start_time !== 'number') {
        return '';
      }
      return formatDuration(
        (typeof run.end_time === 'number' ? run.end_time : now) - run.start_time
      );
    case 'user':
      return run.user ?? '';
    case 'notes':
      return run.notes ?? '';
    case 'id':
      return run.id;
    default:
      return UNKNOWN;
  }
}

/**
 * Lower-case status label for the badge.
 */
export function statusLabel(status: string | undefined): string {
  return (status ?? 'unknown').toLowerCase();
}

/**
 * The attributes a run sorts by as they are: each column is the run's field of the same name.
 */
const SORTED_ATTRIBUTES = [
  'status',
  'name',
  'experiment',
  'start_time',
  'user',
  'notes',
  'id'
] as const;

/**
 * The value a column sorts by, for placing a live row among loaded ones
 * (the server sorts pages; this only mirrors it for one inserted run).
 * Missing values are `null` and go last, as on the server.
 */
export function sortValue(run: IRun, id: string): number | string | null {
  const column = parseColumn(id);
  if (!column) {
    return null;
  }
  switch (column.section) {
    case 'params':
      return run.params?.[column.key] ?? null;
    case 'tags':
      return run.tags?.[column.key] ?? null;
    case 'metrics': {
      const value = run.metrics?.[column.key];
      const n = metricNumber(value);
      return value === undefined || Number.isNaN(n) ? null : n;
    }
  }
  const attribute = SORTED_ATTRIBUTES.find(name => name === column.key);
  return attribute === undefined ? null : (run[attribute] ?? null);
}

/**
 * Compare two runs by a column, missing values last in both directions.
 */
export function compareRuns(
  a: IRun,
  b: IRun,
  id: string,
  ascending: boolean
): number {
  const va = sortValue(a, id);
  const vb = sortValue(b, id);
  if (va === null || vb === null) {
    return va === vb ? 0 : va === null ? 1 : -1;
  }
  const order = va < vb ? -1 : va > vb ? 1 : 0;
  return ascending ? order : -order;
}

/**
 * The first characters of a run id: enough to tell runs apart on screen.
 */
export function shortId(runId: string): string {
  return runId.slice(0, 8);
}

/**
 * Ids of the runs whose name another of `runs` also has (shown with their
 * short id so the two can be told apart).
 */
export function clashingNames(runs: ReadonlyArray<IRun>): Set<string> {
  const byName = new Map<string, string[]>();
  for (const run of runs) {
    const name = run.name || shortId(run.id);
    byName.set(name, [...(byName.get(name) ?? []), run.id]);
  }
  const out = new Set<string>();
  for (const ids of byName.values()) {
    if (ids.length > 1) {
      ids.forEach(id => out.add(id));
    }
  }
  return out;
}

/**
 * Most metric and param columns added on their own (the rest is one click
 * away in the column chooser).
 */
export const MAX_DIFFERING = 8;

/**
 * The metric and param columns whose values differ across `runs` (a missing
 * value counts as a value), metrics first, each section sorted by key: what
 * tells the runs in view apart, shown when the user chose no columns.
 */
export function differingColumns(
  runs: ReadonlyArray<IRun>,
  limit = MAX_DIFFERING
): string[] {
  const out: string[] = [];
  for (const section of ['metrics', 'params'] as const) {
    const values = new Map<string, Set<string>>();
    for (const run of runs) {
      for (const key of Object.keys(run[section] ?? {})) {
        values.set(key, new Set());
      }
    }
    for (const [key, seen] of values) {
      for (const run of runs) {
        const value = (run[section] as Record<string, unknown> | undefined)?.[
          key
        ];
        seen.add(value === undefined ? '\u0000missing' : String(value));
      }
    }
    for (const key of [...values.keys()].sort()) {
      if ((values.get(key)?.size ?? 0) > 1) {
        out.push(`${section}.${key}`);
      }
    }
  }
  return out.slice(0, limit);
}

/**
 * Width of a column, in pixels, to fit its header and the text of the given
 * runs (approximated by character count: no measuring), within bounds.
 */
export function fitColumnWidth(
  id: string,
  runs: ReadonlyArray<IRun>,
  extra: (run: IRun) => string = () => ''
): number {
  const column = parseColumn(id);
  if (column?.section === 'attributes' && column.key === 'status') {
    return Math.max(columnLabel(id).length * TEXT_CHAR + TEXT_PADDING, 76);
  }
  let chars = columnLabel(id).length + 2; // room for the sort arrow
  for (const run of runs.slice(0, FIT_SAMPLE)) {
    chars = Math.max(chars, cellText(run, id).length + extra(run).length);
  }
  const max =
    column?.section === 'attributes' && column.key === 'id' ? 250 : 220;
  return fitTextWidth(chars, max);
}

/**
 * Width of a cell holding `chars` characters, in pixels, within bounds.
 */
export function fitTextWidth(chars: number, max = 220): number {
  return Math.min(max, Math.max(48, chars * TEXT_CHAR + TEXT_PADDING));
}

const TEXT_CHAR = 7;
const TEXT_PADDING = 18;

/**
 * How many loaded runs are read to size the columns.
 */
export const FIT_SAMPLE = 200;
