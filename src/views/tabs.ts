/**
 * Main-area tabs of run and compare views: one view is reused for the next
 * run opened unless it is pinned, and tabs are titled with run names.
 */

/**
 * What a tab title needs of a run.
 */
export interface ITabRun {
  id: string;
  name?: string | null;
}

/**
 * How a run is called on a tab: its name, or its short id when it has none
 * or when `others` (runs of the other open tabs) holds another run of that name.
 */
export function runTabLabel(
  run: ITabRun,
  others: ReadonlyArray<ITabRun> = []
): string {
  const short = run.id.slice(0, 8);
  if (!run.name) {
    return short;
  }
  const clash = others.some(o => o.id !== run.id && o.name === run.name);
  return clash ? `${run.name} · ${short}` : run.name;
}

/**
 * The title of a compare view's tab: the names of its runs.
 */
export function compareTabLabel(runs: ReadonlyArray<ITabRun>): string {
  return `Compare: ${runs.map(r => runTabLabel(r, runs)).join(', ')}`;
}

/**
 * The open view a newly opened one replaces: the unpinned one, if any.
 */
export function reusableView<T>(
  views: ReadonlyArray<T>,
  isPinned: (view: T) => boolean
): T | null {
  return views.find(view => !isPinned(view)) ?? null;
}
