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
  isSortable,
  shortId,
  statusLabel
} from './columns';
import { CommandIDs } from './commandIds';
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
 * Lay out the columns for the given runs (see ITableLayout).
 */
export function tableLayout(
  columns: ReadonlyArray<string>,
  runs: ReadonlyArray<IRun>,
  clashing: ReadonlySet<string>
): ITableLayout {
  const widths: Record<string, number> = {};
  const sticky: Record<string, number> = {};
  const nameAt = columns.indexOf('attributes.name');
  let width = 0;
  columns.forEach((id, index) => {
    const extra =
      id === 'attributes.name'
        ? (run: IRun) => (clashing.has(run.id) ? ` ${shortId(run.id)}` : '')
        : undefined;
    widths[id] = fitColumnWidth(id, runs, extra);
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
                    onChange={() => void model.toggleColumn(id)}
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
 * The sidebar's run panel: experiment picker, filter, actions and the
 * virtualized run table. Every value is rendered as a text node.
 */
export function RunsPanelView(props: {
  model: RunsModel;
  commands: CommandRegistry;
}): JSX.Element {
  const { model, commands } = props;
  const [, setVersion] = React.useState(0);
  const [draft, setDraft] = React.useState(model.filter);
  const [choosing, setChoosing] = React.useState(false);
  const [focusIndex, setFocusIndex] = React.useState(-1);
  const scrollRef = React.useRef<HTMLDivElement>(null);
  const filterRef = React.useRef<HTMLInputElement>(null);

  React.useEffect(() => {
    const onChange = () => setVersion(v => v + 1);
    model.changed.connect(onChange);
    const onCommands = () => setVersion(v => v + 1);
    commands.commandChanged.connect(onCommands);
    return () => {
      model.changed.disconnect(onChange);
      commands.commandChanged.disconnect(onCommands);
    };
  }, [model, commands]);

  const rows = model.rows;
  const columns = model.columns;
  const complete = model.complete;
  const clashing = React.useMemo(() => clashingNames(rows), [rows]);
  const layout = React.useMemo(
    () => tableLayout(columns, rows, clashing),
    [columns, rows, clashing]
  );
  const width = layout.width;

  const virtualizer = useVirtualizer({
    count: rows.length + (complete ? 0 : 1),
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12,
    initialRect: { width: 300, height: 600 }
  });
  const items = virtualizer.getVirtualItems();
  const last = items.length > 0 ? items[items.length - 1].index : 0;

  React.useEffect(() => {
    model.ensureLoaded(last);
  }, [model, last, rows.length, complete]);

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

  const onKeyDown = (event: React.KeyboardEvent) => {
    if (rows.length === 0) {
      return;
    }
    const move = (to: number) => {
      const index = Math.max(0, Math.min(rows.length - 1, to));
      setFocusIndex(index);
      model.select(rows[index].id, event.shiftKey ? 'range' : 'single');
      virtualizer.scrollToIndex(index);
      event.preventDefault();
    };
    const current = focusIndex < 0 ? -1 : focusIndex;
    switch (event.key) {
      case 'ArrowDown':
        move(current + 1);
        break;
      case 'ArrowUp':
        move(current - 1);
        break;
      case 'Home':
        move(0);
        break;
      case 'End':
        move(rows.length - 1);
        break;
      case 'PageDown':
        move(current + 20);
        break;
      case 'PageUp':
        move(current - 20);
        break;
      case ' ':
        if (current >= 0) {
          model.select(rows[current].id, 'toggle');
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
        <label className="jp-mm-runs-experiment">
          <span className="jp-mm-runs-label">Experiment</span>
          <div className="jp-select-wrapper jp-mm-select">
            <select
              className="jp-mod-styled"
              aria-label="Experiment"
              value={model.experimentId ?? ''}
              onChange={event => void model.setExperiment(event.target.value)}
            >
              {experiments.map(e => (
                <option key={e.id} value={e.id}>
                  {e.name}
                </option>
              ))}
              <option value={RunsModel.ALL_EXPERIMENTS}>All experiments</option>
            </select>
          </div>
        </label>
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
        aria-rowcount={complete ? rows.length + 1 : -1}
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
            const run = rows[item.index];
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
