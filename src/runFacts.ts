/**
 * What a run has, read from its tags (the run panel's rows and the views'
 * runs carry them): whether a notebook snapshot or a notebook cell exists, so
 * actions that need one are disabled with the reason instead of ending in an
 * error, and which of two runs is older (notebook diffs go older → newer).
 */

/**
 * Tags set with each notebook snapshot (`jupyter_mm/core/records.py`:
 * `mm.snapshot.<phase>` with the frontend's snapshot, `mm.snapshot.kernel`
 * with the kernel's).
 */
export const SNAPSHOT_TAGS = [
  'mm.snapshot.end',
  'mm.snapshot.start',
  'mm.snapshot.kernel'
];

/**
 * Tag every `%%track` cell's run carries from its start.
 */
export const TRACKED_CELL_TAG = 'mm.cell.execution_count';

interface ITagged {
  tags?: Record<string, string> | null;
}

/**
 * Why the run has no notebook snapshot, or null when it has one.
 */
export function noSnapshotReason(run: ITagged): string | null {
  const tags = run.tags ?? {};
  // A %%track cell's run (it records its execution count) takes one when it
  // ends; the frontend's may be tagged after a row was read.
  if (SNAPSHOT_TAGS.some(k => k in tags) || TRACKED_CELL_TAG in tags) {
    return null;
  }
  return tags['mm.source.type'] === 'LOCAL'
    ? 'This run was logged by a script: it has no notebook snapshot.'
    : 'This run has no notebook snapshot (only %%track cells take one).';
}

/**
 * Why the run cannot be opened at its notebook cell, or null when it can.
 */
export function noNotebookReason(run: ITagged): string | null {
  const tags = run.tags ?? {};
  if (tags['mm.notebook.path']) {
    return null;
  }
  return tags['mm.source.type'] === 'LOCAL'
    ? 'This run was logged by a script, not a notebook cell.'
    : 'This run does not say which notebook produced it (no mm.notebook.path tag).';
}

/**
 * Two runs as [older, newer] by start time (a notebook diff reads from the
 * older run to the newer one); equal times keep the given order.
 */
export function olderFirst<
  T extends { id: string; start_time?: number | null }
>(a: T, b: T): [T, T] {
  return (b.start_time ?? 0) < (a.start_time ?? 0) ? [b, a] : [a, b];
}
