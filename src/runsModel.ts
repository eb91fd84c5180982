import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import { IRunsApi, ISearchQuery, filterErrorAt, firstLine } from './api';
import { IExperiment, IRun } from './schema';
import {
  DEFAULT_COLUMNS,
  compareRuns,
  differingColumns,
  orderByClause,
  parseColumn,
  withColumn,
  quoteString,
  serverColumns
} from './columns';
import { errorText } from './format';
import {
  GroupedItem,
  IRunGroup,
  groupedItems,
  groupRuns,
  isGroupKey
} from './grouping';
import { IStoreEvent } from './storeEvents';
import { EventGaps } from './views/live';

/**
 * The data behind the sidebar's run table: one experiment's runs, fetched
 * page by page as the table scrolls (page tokens of the search API, never
 * the whole list), with the columns, order, filter and selection, patched
 * in place by the server's live store events.
 */
export class RunsModel implements IDisposable {
  constructor(options: RunsModel.IOptions) {
    this._api = options.api;
    this._pageSize = options.pageSize ?? RunsModel.PAGE_SIZE;
    this._coalesceMs = options.coalesceMs ?? RunsModel.COALESCE_MS;
    this._memory = options.memory ?? null;
    this._defaultColumns = [...(options.defaultColumns ?? DEFAULT_COLUMNS)];
  }

  /**
   * Emitted whenever anything shown changes.
   */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  get experiments(): ReadonlyArray<IExperiment> {
    return this._experiments;
  }

  get experimentId(): string | null {
    return this._experimentId;
  }

  /**
   * Loaded runs, in the server's order.
   */
  get rows(): ReadonlyArray<IRun> {
    return this._rows;
  }

  /**
   * Whether every run matching the query is loaded.
   */
  get complete(): boolean {
    return this._nextToken === null && !this._loading;
  }

  get loading(): boolean {
    return this._loading;
  }

  /**
   * The last failure (other than a filter error), as text.
   */
  get error(): string | null {
    return this._error;
  }

  /**
   * The filter applied to the table.
   */
  get filter(): string {
    return this._filter;
  }

  /**
   * Why the server refused the filter, and where (a character offset).
   */
  get filterError(): RunsModel.IFilterError | null {
    return this._filterError;
  }

  /**
   * The shown columns: the user's choice for this experiment, or else the
   * default ones plus the metrics and params that differ across the rows.
   */
  get columns(): ReadonlyArray<string> {
    return this._columns ?? this._autoColumns;
  }

  /**
   * Whether the columns are the user's choice (not picked automatically).
   */
  get columnsChosen(): boolean {
    return this._columns !== null;
  }

  /**
   * Whether the table spans every experiment.
   */
  get allExperiments(): boolean {
    return this._experimentId === RunsModel.ALL_EXPERIMENTS;
  }

  get order(): RunsModel.IOrder | null {
    return this._order;
  }

  get showDeleted(): boolean {
    return this._showDeleted;
  }

  /**
   * Param, metric and tag keys seen in this experiment's runs.
   */
  get keys(): RunsModel.IKeys {
    return {
      params: [...this._keys.params].sort(),
      metrics: [...this._keys.metrics].sort(),
      tags: [...this._keys.tags].sort()
    };
  }

  /**
   * The param or tag the table is grouped by (a column id), or null.
   */
  get groupBy(): string | null {
    return this._groupBy;
  }

  /**
   * The loaded runs' groups (null when not grouped), each with the stats of
   * the metric columns shown. Computed once per change of the rows, the
   * columns, the grouping or the collapsed groups.
   */
  get groups(): ReadonlyArray<IRunGroup> | null {
    return this._grouped()?.groups ?? null;
  }

  /**
   * The lines of the grouped table (group headers, runs of the groups not
   * collapsed), null when not grouped.
   */
  get groupedItems(): ReadonlyArray<GroupedItem> | null {
    return this._grouped()?.items ?? null;
  }

  /**
   * Ids of the collapsed groups (`IRunGroup.id`).
   */
  get collapsed(): ReadonlySet<string> {
    return this._collapsed;
  }

