import * as React from 'react';

import { IRenderMimeRegistry } from '@jupyterlab/rendermime';

import { renderNotebook, renderOutputs } from '../render';
import { RunViewModel } from '../runmodel';
import { WidgetHost } from '../widgets';

/**
 * The tracked cell's source and outputs (rendered untrusted).
 */
export function CellSection(props: {
  model: RunViewModel;
  rendermime: IRenderMimeRegistry;
}): JSX.Element {
  const cell = props.model.cell;
  if (!cell) {
    return (
      <p className="jp-mm-empty">
        No cell record (the run was not made by a %%track cell).
      </p>
    );
  }
  return (
    <div className="jp-mm-cell">
      <pre className="jp-mm-nbcell-source">{cell.source ?? ''}</pre>
      {cell.outputs && cell.outputs.length ? (
        <WidgetHost
          className="jp-mm-cell-outputs"
          factory={() => renderOutputs(cell.outputs ?? [], props.rendermime)}
          deps={[cell]}
        />
      ) : (
        <p className="jp-mm-empty">The cell showed no output.</p>
      )}
    </div>
  );
}

/**
 * The run's notebook snapshot, read-only, with the tracked cell marked.
 */
export function SnapshotSection(props: {
  model: RunViewModel;
  rendermime: IRenderMimeRegistry;
}): JSX.Element {
  const { model } = props;
  const snapshot = model.snapshot;
  if (!snapshot) {
    return <p className="jp-mm-empty">No notebook snapshot.</p>;
  }
  return (
    <>
      <p className="jp-mm-snapshot-info">
        {snapshot.notebook.cells.length} cells; the {snapshot.phase} snapshot (
        {snapshot.source}). Read-only.
      </p>
      <WidgetHost
        className="jp-mm-snapshot"
        factory={() =>
          renderNotebook(
            snapshot.notebook,
            props.rendermime,
            model.cell?.cell_id ?? null
          )
        }
        deps={[snapshot]}
      />
    </>
  );
}
