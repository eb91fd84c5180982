import * as React from 'react';

import { ReactWidget } from '@jupyterlab/ui-components';
import { CommandRegistry } from '@lumino/commands';
import { useVirtualizer } from '@tanstack/react-virtual';

import { IRun } from './schema';
import {
  ATTRIBUTE_COLUMNS,
  cellText,
  clashingNames,
  columnLabel,
  fitColumnWidth,
  fitTextWidth,
  isSortable,
  shortId,
  statusLabel
} from './columns';
import { CommandIDs } from './commandIds';
import { useRerenderOn } from './hooks';
import { GroupedItem, IRunGroup, formatStats, isUserTag } from './grouping';
import { GroupByOptions } from './groupByOptions';
import { RunsModel } from './runsModel';

/**
 * Height of a table row, in pixels (fixed: the virtualizer needs no measuring).
 */
export const ROW_HEIGHT = 24;

const KNOWN_STATUSES = new Set([
  'running',
  'finished',
  'failed',
  'killed',
  'scheduled'
]);

/**
 * Layout of the table's columns: widths fitted to the loaded rows, and the
 * columns up to the name one stuck to the left edge (with their offset).
 */
export interface ITableLayout {
  widths: Record<string, number>;
  sticky: Record<string, number>;
  width: number;
}

/**
 * Lay out the columns for the given runs (see ITableLayout), and for the
 * groups' header rows when grouped: their metric stats, and their label in
 * the columns up to the name one.
 */
export function tableLayout(
  columns: ReadonlyArray<string>,
  runs: ReadonlyArray<IRun>,
  clashing: ReadonlySet<string>,
  groups: ReadonlyArray<IRunGroup> | null = null
): ITableLayout {
  const widths: Record<string, number> = {};
  const sticky: Record<string, number> = {};
  const nameAt = columns.indexOf('attributes.name');
  const labelAt = Math.max(nameAt, 0);
  let width = 0;
  columns.forEach((id, index) => {
    const extra =
      id === 'attributes.name'
        ? (run: IRun) => (clashing.has(run.id) ? ` ${shortId(run.id)}` : '')
        : undefined;
    widths[id] = fitColumnWidth(id, runs, extra);
    for (const group of groups ?? []) {
      const chars =
        index === labelAt
          ? groupLabelText(group).length + 2
          : id.startsWith('metrics.')
            ? formatStats(group.metrics[id.slice(8)] ?? null).length
            : 0;
      widths[id] = Math.max(widths[id], fitTextWidth(chars));
    }
    if (index <= nameAt) {
      sticky[id] = width;
    }
    width += widths[id];
  });
  return { widths, sticky, width };
}

/**
 * A run's status as a coloured badge (the colour comes from the class; the
 * text is always a text node).
 */
export function StatusBadge(props: { status?: string }): JSX.Element {
  const label = statusLabel(props.status);
  const kind = KNOWN_STATUSES.has(label) ? label : 'unknown';
  return (
    <span className={`jp-mm-runs-badge jp-mm-runs-badge-${kind}`} title={label}>
      {label}
    </span>
  );
}

/**
 * The filter as text with the character the server stopped at marked.
 */
export function FilterError(props: {
  filter: string;
  error: RunsModel.IFilterError;
}): JSX.Element {
  const { filter, error } = props;
  const at = error.position;
  return (
    <div className="jp-mm-filter-error" role="alert">
      <div className="jp-mm-filter-error-message">{error.message}</div>
      {at !== null && (
        <code className="jp-mm-filter-error-text">
          {filter.slice(0, at)}
          <mark className="jp-mm-filter-error-at">
            {filter.slice(at, at + 1) || ' '}
          </mark>
          {filter.slice(at + 1)}
        </code>
      )}
    </div>
  );
}

/**
 * The column chooser: attributes, then every param, metric and tag key seen.
 */