  /**
   * Group the table by a param or tag (`params.lr`, `tags.team`), or (null)
   * no more; remembered for the experiment, like its columns.
   */
  async setGroupBy(by: string | null): Promise<void> {
    const next = by && isGroupKey(by) ? by : null;
    if (next === this._groupBy) {
      return;
    }
    this._groupBy = next;
    this._collapsed = new Set();
    this._rememberView();
    // Chosen columns fetch only their own keys: fetch the group's too.
    if (next && this._columns && !this._columns.includes(next)) {
      await this.reload();
    } else {
      this._emit();
    }
  }

  /**
   * Collapse a group's runs under its header, or show them again.
   */
  toggleGroup(id: string): void {
    const collapsed = new Set(this._collapsed);
    if (!collapsed.delete(id)) {
      collapsed.add(id);
    }
    this._collapsed = collapsed;
    this._emit();
  }

  /**
   * Ids of the selected runs.
   */
  get selection(): ReadonlySet<string> {
    return this._selection;
  }

  /**
   * Selected runs in table order (only loaded ones).
   */
  get selectedRuns(): IRun[] {
    return this._rows.filter(run => this._selection.has(run.id));
  }

  /**
   * Load the experiments and the remembered view, then the first page.
   */
  async start(): Promise<void> {
    if (this._memory) {
      try {
        const saved = (await this._memory.fetch()) as RunsModel.IMemory | null;
        if (saved && typeof saved === 'object') {
          // What the user did while this loaded wins over what was saved.
          const now = this._remembered;
          this._remembered = {
            experimentId:
              now.experimentId ??
              (typeof saved.experimentId === 'string'
                ? saved.experimentId
                : null),
            columns: { ...(saved.columns ?? {}), ...now.columns },
            order: { ...(saved.order ?? {}), ...now.order },
            groupBy: { ...(saved.groupBy ?? {}), ...now.groupBy }
          };
        }
      } catch {
        // Nothing remembered: defaults.
      }
    }
    await this.refreshExperiments();
    const wanted = this._remembered.experimentId;
    const known =
      wanted === RunsModel.ALL_EXPERIMENTS ||
      this._experiments.some(e => e.id === wanted);
    const newest =
      known || this._experimentId !== null
        ? null
        : await this._newestRunExperiment();
    if (this._experimentId !== null) {
      // The user picked an experiment (from a live update's list) while this
      // loaded: switching now would undo their choice and their columns.
      return;
    }
    // An automatic choice is not remembered: the user's choice is.
    await this._showExperiment(
      RunsModel.chooseExperiment(this._experiments, wanted, newest),
      false
    );
  }

  /**
   * The experiment of the most recently started active run, if any.
   */
  private async _newestRunExperiment(): Promise<string | null> {
    try {
      const reply = await this._api.search({
        experiment_ids: [],
        max_results: 1,
        order_by: ['attributes.start_time DESC'],
        view: 'active',
        columns: ['experiment_id']
      });
      return reply.runs[0]?.experiment_id ?? null;
    } catch {
      return null;
    }
  }

  /**
   * Fetch the experiment list again.
   */
  async refreshExperiments(): Promise<void> {
    try {
      this._experiments = await this._api.experiments();
    } catch (error) {
      this._error = errorText(error);
    }
    this._emit();
  }

  /**
   * Columns for experiments without remembered ones (the settings' default).
   */
  setDefaultColumns(columns: ReadonlyArray<string>): void {
    const valid = columns.filter(c => parseColumn(c) !== null);
    if (valid.length > 0) {
      this._defaultColumns = valid;
    }
  }

  /**
   * Show another experiment, with its remembered columns and order.
   */
  async setExperiment(id: string): Promise<void> {
    await this._showExperiment(id, true);
  }

  private async _showExperiment(id: string, remember: boolean): Promise<void> {
    this._experimentId = id;
    this._columns = this._remembered.columns[id]
      ? [...this._remembered.columns[id]]
      : null;
    this._autoColumns = this._baseColumns();
    this._order = this._remembered.order[id] ?? null;
    const groupBy = this._remembered.groupBy[id];
    this._groupBy = groupBy && isGroupKey(groupBy) ? groupBy : null;
    this._collapsed = new Set();
    this._keys = { params: new Set(), metrics: new Set(), tags: new Set() };
    this._selection = new Set();
    this._anchor = null;
    if (remember) {
      this._remembered.experimentId = id;
      this._save();
    }
    void this._discoverKeys(id);
    await this.reload();
  }

