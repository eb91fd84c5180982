import { JupyterFrontEnd } from '@jupyterlab/application';
import {
  Clipboard,
  Dialog,
  ICommandPalette,
  InputDialog,
  showDialog,
  showErrorMessage
} from '@jupyterlab/apputils';
import { NotebookPanel } from '@jupyterlab/notebook';

import { IRunsApi, IRunUpdate } from './api';
import { IRun, IRunModel } from './schema';
import { CommandIDs } from './commandIds';
import { errorText } from './format';
import { addToPalette, TRACKING_CATEGORY } from './mainArea';
import {
  loggedModelPaths,
  NO_RUN_MODEL,
  runModelTarget
} from './models/format';
import { noNotebookReason, noSnapshotReason, olderFirst } from './runFacts';
import { RunModelsProbe } from './runModelsProbe';
import { RunsModel } from './runsModel';
import { chartedRuns } from './views/charts';

/**
 * Tag holding the notebook's path relative to the Jupyter root
 * (`jupyter_mm/notebook/records.py`).
 */
export const TAG_NOTEBOOK_PATH = 'mm.notebook.path';
/**
 * Tag holding the tracked cell's nbformat id.
 */
export const TAG_CELL_ID = 'mm.cell.id';

/**
 * Argument schema of the commands acting on the selection (they take none).
 */
export const NO_ARGS = {
  args: { type: 'object' as const, properties: {} }
};

/**
 * What "Register Model…" of the run panel passes to the Models panel's
 * `jupyter-mm:register-model`: the one selected run and the first of its
 * models (the registration form offers the others). `known` is the server's
 * list of the run's models (`GET runs/{id}/models`) once it has answered,
 * null before: until then the first model the run's tags list, else the run
 * alone (the form asks the server, and says when the run holds none). Null —
 * the action is disabled — unless exactly one run is selected, the Models
 * panel's command exists and the run is not known to hold no model.
 */
export function modelToRegister(
  runs: ReadonlyArray<IRun>,
  canRegister: boolean,
  known: ReadonlyArray<IRunModel> | null = null
): { runId: string; path?: string } | null {
  if (!canRegister || runs.length !== 1) {
    return null;
  }
  const runId = runs[0].id;
  if (known) {
    return known.length ? { runId, path: runModelTarget(known[0]) } : null;
  }
  const [model] = loggedModelPaths(runs[0].tags);
  return model ? { runId, path: model.path } : { runId };
}

/**
 * Parse `key=value` (the tag dialog's answer); null when there is no key.
 */
export function parseTag(text: string): { key: string; value: string } | null {
  const index = text.indexOf('=');
  const key = (index < 0 ? text : text.slice(0, index)).trim();
  const value = index < 0 ? '' : text.slice(index + 1).trim();
  return key ? { key, value } : null;
}

/**
 * Register the run panel's commands (palette, context menu and buttons).
 */