export function ColumnChooser(props: {
  model: RunsModel;
  onClose: () => void;
}): JSX.Element {
  const { model, onClose } = props;
  const [search, setSearch] = React.useState('');
  React.useEffect(() => {
    void model.discoverKeys();
  }, [model]);
  const keys = model.keys;
  const chosen = new Set(model.columns);
  const needle = search.toLowerCase();
  const groups: Array<{ title: string; ids: string[] }> = [
    {
      title: 'Attributes',
      ids: ATTRIBUTE_COLUMNS.map(a => `attributes.${a.key}`)
    },
    { title: 'Metrics', ids: keys.metrics.map(k => `metrics.${k}`) },
    { title: 'Params', ids: keys.params.map(k => `params.${k}`) },
    { title: 'Tags', ids: keys.tags.map(k => `tags.${k}`) }
  ];
  return (
    <div
      className="jp-mm-columns"
      role="dialog"
      aria-label="Choose columns"
      onKeyDown={event => {
        if (event.key === 'Escape') {
          event.stopPropagation();
          onClose();
        }
      }}
    >
      <input
        className="jp-mm-columns-search jp-mod-styled"
        placeholder="Find a column"
        aria-label="Find a column"
        value={search}
        autoFocus
        onChange={event => setSearch(event.target.value)}
      />
      <div className="jp-mm-columns-list">
        {groups.map(group => {
          const ids = group.ids.filter(
            id => !needle || columnLabel(id).toLowerCase().includes(needle)
          );
          if (ids.length === 0) {
            return null;
          }
          return (
            <fieldset key={group.title} className="jp-mm-columns-group">
              <legend>{group.title}</legend>
              {ids.map(id => (
                <label key={id} className="jp-mm-columns-item" title={id}>
                  <input
                    type="checkbox"
                    checked={chosen.has(id)}
                    onChange={event =>
                      void model.toggleColumn(id, event.target.checked)
                    }
                  />
                  <span>{columnLabel(id)}</span>
                </label>
              ))}
            </fieldset>
          );
        })}
      </div>
      <div className="jp-mm-columns-footer">
        <button className="jp-mm-runs-button jp-mod-styled" onClick={onClose}>
          Done
        </button>
      </div>
    </div>
  );
}

/**
 * One row of the run table.
 */
const RunRow = React.memo(
  (props: {
    run: IRun;
    index: number;
    columns: ReadonlyArray<string>;
    layout: ITableLayout;
    clashing: boolean;
    selected: boolean;
    focused: boolean;
    top: number;
    width: number;
    onMouseDown: (event: React.MouseEvent, run: IRun, index: number) => void;
    onDoubleClick: (run: IRun) => void;
  }): JSX.Element => {
    const { run, columns, selected, focused } = props;
    const deleted = run.lifecycle_stage === 'deleted';
    let className = 'jp-mm-runs-row';
    if (selected) {
      className += ' jp-mod-selected';
    }
    if (focused) {
      className += ' jp-mod-active';
    }
    if (deleted) {
      className += ' jp-mm-mod-deleted';
    }
    return (
      <div
        className={className}
        role="row"
        aria-selected={selected}
        aria-rowindex={props.index + 2}
        data-run-id={run.id}
        data-index={props.index}
        style={{
          transform: `translateY(${props.top}px)`,
          width: props.width,
          height: ROW_HEIGHT
        }}
        onMouseDown={event => props.onMouseDown(event, run, props.index)}
        onDoubleClick={() => props.onDoubleClick(run)}
      >
        {columns.map(id => {
          const text = cellText(run, id);
          const left = props.layout.sticky[id];
          const clash = props.clashing && id === 'attributes.name';
          return (
            <div
              key={id}
              className={
                'jp-mm-runs-cell' +
                (left !== undefined ? ' jp-mm-mod-sticky' : '')
              }
              role="gridcell"
              data-column={id}
              style={{ width: props.layout.widths[id], left }}
              title={clash ? `${text} (${run.id})` : text}
            >
              {id === 'attributes.status' ? (
                <StatusBadge status={run.status} />
              ) : (
                text
              )}
              {clash && (
                <span className="jp-mm-runs-shortid">{shortId(run.id)}</span>
              )}
            </div>
          );
        })}
      </div>
    );
  }
);

/**
 * A group header's label: its value and its number of runs.
 */