  /**
   * Apply a filter (search grammar); the empty string shows every run.
   */
  async setFilter(text: string): Promise<void> {
    this._filter = text.trim();
    await this.reload();
  }

  /**
   * Sort by a column; the same column again flips the direction, a third
   * time returns to the default order (newest first).
   */
  async sortBy(columnId: string): Promise<void> {
    if (orderByClause(columnId, true) === null) {
      return;
    }
    const current = this._order;
    if (!current || current.column !== columnId) {
      this._order = { column: columnId, ascending: true };
    } else if (current.ascending) {
      this._order = { column: columnId, ascending: false };
    } else {
      this._order = null;
    }
    this._rememberView();
    await this.reload();
  }

  /**
   * Set the order directly (null: newest first).
   */
  async setOrder(order: RunsModel.IOrder | null): Promise<void> {
    this._order = order;
    this._rememberView();
    await this.reload();
  }

  /**
   * Choose the shown columns (column ids, in order).
   */
  async setColumns(columns: ReadonlyArray<string>): Promise<void> {
    const chosen = columns.filter(c => parseColumn(c) !== null);
    this._columns = chosen;
    if (
      this._order &&
      !chosen.includes(this._order.column) &&
      this._order.column !== 'attributes.start_time'
    ) {
      this._order = null;
    }
    this._rememberView();
    await this.reload();
  }

  /**
   * Show or hide a column. `show` is what the user asked for: the default
   * columns follow live runs, so a toggle of whatever is shown by the time the
   * click lands could undo it.
   */
  async toggleColumn(columnId: string, show?: boolean): Promise<void> {
    const shown = this.columns;
    const wanted = show ?? !shown.includes(columnId);
    if (wanted === shown.includes(columnId)) {
      if (this._columns === null) {
        await this.setColumns(shown); // the defaults, now the user's choice
      }
      return;
    }
    const columns = wanted
      ? withColumn(shown, columnId)
      : shown.filter(c => c !== columnId);
    await this.setColumns(columns);
  }

  /**
   * Include deleted runs (shown struck through, restorable).
   */
  async setShowDeleted(show: boolean): Promise<void> {
    this._showDeleted = show;
    await this.reload();
  }

  /**
   * Drop the loaded rows and fetch the first page again. The old rows stay
   * on screen until the new page arrives.
   */
  async reload(): Promise<void> {
    if (this._experimentId === null || this._isDisposed) {
      return;
    }
    const generation = ++this._generation;
    this._loading = true;
    this._error = null;
    this._emit();
    try {
      const reply = await this._api.search(
        this._query({ max_results: this._pageSize })
      );
      if (generation !== this._generation) {
        return;
      }
      this._rows = [];
      this._ids = new Set();
      this._append(reply.runs);
      this._nextToken = reply.next_page_token;
      this._filterError = null;
      const loaded = this._ids;
      this._selection = new Set(
        [...this._selection].filter(id => loaded.has(id))
      );
    } catch (error) {
      if (generation !== this._generation) {
        return;
      }
      this._rows = [];
      this._ids = new Set();
      this._nextToken = null;
      const message = errorText(error);
      const at = this._filter ? filterErrorAt(error) : null;
      if (at) {
        this._filterError = { message: firstLine(message), ...at };
      } else {
        this._filterError = null;
        this._error = message;
      }
    } finally {
      if (generation === this._generation) {
        this._loading = false;
        this._emit();
      }
    }
  }

  /**
   * Make sure the rows up to `index` are loaded (or being loaded). Called by
   * the table for its last visible row; fetches a page ahead, or a larger one
   * when the user jumped far down, never more than needed.
   */
  ensureLoaded(index: number): void {
    if (
      this._loading ||
      this._nextToken === null ||
      this._isDisposed ||
      index + this._pageSize / 2 < this._rows.length
    ) {
      return;
    }
    const wanted = Math.min(
      RunsModel.MAX_PAGE,
      Math.max(this._pageSize, index + this._pageSize - this._rows.length)
    );
    void this._loadMore(wanted);
  }

