/**
 * Command ids of jupyter-mm, in one place: every plugin imports them from here, so a plugin
 * calling another's command (the run panel opening a run, the version view opening its source
 * run) names the id its owner registers.
 */
export namespace CommandIDs {
  // Main-area views (registered by the views plugin, `src/views/plugin.ts`).
  export const openRun = 'jupyter-mm:open-run';
  export const compareRuns = 'jupyter-mm:compare-runs';
  export const diffRuns = 'jupyter-mm:diff-runs';
  export const chartRuns = 'jupyter-mm:chart-runs';
  export const restoreSnapshot = 'jupyter-mm:restore-snapshot';
  export const togglePinTab = 'jupyter-mm:toggle-pin-tab';

  // The Models panel and version view (registered by the models plugin, `src/models/plugin.ts`).
  export const openModels = 'jupyter-mm:open-models';
  export const openVersion = 'jupyter-mm:open-model-version';
  export const compareVersions = 'jupyter-mm:compare-model-versions';
  export const registerModel = 'jupyter-mm:register-model';
  export const requestApproval = 'jupyter-mm:request-model-approval';
  export const approve = 'jupyter-mm:approve-model-version';
  export const reject = 'jupyter-mm:reject-model-version';
  export const setAlias = 'jupyter-mm:set-model-alias';
  export const deleteAlias = 'jupyter-mm:delete-model-alias';

  // The sidebar run panel, acting on the selected runs.
  export const openSelected = 'jupyter-mm:open-selected-runs';
  export const compareSelected = 'jupyter-mm:compare-selected-runs';
  export const diffSelected = 'jupyter-mm:diff-selected-runs';
  export const openCharts = 'jupyter-mm:open-charts-workspace';
  export const renameRun = 'jupyter-mm:rename-run';
  export const tagRuns = 'jupyter-mm:tag-runs';
  export const noteRun = 'jupyter-mm:note-run';
  export const deleteRuns = 'jupyter-mm:delete-runs';
  export const restoreRuns = 'jupyter-mm:restore-runs';
  export const copyRunId = 'jupyter-mm:copy-run-id';
  export const openSnapshot = 'jupyter-mm:open-run-snapshot';
  export const openNotebook = 'jupyter-mm:open-run-notebook';
  export const registerRunModel = 'jupyter-mm:register-run-model';
  export const refreshRuns = 'jupyter-mm:refresh-runs';
  export const focusRuns = 'jupyter-mm:focus-runs';
  export const toggleDeleted = 'jupyter-mm:toggle-deleted-runs';

  // Background jobs (registered by the main plugin with the sidebar's Jobs section, `src/jobs/commands.ts`).
  export const rerunRun = 'jupyter-mm:rerun-run';
  export const checkReproducibility = 'jupyter-mm:check-reproducibility';

  // Notebook integration.
  export const trackCell = 'jupyter-mm:track-cell';
}