export function groupLabelText(group: IRunGroup): string {
  const n = group.runs.length;
  return `${group.label} · ${n} run${n === 1 ? '' : 's'}`;
}

/**
 * A group's header row: toggle and label in the first columns (up to the
 * name), each metric column's mean (min–max) over the group's loaded runs.
 */
const GroupRow = React.memo(
  (props: {
    group: IRunGroup;
    collapsed: boolean;
    index: number;
    columns: ReadonlyArray<string>;
    layout: ITableLayout;
    focused: boolean;
    top: number;
    width: number;
    onToggle: (id: string, index: number) => void;
  }): JSX.Element => {
    const { group, columns, layout } = props;
    const labelAt = Math.max(columns.indexOf('attributes.name'), 0);
    const labelWidth = columns
      .slice(0, labelAt + 1)
      .reduce((sum, id) => sum + layout.widths[id], 0);
    return (
      <div
        className={
          'jp-mm-runs-row jp-mm-runs-group' +
          (props.focused ? ' jp-mod-active' : '')
        }
        role="row"
        aria-expanded={!props.collapsed}
        aria-rowindex={props.index + 2}
        data-group={group.label}
        data-index={props.index}
        style={{
          transform: `translateY(${props.top}px)`,
          width: props.width,
          height: ROW_HEIGHT
        }}
        onMouseDown={event => {
          if (event.button === 0) {
            event.preventDefault();
            props.onToggle(group.id, props.index);
          }
        }}
      >
        <div
          className="jp-mm-runs-cell jp-mm-mod-sticky jp-mm-runs-group-label"
          role="rowheader"
          style={{ width: labelWidth, left: 0 }}
          title={`${group.label}: ${group.runs.length} loaded run${group.runs.length === 1 ? '' : 's'}`}
        >
          <span className="jp-mm-runs-group-toggle" aria-hidden={true}>
            {props.collapsed ? '▸' : '▾'}
          </span>
          <span className="jp-mm-runs-group-value">{group.label}</span>
          <span className="jp-mm-runs-group-count">
            {` · ${group.runs.length} run${group.runs.length === 1 ? '' : 's'}`}
          </span>
        </div>
        {columns.slice(labelAt + 1).map(id => {
          const metric = id.startsWith('metrics.')
            ? (group.metrics[id.slice(8)] ?? null)
            : null;
          const text = formatStats(metric);
          return (
            <div
              key={id}
              className="jp-mm-runs-cell"
              role="gridcell"
              data-column={id}
              style={{ width: layout.widths[id] }}
              title={
                metric
                  ? `mean ${metric.mean}, min ${metric.min}, max ${metric.max} over ${metric.count} run${metric.count === 1 ? '' : 's'}`
                  : undefined
              }
            >
              {text}
            </div>
          );
        })}
      </div>
    );
  }
);

/**
 * The "Group by" picker: none, or a param or tag seen in the runs.
 */
export function GroupByPicker(props: { model: RunsModel }): JSX.Element {
  const { model } = props;
  const keys = model.keys;
  const ids = [
    ...keys.params.map(k => `params.${k}`),
    ...keys.tags.filter(isUserTag).map(k => `tags.${k}`)
  ];
  const current = model.groupBy;
  if (current && !ids.includes(current)) {
    ids.push(current);
  }
  return (
    <PanelSelect
      className="jp-mm-runs-groupby"
      label="Group by"
      value={current ?? ''}
      onChange={value => void model.setGroupBy(value || null)}
    >
      <GroupByOptions keys={ids} />
    </PanelSelect>
  );
}

/**
 * A labelled select of the panel's controls (experiment, group by).
 */
function PanelSelect(props: {
  className: string;
  label: string;
  value: string;
  onChange: (value: string) => void;
  children: React.ReactNode;
}): JSX.Element {
  return (
    <label className={props.className}>
      <span className="jp-mm-runs-label">{props.label}</span>
      <div className="jp-select-wrapper jp-mm-select">
        <select
          className="jp-mod-styled"
          aria-label={props.label}
          value={props.value}
          onChange={event => props.onChange(event.target.value)}
        >
          {props.children}
        </select>
      </div>
    </label>
  );
}