  /**
   * Handle one event of the server's event bus (schema
   * `https://events.jupyter.org/jupyter_mm/store/v1`). Events are coalesced:
   * the runs they name are fetched together a moment later, only those.
   */
  handleEvent(event: IStoreEvent): void {
    if (this._isDisposed || typeof event.run_id !== 'string') {
      return;
    }
    if (this._gaps.missedBefore(event)) {
      // The WebSocket dropped or the server restarted: what changed meanwhile
      // is unknown, so load the rows again (this event included).
      void this.refreshExperiments();
      void this.reload();
      return;
    }
    if (
      event.experiment_id !== undefined &&
      !this._experiments.some(e => e.id === event.experiment_id) &&
      !this._listingExperiments
    ) {
      // A new experiment: the picker should offer it (one request at a time).
      this._listingExperiments = true;
      void this.refreshExperiments().finally(() => {
        this._listingExperiments = false;
      });
    }
    if (
      this._experimentId === null ||
      (event.experiment_id !== undefined &&
        !this.allExperiments &&
        event.experiment_id !== this._experimentId)
    ) {
      return;
    }
    if (event.action === 'metrics-appended' && Array.isArray(event.keys)) {
      for (const key of event.keys) {
        this._keys.metrics.add(key);
      }
    }
    this._pending.add(event.run_id);
    if (this._timer === null && !this._flushing) {
      this._timer = setTimeout(() => {
        this._timer = null;
        void this.flush();
      }, this._coalesceMs);
    }
  }

  /**
   * Fetch the runs named by pending events and patch them into the rows:
   * update loaded ones in place, insert new ones where the order puts them,
   * drop those that no longer match (deleted, filtered out).
   */
  async flush(): Promise<void> {
    if (this._timer !== null) {
      clearTimeout(this._timer);
      this._timer = null;
    }
    if (this._flushing || this._pending.size === 0 || this._isDisposed) {
      return;
    }
    this._flushing = true;
    const ids = [...this._pending].slice(0, RunsModel.MAX_PAGE);
    for (const id of ids) {
      this._pending.delete(id);
    }
    const generation = this._generation;
    try {
      const clause = `attributes.run_id IN (${ids.map(quoteString).join(', ')})`;
      const reply = await this._api.search(
        this._query({
          max_results: ids.length,
          filter: this._filter ? `${clause} AND (${this._filter})` : clause
        })
      );
      if (generation === this._generation) {
        this._patch(ids, reply.runs);
      }
    } catch {
      // A later event or a reload brings them.
    } finally {
      this._flushing = false;
      if (this._pending.size > 0) {
        void this.flush();
      }
    }
  }

  /**
   * Replace one run's row (after an action changed it).
   */
  updateRun(run: IRun): void {
    const index = this._rows.findIndex(r => r.id === run.id);
    if (index < 0) {
      return;
    }
    const rows = this._rows.slice();
    rows[index] = { ...rows[index], ...run };
    if (!this._showDeleted && run.lifecycle_stage === 'deleted') {
      rows.splice(index, 1);
      this._ids.delete(run.id);
      this._selection.delete(run.id);
    }
    this._rows = rows;
    this._emit();
  }

  /**
   * Click on a row: `single` selects only it, `toggle` (ctrl/cmd) adds or
   * removes it, `range` (shift) selects from the last clicked row to it.
   */
  select(runId: string, mode: 'single' | 'toggle' | 'range' = 'single'): void {
    const index = this._rows.findIndex(r => r.id === runId);
    if (index < 0) {
      return;
    }
    if (mode === 'toggle') {
      const selection = new Set(this._selection);
      if (selection.has(runId)) {
        selection.delete(runId);
      } else {
        selection.add(runId);
      }
      this._selection = selection;
      this._anchor = runId;
    } else if (mode === 'range' && this._anchor !== null) {
      // In the order shown (grouped: the runs of the open groups); a run
      // not shown (in a folded group) is selected alone.
      const shown = this.shownRuns;
      const at = shown.findIndex(r => r.id === runId);
      const anchor = shown.findIndex(r => r.id === this._anchor);
      if (at < 0) {
        this._selection = new Set([runId]);
      } else {
        const from = anchor < 0 ? at : Math.min(anchor, at);
        const to = anchor < 0 ? at : Math.max(anchor, at);
        this._selection = new Set(shown.slice(from, to + 1).map(run => run.id));
      }
    } else {
      this._selection = new Set([runId]);
      this._anchor = runId;
    }
    this._emit();
  }

