/**
 * The model-version compare view's data: one column per version, rows for
 * its source run's params and metrics, its signature, its pinned
 * requirements and its datasets, each row flagged when the versions differ.
 * Pure functions over the registry's lineage reply and the model's
 * `requirements.txt`.
 */

import { compareRows } from '../views/compare';
import type { IFullRun } from '../schema';
import type { ILineage } from './api';
import { versionArgs } from './format';

export type VersionCompareSection =
  'params' | 'metrics' | 'signature' | 'requirements' | 'datasets';

/**
 * The sections in the order the table shows them, with their headings.
 */
export const VERSION_COMPARE_SECTIONS: ReadonlyArray<{
  section: VersionCompareSection;
  title: string;
}> = [
  { section: 'params', title: 'Params' },
  { section: 'metrics', title: 'Metrics' },
  { section: 'signature', title: 'Signature' },
  { section: 'requirements', title: 'Requirements' },
  { section: 'datasets', title: 'Datasets' }
];

/**
 * What the view knows of one version: its lineage (null until loaded or
 * when it failed) and its requirements (null: none recorded).
 */
export interface IVersionColumn {
  name: string;
  version: number;
  lineage: ILineage | null;
  requirements: string[] | null;
  error: string | null;
}

export interface IVersionCompareRow {
  section: VersionCompareSection;
  key: string;
  /**
   * Each version's value as text, `null` where it has none.
   */
  values: Array<string | null>;
  /**
   * Whether the versions do not all hold the same value (a missing value
   * differs from any value).
   */
  differs: boolean;
}

/**
 * The requirement lines of a `requirements.txt` (comments, blank lines and
 * pip options such as `-r file` dropped).
 */
export function parseRequirements(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map(line => line.replace(/(^|\s)#.*$/, '').trim())
    .filter(line => line.length > 0 && !line.startsWith('-'));
}

/**
 * A requirement's package name (normalised as pip does: lower case, runs of
 * `-_.` as `-`) and what it pins (`==1.5.2`, `>=2`, or `unpinned`).
 */
export function splitRequirement(line: string): { name: string; pin: string } {
  const match = /^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*(.*)$/.exec(line);
  if (!match) {
    return { name: line, pin: line };
  }
  const name = match[1].toLowerCase().replace(/[-_.]+/g, '-');
  return { name: name + (match[2] ?? ''), pin: match[3].trim() || 'unpinned' };
}

function keyedRows(
  section: VersionCompareSection,
  columns: Array<Map<string, string> | null>
): IVersionCompareRow[] {
  const keys = new Set<string>();
  columns.forEach(c => c?.forEach((_, k) => keys.add(k)));
  return Array.from(keys)
    .sort()
    .map(key => {
      const values = columns.map(c => c?.get(key) ?? null);
      return {
        section,
        key,
        values,
        differs: values.some(v => v !== values[0])
      };
    });
}

/**
 * The comparison table's rows, section by section in
 * `VERSION_COMPARE_SECTIONS` order, each section's keys sorted.
 */
export function versionCompareRows(
  columns: IVersionColumn[]
): IVersionCompareRow[] {
  const runs = columns.map(
    c =>
      ({
        params: c.lineage?.run?.params ?? {},
        metrics: c.lineage?.run?.metrics ?? {}
      }) as unknown as IFullRun
  );
  const rows: IVersionCompareRow[] = compareRows(runs).map(r => ({
    section: r.section,
    key: r.key,
    values: r.values,
    differs: r.differs
  }));
  rows.push(
    ...keyedRows(
      'signature',
      columns.map(c => {
        const sig = c.lineage?.model_files?.signature;
        const m = new Map<string, string>();
        for (const part of ['inputs', 'outputs'] as const) {
          if (sig?.[part]) {
            m.set(part, sig[part] as string);
          }
        }
        return m;
      })
    )
  );
  rows.push(
    ...keyedRows(
      'requirements',
      columns.map(c => {
        if (!c.requirements) {
          return null;
        }
        const m = new Map<string, string>();
        c.requirements.forEach(line => {
          const { name, pin } = splitRequirement(line);
          m.set(name, pin);
        });
        return m;
      })
    )
  );
  rows.push(
    ...keyedRows(
      'datasets',
      columns.map(c => {
        const m = new Map<string, string>();
        (c.lineage?.datasets ?? []).forEach(d => {
          const key = d.context ? `${d.name} (${d.context})` : d.name;
          m.set(key, d.digest);
        });
        return m;
      })
    )
  );
  return rows;
}

/**
 * The pairs of source runs whose notebooks can be diffed: the first version's
 * run against each other version's (when both have a run and they differ).
 */
export function diffPairs(
  columns: IVersionColumn[]
): Array<{ base: string; other: string; label: string }> {
  const first = columns[0];
  const base = first?.lineage?.run?.id ?? null;
  if (!base) {
    return [];
  }
  const pairs: Array<{ base: string; other: string; label: string }> = [];
  for (const c of columns.slice(1)) {
    const other = c.lineage?.run?.id ?? null;
    if (other && other !== base) {
      pairs.push({
        base,
        other,
        label: `${first.name} v${first.version} → ${c.name} v${c.version}`
      });
    }
  }
  return pairs;
}

/**
 * The versions of a compare command's `versions` argument ("name/version",
 * split at the last slash), or null when any is not one.
 */
export function versionRefs(
  value: unknown
): { name: string; version: number }[] | null {
  if (!Array.isArray(value)) {
    return null;
  }
  const refs: { name: string; version: number }[] = [];
  for (const item of value) {
    const at = typeof item === 'string' ? item.lastIndexOf('/') : -1;
    const target =
      at > 0
        ? versionArgs({
            name: (item as string).slice(0, at),
            version: Number((item as string).slice(at + 1))
          })
        : null;
    if (!target) {
      return null;
    }
    refs.push(target);
  }
  return refs;
}