/**
 * The sidebar's run panel: experiment picker, filter, actions and the
 * virtualized run table. Every value is rendered as a text node.
 */
export function RunsPanelView(props: {
  model: RunsModel;
  commands: CommandRegistry;
}): JSX.Element {
  const { model, commands } = props;
  const [draft, setDraft] = React.useState(model.filter);
  const [choosing, setChoosing] = React.useState(false);
  const [focusIndex, setFocusIndex] = React.useState(-1);
  const scrollRef = React.useRef<HTMLDivElement>(null);
  const filterRef = React.useRef<HTMLInputElement>(null);

  useRerenderOn(model.changed);
  useRerenderOn(commands.commandChanged);

  const rows = model.rows;
  const columns = model.columns;
  const complete = model.complete;
  const groups = model.groups;
  const grouped = model.groupedItems;
  // The table's lines: the runs, or grouped, group headers and their runs.
  const lineCount = grouped ? grouped.length : rows.length;
  const lineAt = (index: number): GroupedItem | undefined =>
    grouped
      ? grouped[index]
      : rows[index]
        ? { kind: 'run', run: rows[index], group: null }
        : undefined;
  const clashing = React.useMemo(() => clashingNames(rows), [rows]);
  const layout = React.useMemo(
    () => tableLayout(columns, rows, clashing, groups),
    [columns, rows, clashing, groups]
  );
  const width = layout.width;

  const virtualizer = useVirtualizer({
    count: lineCount + (complete ? 0 : 1),
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12,
    initialRect: { width: 300, height: 600 }
  });
  const items = virtualizer.getVirtualItems();
  const last = items.length > 0 ? items[items.length - 1].index : 0;

  // Grouped, the last line shown may come from an earlier row: read on
  // while the table's end is in view.
  const wanted = grouped && last >= lineCount - 1 ? rows.length : last;
  React.useEffect(() => {
    model.ensureLoaded(wanted);
  }, [model, wanted, rows.length, complete]);

  // Put the caret where the server stopped reading the filter.
  const filterError = model.filterError;
  React.useEffect(() => {
    const input = filterRef.current;
    if (filterError && filterError.position !== null && input) {
      const at = Math.min(filterError.position, input.value.length);
      input.setSelectionRange(at, at);
    }
  }, [filterError]);

  const selection = model.selection;

  const onMouseDown = React.useCallback(
    (event: React.MouseEvent, run: IRun, index: number) => {
      if (event.button === 2) {
        // Right click: keep a selection that holds the row (for the menu).
        if (!model.selection.has(run.id)) {
          model.select(run.id, 'single');
        }
      } else if (event.shiftKey) {
        event.preventDefault(); // no text selection
        model.select(run.id, 'range');
      } else if (event.ctrlKey || event.metaKey) {
        model.select(run.id, 'toggle');
      } else {
        model.select(run.id, 'single');
      }
      setFocusIndex(index);
    },
    [model]
  );
  const onDoubleClick = React.useCallback(
    (run: IRun) => {
      if (commands.hasCommand(CommandIDs.openRun)) {
        void commands.execute(CommandIDs.openRun, { runId: run.id });
      }
    },
    [commands]
  );

  const onToggleGroup = React.useCallback(
    (id: string, index: number) => {
      model.toggleGroup(id);
      setFocusIndex(index);
    },
    [model]
  );

  const onKeyDown = (event: React.KeyboardEvent) => {
    if (lineCount === 0) {
      return;
    }
    const move = (to: number) => {
      const index = Math.max(0, Math.min(lineCount - 1, to));
      setFocusIndex(index);
      const line = lineAt(index);
      if (line?.kind === 'run') {
        model.select(line.run.id, event.shiftKey ? 'range' : 'single');
      }
      virtualizer.scrollToIndex(index);
      event.preventDefault();
    };
    const current = focusIndex < 0 ? -1 : focusIndex;
    const focused = current >= 0 ? lineAt(current) : undefined;
    if (focused?.kind === 'group') {
      // A group header: Enter, Space and the arrows sideways open or close it.
      const open =
        (event.key === 'ArrowRight' && focused.collapsed) ||
        (event.key === 'ArrowLeft' && !focused.collapsed) ||
        event.key === ' ' ||
        event.key === 'Enter';
      if (open) {
        model.toggleGroup(focused.group.id);
        event.preventDefault();
        return;
      }
    }
    // The line each navigation key moves the focus to (a page is 20 lines).
    const targets: Partial<Record<string, number>> = {
      ArrowDown: current + 1,
      ArrowUp: current - 1,
      Home: 0,
      End: lineCount - 1,
      PageDown: current + 20,
      PageUp: current - 20
    };
    const target = targets[event.key];
    if (target !== undefined) {
      move(target);
      return;
    }
    switch (event.key) {
      case ' ':
        if (focused?.kind === 'run') {
          model.select(focused.run.id, 'toggle');
          event.preventDefault();
        }
        break;
      case 'Enter':
        if (commands.isEnabled(CommandIDs.openSelected)) {
          void commands.execute(CommandIDs.openSelected);
          event.preventDefault();
        }
        break;
      case 'a':
        if (event.ctrlKey || event.metaKey) {
          model.selectAll();
          event.preventDefault();
        }
        break;
    }
  };

  const action = (id: string, label: string) => (
    <button
      key={id}
      className="jp-mm-runs-button jp-mod-styled"
      data-command={id}
      disabled={!commands.isEnabled(id)}
      title={commands.caption(id) || label}
      onClick={() => void commands.execute(id)}
    >
      {label}
    </button>
  );

  const order = model.order;
  const experiments = model.experiments.filter(
    e => e.lifecycle_stage !== 'deleted' || e.id === model.experimentId
  );

  return (
    <div className="jp-mm-runs">
      <div className="jp-mm-runs-controls">
        <PanelSelect
          className="jp-mm-runs-experiment"
          label="Experiment"
          value={model.experimentId ?? ''}
          onChange={value => void model.setExperiment(value)}
        >
          {experiments.map(e => (
            <option key={e.id} value={e.id}>
              {e.name}
            </option>
          ))}
          <option value={RunsModel.ALL_EXPERIMENTS}>All experiments</option>
        </PanelSelect>
        <GroupByPicker model={model} />
        <form
          className="jp-mm-runs-filter"
          role="search"
          onSubmit={event => {
            event.preventDefault();
            void model.setFilter(draft);
          }}
        >
          <input
            ref={filterRef}
            className="jp-mm-runs-filter-input jp-mod-styled"
            type="search"
            placeholder="Filter: metrics.auc > 0.8 AND params.model = 'lr'"
            aria-label="Filter runs"
            aria-invalid={filterError !== null}
            spellCheck={false}
            value={draft}
            onChange={event => setDraft(event.target.value)}
            onKeyDown={event => {
              if (event.key === 'Escape' && draft) {
                event.stopPropagation();
                setDraft('');
                void model.setFilter('');
              }
            }}
          />
        </form>
        {filterError && (
          <FilterError filter={model.filter} error={filterError} />
        )}
        <div
          className="jp-mm-runs-actions"
          role="toolbar"
          aria-label="Run actions"
        >
          {action(CommandIDs.openSelected, 'Open')}
          {action(CommandIDs.compareSelected, 'Compare')}
          {action(CommandIDs.openCharts, 'Charts')}
          {action(CommandIDs.diffSelected, 'Diff')}
          <button
            className="jp-mm-runs-button jp-mod-styled"
            aria-expanded={choosing}
            onClick={() => setChoosing(!choosing)}
          >
            Columns
          </button>
          <label className="jp-mm-runs-deleted">
            <input
              type="checkbox"
              checked={model.showDeleted}
              onChange={event =>
                void model.setShowDeleted(event.target.checked)
              }
            />
            Deleted
          </label>
        </div>
        {choosing && (
          <ColumnChooser model={model} onClose={() => setChoosing(false)} />
        )}
      </div>
      {model.error && (
        <div className="jp-mm-runs-error" role="alert">
          {model.error}
        </div>
      )}
      <div
        className="jp-mm-runs-table"
        role="grid"
        aria-label="Runs"
        aria-multiselectable={true}
        aria-rowcount={complete ? lineCount + 1 : -1}
        aria-busy={model.loading}
        tabIndex={0}
        ref={scrollRef}
        onKeyDown={onKeyDown}
      >
        <div
          className="jp-mm-runs-header"
          role="row"
          aria-rowindex={1}
          style={{ width }}
        >
          {columns.map(id => {
            const sorted = order?.column === id;
            const sortable = isSortable(id);
            return (
              <div
                key={id}
                className={
                  'jp-mm-runs-headcell' +
                  (sortable ? ' jp-mod-sortable' : '') +
                  (layout.sticky[id] !== undefined ? ' jp-mm-mod-sticky' : '')
                }
                role="columnheader"
                data-column={id}
                aria-sort={
                  sorted
                    ? order?.ascending
                      ? 'ascending'
                      : 'descending'
                    : 'none'
                }
                style={{ width: layout.widths[id], left: layout.sticky[id] }}
                title={sortable ? `Sort by ${id}` : id}
                onClick={() => sortable && void model.sortBy(id)}
              >
                {columnLabel(id)}
                {sorted && (
                  <span className="jp-mm-runs-sort" aria-hidden={true}>
                    {order?.ascending ? ' ▲' : ' ▼'}
                  </span>
                )}
              </div>
            );
          })}
        </div>
        <div
          className="jp-mm-runs-body"
          style={{ height: virtualizer.getTotalSize(), width }}
        >
          {items.map(item => {
            const line = lineAt(item.index);
            if (line?.kind === 'group') {
              return (
                <GroupRow
                  key={`group:${line.group.id}`}
                  group={line.group}
                  collapsed={line.collapsed}
                  index={item.index}
                  columns={columns}
                  layout={layout}
                  focused={item.index === focusIndex}
                  top={item.start}
                  width={width}
                  onToggle={onToggleGroup}
                />
              );
            }
            const run = line?.run;
            if (!run) {
              return (
                <div
                  key="loading"
                  className="jp-mm-runs-row jp-mm-runs-loading"
                  role="row"
                  style={{
                    transform: `translateY(${item.start}px)`,
                    height: ROW_HEIGHT
                  }}
                >
                  Loading…
                </div>
              );
            }
            return (
              <RunRow
                key={run.id}
                run={run}
                index={item.index}
                columns={columns}
                layout={layout}
                clashing={clashing.has(run.id)}
                selected={selection.has(run.id)}
                focused={item.index === focusIndex}
                top={item.start}
                width={width}
                onMouseDown={onMouseDown}
                onDoubleClick={onDoubleClick}
              />
            );
          })}
        </div>
        {rows.length === 0 && complete && !model.loading && (
          <div className="jp-mm-runs-empty">
            {model.filter || filterError
              ? 'No runs match the filter.'
              : 'No runs yet. Run a %%track cell to record one.'}
          </div>
        )}
      </div>
      <div className="jp-mm-runs-footer" aria-live="polite">
        {`${rows.length}${complete ? '' : '+'} run${rows.length === 1 ? '' : 's'}`}
        {groups
          ? ` · ${groups.length} group${groups.length === 1 ? '' : 's'}`
          : ''}
        {selection.size > 0 ? ` · ${selection.size} selected` : ''}
      </div>
    </div>
  );
}

/**
 * The run panel as a Lumino widget (a section of the sidebar).
 */
export class RunsPanel extends ReactWidget {
  constructor(options: RunsPanel.IOptions) {
    super();
    this.model = options.model;
    this._commands = options.commands;
    this.id = 'jupyter-mm-runs';
    this.addClass('jp-mm-runs-widget');
    this.title.label = 'Runs';
  }

  readonly model: RunsModel;

  /**
   * Focus the filter box.
   */
  focusFilter(): void {
    this.node
      .querySelector<HTMLInputElement>('.jp-mm-runs-filter-input')
      ?.focus();
  }

  render(): JSX.Element {
    return <RunsPanelView model={this.model} commands={this._commands} />;
  }

  private _commands: CommandRegistry;
}

export namespace RunsPanel {
  export interface IOptions {
    model: RunsModel;
    commands: CommandRegistry;
  }
}