  /**
   * The runs in the order the table shows them: grouped, those of the groups
   * not collapsed.
   */
  get shownRuns(): ReadonlyArray<IRun> {
    const items = this.groupedItems;
    if (!items) {
      return this._rows;
    }
    const runs: IRun[] = [];
    for (const item of items) {
      if (item.kind === 'run') {
        runs.push(item.run);
      }
    }
    return runs;
  }

  /**
   * Select every loaded run.
   */
  selectAll(): void {
    this._selection = new Set(this._rows.map(r => r.id));
    this._emit();
  }

  clearSelection(): void {
    this._selection = new Set();
    this._anchor = null;
    this._emit();
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    if (this._timer !== null) {
      clearTimeout(this._timer);
      this._timer = null;
    }
    Signal.clearData(this);
  }

  private _query(overrides: Partial<ISearchQuery>): ISearchQuery {
    const order: string[] = [];
    if (this._order) {
      const clause = orderByClause(this._order.column, this._order.ascending);
      if (clause) {
        order.push(clause);
      }
    }
    // Automatic columns need every metric and param, to see which differ;
    // grouping needs the group key.
    const group = this._groupBy ? [this._groupBy] : [];
    const columns = this._columns
      ? serverColumns([...this._columns, ...group])
      : [
          ...serverColumns([...this._autoColumns, ...group]),
          'params.*',
          'metrics.*'
        ];
    const query: ISearchQuery = {
      experiment_ids: this._experimentIds(this._experimentId ?? '0'),
      order_by: order,
      view: this._showDeleted ? 'all' : 'active',
      columns,
      ...overrides
    };
    const filter = overrides.filter ?? this._filter;
    if (filter) {
      query.filter = filter;
    } else {
      delete query.filter;
    }
    return query;
  }

  private async _loadMore(count: number): Promise<void> {
    const generation = this._generation;
    this._loading = true;
    this._emit();
    try {
      const reply = await this._api.search(
        this._query({ max_results: count, page_token: this._nextToken })
      );
      if (generation !== this._generation) {
        return;
      }
      this._rows = this._rows.slice();
      this._append(reply.runs);
      this._nextToken = reply.next_page_token;
    } catch (error) {
      if (generation === this._generation) {
        this._error = errorText(error);
        this._nextToken = null;
      }
    } finally {
      if (generation === this._generation) {
        this._loading = false;
        this._emit();
      }
    }
  }

  /**
   * Append a page to `_rows` (already copied), skipping runs already shown
   * (a live insertion shifts the server's offsets by one).
   */
  private _append(runs: IRun[]): void {
    for (const run of runs) {
      if (this._ids.has(run.id)) {
        continue;
      }
      this._ids.add(run.id);
      this._rows.push(run);
      this._learnKeys(run);
    }
  }

  private _patch(ids: string[], runs: IRun[]): void {
    const found = new Map(runs.map(run => [run.id, run]));
    let rows = this._rows.slice();
    let changed = false;
    // Loaded rows: update or drop.
    for (const id of ids) {
      if (!this._ids.has(id)) {
        continue;
      }
      const index = rows.findIndex(r => r.id === id);
      const run = found.get(id);
      if (run) {
        rows[index] = run;
        this._learnKeys(run);
      } else {
        rows.splice(index, 1);
        this._ids.delete(id);
        this._selection.delete(id);
      }
      changed = true;
    }
    // New runs: insert where the order puts them among the loaded rows.
    const order = this._order ?? {
      column: 'attributes.start_time',
      ascending: false
    };
    for (const run of runs) {
      if (this._ids.has(run.id)) {
        continue;
      }
      let index = rows.findIndex(
        row => compareRuns(run, row, order.column, order.ascending) < 0
      );
      if (index < 0) {
        if (this._nextToken !== null) {
          continue; // beyond the loaded rows: a later page brings it
        }
        index = rows.length;
      }
      rows = [...rows.slice(0, index), run, ...rows.slice(index)];
      this._ids.add(run.id);
      this._learnKeys(run);
      changed = true;
    }
    if (changed) {
      this._rows = rows;
      this._emit();
    }
  }