export function registerRunCommands(options: {
  app: JupyterFrontEnd;
  model: RunsModel;
  api: IRunsApi;
  /**
   * Show the sidebar and focus the filter box.
   */
  focus: () => void;
  palette: ICommandPalette | null;
}): void {
  const { app, model, api, focus, palette } = options;
  const { commands } = app;
  const selected = () => model.selectedRuns;
  const one = () => (model.selectedRuns.length === 1 ? selected()[0] : null);
  /**
   * Label, caption and enabled state of a command on the one selected run, which `reason` can
   * rule out: the label then says so in brackets and the caption gives the reason.
   */
  const onOneRun = (command: {
    label: string;
    unavailable: string;
    caption: string;
    reason: (run: IRun) => string | null;
    available?: () => boolean;
  }) => {
    const why = () => {
      const run = one();
      return run ? command.reason(run) : null;
    };
    return {
      label: () =>
        why() ? `${command.label} (${command.unavailable})` : command.label,
      caption: () => why() || command.caption,
      isEnabled: () =>
        one() !== null &&
        why() === null &&
        (command.available ? command.available() : true)
    };
  };
  /**
   * A command's `execute` acting on the one selected run (nothing happens unless exactly one
   * is selected).
   */
  const withOneRun =
    (act: (run: IRun) => Promise<void>) => async (): Promise<void> => {
      const run = one();
      if (run) {
        await act(run);
      }
    };
  const fail = (title: string) => (error: unknown) =>
    void showErrorMessage(title, errorText(error));

  /**
   * Ask for a new text of a run's name or notes and save it, patching its row with the answer
   * (nothing happens when the user cancels).
   */
  const editRunText = async (
    run: IRun,
    field: 'name' | 'notes',
    dialog: InputDialog.ITextOptions,
    failure: string
  ): Promise<void> => {
    const result = await InputDialog.getText(dialog);
    if (result.button.accept && result.value !== null) {
      const update: IRunUpdate = { [field]: result.value };
      await api
        .updateRun(run.id, update)
        .then(updated => model.updateRun(updated))
        .catch(fail(failure));
    }
  };

  /** Run an action on each selected run, patching the rows with the answers. */
  const eachSelected = async (
    title: string,
    act: (run: IRun) => Promise<IRun>
  ): Promise<void> => {
    for (const run of selected()) {
      try {
        model.updateRun(await act(run));
      } catch (error) {
        fail(title)(error);
        return;
      }
    }
  };

  commands.addCommand(CommandIDs.openSelected, {
    describedBy: NO_ARGS,
    label: 'Open Run',
    caption: 'Open the selected run in the main area',
    isEnabled: () =>
      selected().length > 0 && commands.hasCommand(CommandIDs.openRun),
    execute: async () => {
      const runs = selected().slice(0, 10);
      for (const run of runs) {
        // Several runs each keep their tab (pinned); one reuses the run view.
        await commands.execute(CommandIDs.openRun, {
          runId: run.id,
          pinned: runs.length > 1
        });
      }
    }
  });

  commands.addCommand(CommandIDs.compareSelected, {
    describedBy: NO_ARGS,
    label: 'Compare Runs',
    caption: 'Compare the selected runs (two or more)',
    isEnabled: () =>
      selected().length >= 2 && commands.hasCommand(CommandIDs.compareRuns),
    execute: () =>
      commands.execute(CommandIDs.compareRuns, {
        runIds: selected().map(r => r.id)
      })
  });

  commands.addCommand(CommandIDs.openCharts, {
    describedBy: NO_ARGS,
    label: 'Open Charts Workspace',
    caption: () =>
      selected().length > 0
        ? 'Chart every metric of the selected runs, one chart per metric'
        : 'Chart every metric of the runs listed, one chart per metric',
    isEnabled: () =>
      (selected().length > 0 || model.rows.length > 0) &&
      commands.hasCommand(CommandIDs.chartRuns),
    execute: () => {
      const { runIds, note } = chartedRuns(
        selected().map(r => r.id),
        model.rows.map(r => r.id),
        !model.complete
      );
      const experimentId = model.experimentId ?? RunsModel.ALL_EXPERIMENTS;
      const experiment = model.experiments.find(e => e.id === experimentId);
      return commands.execute(CommandIDs.chartRuns, {
        runIds,
        experimentId,
        title: experiment?.name ?? 'All experiments',
        note
      });
    }
  });

  /** Why the two selected runs cannot be diffed (null: they can). */
  const diffBlocked = (): string | null => {
    const runs = selected();
    if (runs.length !== 2) {
      return null;
    }
    const without = runs.find(r => noSnapshotReason(r) !== null);
    return without
      ? `Run ${without.name || without.id.slice(0, 8)}: ${noSnapshotReason(without)}`
      : null;
  };
  commands.addCommand(CommandIDs.diffSelected, {
    describedBy: NO_ARGS,
    label: 'Diff Run Notebooks',
    caption: () =>
      diffBlocked() ??
      'Diff the notebooks of the two selected runs, older to newer',
    isEnabled: () =>
      selected().length === 2 &&
      diffBlocked() === null &&
      commands.hasCommand(CommandIDs.diffRuns),
    execute: () => {
      const runs = selected();
      if (runs.length !== 2) {
        return;
      }
      return commands.execute(CommandIDs.diffRuns, {
        runIds: olderFirst(runs[0], runs[1]).map(r => r.id)
      });
    }
  });

  commands.addCommand(CommandIDs.renameRun, {
    describedBy: NO_ARGS,
    label: 'Rename Run…',
    isEnabled: () => one() !== null,
    execute: withOneRun(run =>
      editRunText(
        run,
        'name',
        { title: 'Rename run', text: run.name ?? '', okLabel: 'Rename' },
        'Could not rename the run'
      )
    )
  });

  commands.addCommand(CommandIDs.tagRuns, {
    describedBy: NO_ARGS,
    label: 'Tag Runs…',
    caption: 'Set a tag (key=value) on the selected runs',
    isEnabled: () => selected().length > 0,
    execute: async () => {
      const result = await InputDialog.getText({
        title: `Tag ${selected().length} run(s)`,
        placeholder: 'key=value',
        okLabel: 'Tag'
      });
      const tag = result.button.accept ? parseTag(result.value ?? '') : null;
      if (tag) {
        await eachSelected('Could not tag the run', run =>
          api.updateRun(run.id, { tags: { [tag.key]: tag.value } })
        );
      }
    }
  });

  commands.addCommand(CommandIDs.noteRun, {
    describedBy: NO_ARGS,
    label: 'Edit Run Note…',
    isEnabled: () => one() !== null,
    execute: withOneRun(async run => {
      const current = await api.getRun(run.id).catch(() => run);
      await editRunText(
        run,
        'notes',
        {
          title: 'Note',
          text: current.notes ?? '',
          placeholder: 'What this run tried, what it showed',
          okLabel: 'Save'
        },
        'Could not save the note'
      );
    })
  });

  commands.addCommand(CommandIDs.deleteRuns, {
    describedBy: NO_ARGS,
    label: 'Delete Runs',
    caption: 'Mark the selected runs deleted (they can be restored)',
    isEnabled: () => selected().some(r => r.lifecycle_stage !== 'deleted'),
    execute: async () => {
      const runs = selected().filter(r => r.lifecycle_stage !== 'deleted');
      const answer = await showDialog({
        title: 'Delete runs',
        body: `Delete ${runs.length} run(s)? They can be restored from the deleted runs.`,
        buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Delete' })]
      });
      if (answer.button.accept) {
        await eachSelected('Could not delete the run', run =>
          run.lifecycle_stage === 'deleted'
            ? Promise.resolve(run)
            : api.deleteRun(run.id)
        );
      }
    }
  });

  commands.addCommand(CommandIDs.restoreRuns, {
    describedBy: NO_ARGS,
    label: 'Restore Runs',
    isEnabled: () => selected().some(r => r.lifecycle_stage === 'deleted'),
    execute: () =>
      eachSelected('Could not restore the run', run =>
        run.lifecycle_stage === 'deleted'
          ? api.restoreRun(run.id)
          : Promise.resolve(run)
      )
  });

  commands.addCommand(CommandIDs.copyRunId, {
    describedBy: NO_ARGS,
    label: 'Copy Run Id',
    isEnabled: () => selected().length > 0,
    execute: () => {
      Clipboard.copyToSystem(
        selected()
          .map(r => r.id)
          .join('\n')
      );
    }
  });

  commands.addCommand(CommandIDs.openSnapshot, {
    describedBy: NO_ARGS,
    ...onOneRun({
      label: 'Open Run Notebook Snapshot',
      unavailable: 'none',
      caption: "Open the run's notebook snapshot as a new notebook",
      reason: noSnapshotReason,
      available: () => commands.hasCommand(CommandIDs.restoreSnapshot)
    }),
    execute: () => {
      const run = one();
      return run
        ? commands.execute(CommandIDs.restoreSnapshot, { runId: run.id })
        : undefined;
    }
  });

  commands.addCommand(CommandIDs.openNotebook, {
    describedBy: NO_ARGS,
    ...onOneRun({
      label: 'Go to Run Notebook Cell',
      unavailable: 'not from a notebook',
      caption: 'Open the notebook that produced the run at its tracked cell',
      reason: noNotebookReason
    }),
    execute: withOneRun(async run => {
      try {
        await openRunCell(app, api, run.id);
      } catch (error) {
        fail('Could not open the notebook')(error);
      }
    })
  });

  // Whether the selected run holds a model is the server's answer (as for the
  // run view's button), asked as the selection changes; an answer redraws the
  // item, in the context menu too if it is open.
  const probe = api.runModels
    ? new RunModelsProbe(
        runId => api.runModels!(runId),
        () => {
          commands.notifyCommandChanged(CommandIDs.registerRunModel);
          if (app.contextMenu.menu.isAttached) {
            app.contextMenu.menu.update();
          }
        }
      )
    : null;
  const toRegister = () => {
    const run = one();
    return modelToRegister(
      selected(),
      commands.hasCommand(CommandIDs.registerModel),
      run && probe ? probe.known(run) : null
    );
  };
  commands.addCommand(CommandIDs.registerRunModel, {
    describedBy: NO_ARGS,
    ...onOneRun({
      label: 'Register Model…',
      unavailable: 'no model',
      caption:
        'Register a model the selected run logged as a new model version',
      reason: run => (probe?.known(run)?.length === 0 ? NO_RUN_MODEL : null),
      available: () => toRegister() !== null
    }),
    execute: () => {
      const target = toRegister();
      return target
        ? commands.execute(CommandIDs.registerModel, target)
        : undefined;
    }
  });

  commands.addCommand(CommandIDs.refreshRuns, {
    describedBy: NO_ARGS,
    label: 'Refresh Runs',
    execute: async () => {
      await model.refreshExperiments();
      await model.reload();
    }
  });

  commands.addCommand(CommandIDs.focusRuns, {
    describedBy: NO_ARGS,
    label: 'Show Runs',
    caption: 'Show the run panel and focus its filter',
    execute: () => focus()
  });

  commands.addCommand(CommandIDs.toggleDeleted, {
    describedBy: NO_ARGS,
    label: 'Show Deleted Runs',
    isToggled: () => model.showDeleted,
    execute: () => model.setShowDeleted(!model.showDeleted)
  });

  // Enabled states follow the selection and the views plugin's commands.
  model.changed.connect(() => {
    probe?.follow(one());
    commands.notifyCommandChanged();
  });

  addToPalette(palette, TRACKING_CATEGORY, [
    CommandIDs.focusRuns,
    CommandIDs.refreshRuns,
    CommandIDs.openSelected,
    CommandIDs.compareSelected,
    CommandIDs.openCharts,
    CommandIDs.diffSelected,
    CommandIDs.renameRun,
    CommandIDs.tagRuns,
    CommandIDs.noteRun,
    CommandIDs.deleteRuns,
    CommandIDs.restoreRuns,
    CommandIDs.copyRunId,
    CommandIDs.openSnapshot,
    CommandIDs.openNotebook,
    CommandIDs.registerRunModel,
    CommandIDs.toggleDeleted
  ]);

  const selector = '.jp-mm-runs-row';
  const menu: Array<[string, number]> = [
    [CommandIDs.openSelected, 0],
    [CommandIDs.compareSelected, 1],
    [CommandIDs.diffSelected, 2],
    [CommandIDs.openNotebook, 3],
    [CommandIDs.openSnapshot, 4],
    [CommandIDs.registerRunModel, 5],
    [CommandIDs.renameRun, 10],
    [CommandIDs.tagRuns, 11],
    [CommandIDs.noteRun, 12],
    [CommandIDs.copyRunId, 13],
    [CommandIDs.deleteRuns, 20],
    [CommandIDs.restoreRuns, 21]
  ];
  for (const [command, rank] of menu) {
    app.contextMenu.addItem({ command, selector, rank });
  }
  app.commands.addKeyBinding({
    command: CommandIDs.focusRuns,
    keys: ['Accel Shift M'],
    selector: 'body'
  });
  app.commands.addKeyBinding({
    command: CommandIDs.deleteRuns,
    keys: ['Delete'],
    selector: '.jp-mm-runs-table'
  });
}

/**
 * Open the notebook that produced a run and bring its tracked cell into view.
 */
export async function openRunCell(
  app: JupyterFrontEnd,
  api: IRunsApi,
  runId: string
): Promise<void> {
  const run = await api.getRun(runId);
  const path = run.tags?.[TAG_NOTEBOOK_PATH];
  if (!path) {
    throw new Error(
      'This run does not say which notebook produced it (no mm.notebook.path tag).'
    );
  }
  let cellId = run.tags?.[TAG_CELL_ID] ?? null;
  if (!cellId) {
    cellId = await api
      .cellRecord(runId)
      .then(record => record.cell_id ?? null)
      .catch(() => null);
  }
  const widget = await app.commands.execute('docmanager:open', { path });
  if (!(widget instanceof NotebookPanel)) {
    return;
  }
  await widget.context.ready;
  await widget.revealed;
  if (!cellId) {
    return;
  }
  const notebook = widget.content;
  const index = notebook.widgets.findIndex(cell => cell.model.id === cellId);
  if (index < 0) {
    throw new Error(
      'The tracked cell is no longer in the notebook (it was deleted or the notebook was replaced).'
    );
  }
  notebook.activeCellIndex = index;
  await notebook.scrollToCell(notebook.widgets[index], 'center');
}