  private _learnKeys(run: IRun): void {
    for (const section of ['params', 'metrics', 'tags'] as const) {
      const values = run[section];
      if (values) {
        for (const key of Object.keys(values)) {
          this._keys[section].add(key);
        }
      }
    }
  }

  /**
   * Learn the param, metric and tag keys of the shown experiment from its
   * most recent runs (the column chooser calls it when it opens).
   */
  discoverKeys(): Promise<void> {
    return this._experimentId === null
      ? Promise.resolve()
      : this._discoverKeys(this._experimentId);
  }

  /**
   * Learn the keys of the experiment from its most recent runs, so the
   * column chooser offers them before they are shown.
   */
  private async _discoverKeys(experimentId: string): Promise<void> {
    try {
      const reply = await this._api.search({
        experiment_ids: this._experimentIds(experimentId),
        max_results: RunsModel.DISCOVERY_RUNS,
        view: 'all',
        columns: ['params.*', 'metrics.*', 'tags.*']
      });
      if (experimentId !== this._experimentId) {
        return;
      }
      for (const run of reply.runs) {
        this._learnKeys(run);
      }
      this._emit();
    } catch {
      // The loaded rows still teach their keys.
    }
  }

  /**
   * The search's `experiment_ids` for a picker choice (none: every one).
   */
  private _experimentIds(id: string): string[] {
    return id === RunsModel.ALL_EXPERIMENTS ? [] : [id];
  }

  /**
   * The default columns, with the experiment's name across experiments.
   */
  private _baseColumns(): string[] {
    const base = this._defaultColumns.filter(
      c => c !== 'attributes.experiment'
    );
    if (this.allExperiments) {
      const at = base.indexOf('attributes.name');
      base.splice(at < 0 ? base.length : at + 1, 0, 'attributes.experiment');
    }
    return base;
  }

  private _rememberView(): void {
    const id = this._experimentId;
    if (id === null) {
      return;
    }
    if (this._columns) {
      this._remembered.columns[id] = [...this._columns];
    }
    if (this._order) {
      this._remembered.order[id] = this._order;
    } else {
      delete this._remembered.order[id];
    }
    if (this._groupBy) {
      this._remembered.groupBy[id] = this._groupBy;
    } else {
      delete this._remembered.groupBy[id];
    }
    this._save();
  }

  private _save(): void {
    if (this._memory) {
      void this._memory
        .save({
          experimentId: this._remembered.experimentId,
          columns: this._remembered.columns,
          order: this._remembered.order,
          groupBy: this._remembered.groupBy
        })
        .catch(() => undefined);
    }
  }

  /**
   * The groups and lines of the grouped table, cached for what they are
   * made of (the rows array is replaced on every change, never mutated).
   */
  private _grouped(): {
    groups: IRunGroup[];
    items: GroupedItem[];
  } | null {
    const by = this._groupBy;
    if (by === null) {
      return null;
    }
    const columns = this.columns;
    const cache = this._groupCache;
    if (
      cache &&
      cache.rows === this._rows &&
      cache.by === by &&
      cache.columns === columns &&
      cache.collapsed === this._collapsed
    ) {
      return cache;
    }
    const metrics = columns
      .filter(c => c.startsWith('metrics.'))
      .map(c => c.slice('metrics.'.length));
    const groups =
      cache &&
      cache.rows === this._rows &&
      cache.by === by &&
      cache.columns === columns
        ? cache.groups
        : groupRuns(this._rows, by, metrics);
    this._groupCache = {
      rows: this._rows,
      by,
      columns,
      collapsed: this._collapsed,
      groups,
      items: groupedItems(groups, this._collapsed)
    };
    return this._groupCache;
  }

  private _emit(): void {
    if (this._columns === null) {
      // The top rows decide (what is in view), so a long list costs no more.
      const auto = [
        ...this._baseColumns(),
        ...differingColumns(this._rows.slice(0, RunsModel.DISCOVERY_RUNS))
      ];
      if (auto.join('\n') !== this._autoColumns.join('\n')) {
        this._autoColumns = auto;
      }
    }
    if (!this._isDisposed) {
      this._changed.emit();
    }
  }

  private _api: IRunsApi;
  private _pageSize: number;
  private _coalesceMs: number;
  private _memory: RunsModel.IMemoryStore | null;
  private _defaultColumns: string[];
  private _remembered: RunsModel.IMemory = {
    experimentId: null,
    columns: {},
    order: {},
    groupBy: {}
  };
  private _groupBy: string | null = null;
  private _collapsed: ReadonlySet<string> = new Set();
  private _groupCache: {
    rows: ReadonlyArray<IRun>;
    by: string;
    columns: ReadonlyArray<string>;
    collapsed: ReadonlySet<string>;
    groups: IRunGroup[];
    items: GroupedItem[];
  } | null = null;
  private _experiments: IExperiment[] = [];
  private _experimentId: string | null = null;
  private _rows: IRun[] = [];
  private _ids = new Set<string>();
  private _nextToken: string | null = null;
  private _loading = false;
  private _error: string | null = null;
  private _filter = '';
  private _filterError: RunsModel.IFilterError | null = null;
  private _columns: string[] | null = null;
  private _autoColumns: string[] = [...DEFAULT_COLUMNS];
  private _order: RunsModel.IOrder | null = null;
  private _showDeleted = false;
  private _keys = {
    params: new Set<string>(),
    metrics: new Set<string>(),
    tags: new Set<string>()
  };
  private _selection = new Set<string>();
  private _anchor: string | null = null;
  private _generation = 0;
  private _pending = new Set<string>();
  private _timer: ReturnType<typeof setTimeout> | null = null;
  private _gaps = new EventGaps();
  private _flushing = false;
  private _listingExperiments = false;
  private _isDisposed = false;
  private _changed = new Signal<this, void>(this);
}

export namespace RunsModel {
  /**
   * Runs per page when scrolling.
   */
  export const PAGE_SIZE = 200;
  /**
   * Largest page asked for at once (a jump to the end of a long list).
   */
  export const MAX_PAGE = 5000;
  /**
   * Events arriving within this many milliseconds are fetched together.
   */
  export const COALESCE_MS = 150;
  /**
   * How many recent runs are read to discover the keys of an experiment.
   */
  export const DISCOVERY_RUNS = 200;

  /**
   * The picker's choice that shows the runs of every experiment.
   */
  export const ALL_EXPERIMENTS = '*';

  /**
   * The experiment the panel opens on: the remembered one while it exists,
   * else the one with the newest run, else Default (or the first active).
   */
  export function chooseExperiment(
    experiments: ReadonlyArray<IExperiment>,
    remembered: string | null,
    newestRun: string | null
  ): string {
    if (
      remembered === ALL_EXPERIMENTS ||
      (remembered && experiments.some(e => e.id === remembered))
    ) {
      return remembered;
    }
    const active = experiments.filter(e => e.lifecycle_stage !== 'deleted');
    if (newestRun && active.some(e => e.id === newestRun)) {
      return newestRun;
    }
    return active.some(e => e.id === '0') ? '0' : (active[0]?.id ?? '0');
  }

  export interface IOptions {
    api: IRunsApi;
    pageSize?: number;
    coalesceMs?: number;
    /**
     * Where the chosen experiment, columns and order are remembered.
     */
    memory?: IMemoryStore | null;
    /**
     * Columns of an experiment without remembered ones.
     */
    defaultColumns?: ReadonlyArray<string>;
  }

  export interface IOrder {
    column: string;
    ascending: boolean;
  }

  export interface IFilterError {
    message: string;
    /**
     * Character offset in the filter, when the server said.
     */
    position: number | null;
  }

  export interface IKeys {
    params: string[];
    metrics: string[];
    tags: string[];
  }

  /**
   * What is remembered between sessions.
   */
  export interface IMemory {
    experimentId: string | null;
    columns: Record<string, string[]>;
    order: Record<string, IOrder>;
    /**
     * The group key of each experiment grouped.
     */
    groupBy: Record<string, string>;
  }

  /**
   * A place to keep IMemory (IStateDB in JupyterLab).
   */
  export interface IMemoryStore {
    fetch(): Promise<unknown>;
    save(value: IMemory): Promise<void>;
  }
}
