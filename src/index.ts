import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { INotebookTracker } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStateDB } from '@jupyterlab/statedb';
import { ReadonlyJSONValue } from '@lumino/coreutils';

import { RestRunsApi } from './api';
// eslint-disable-next-line jupyter/prefer-lazy-imports
import { registerRunCommands } from './commands';

// Both are needed as soon as the plugin activates (handshake and sidebar tab).
// eslint-disable-next-line jupyter/prefer-lazy-imports
import { checkServerExtension } from './handshake';
import { StoreStatusModel } from './model';
import { requestAPI } from './request';
// eslint-disable-next-line jupyter/prefer-lazy-imports
import { RunsModel } from './runsModel';
// eslint-disable-next-line jupyter/prefer-lazy-imports
import { RunsPanel } from './runsPanel';
import { snapshotPlugin } from './snapshot';
import { CommandIDs } from './commandIds';
import { JOB_EVENT_SCHEMA, JobsAPI } from './jobs/api';
// The sidebar's Jobs section and the job commands exist from activation.
// eslint-disable-next-line jupyter/prefer-lazy-imports
import { registerJobCommands } from './jobs/commands';
// eslint-disable-next-line jupyter/prefer-lazy-imports
import { JobsModel } from './jobs/model';
// eslint-disable-next-line jupyter/prefer-lazy-imports
import { JobsWidget } from './jobs/panel';
import { onStoreEvents } from './storeEvents';
import { modelsPlugin } from './models/plugin';
import { viewsPlugin } from './views/plugin';
// eslint-disable-next-line jupyter/prefer-lazy-imports
import { MMSidebar, SIDEBAR_ID } from './sidebar';
import { IStatusReply } from './tokens';
// eslint-disable-next-line jupyter/prefer-lazy-imports
import { CellBadges, registerTrackCell } from './trackCell';
import { FRONTEND_VERSION } from './version';

/**
 * Plugin id; `schema/plugin.json` holds its settings.
 */
export const PLUGIN_ID = 'jupyter-mm:plugin';

/**
 * Rank of the sidebar tab in the left area.
 */
const SIDEBAR_RANK = 600;

/**
 * IStateDB key of the run panel's remembered experiment, columns and order.
 */
const STATE_KEY = 'jupyter-mm:runs-panel';

/**
 * The jupyter-mm plugin: checks the server extension's version and adds the
 * model-tracking sidebar.
 */
const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description:
    'Model tracking for JupyterLab: the run panel and store summary in the left sidebar, and a version handshake with the jupyter-mm server extension.',
  autoStart: true,
  // Optional: Jupyter Notebook 7 has no layout restorer (nor a left area in every page).
  optional: [ILayoutRestorer, ISettingRegistry, IStateDB, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    restorer: ILayoutRestorer | null,
    settingRegistry: ISettingRegistry | null,
    state: IStateDB | null,
    palette: ICommandPalette | null
  ): void => {
    const serverSettings = app.serviceManager.serverSettings;
    const api = new RestRunsApi(serverSettings);

    // Do not block activation on the network; the handshake reports problems itself.
    void checkServerExtension(serverSettings, FRONTEND_VERSION);

    const settingsLoaded = settingRegistry
      ? settingRegistry.load(PLUGIN_ID).catch(() => null)
      : Promise.resolve(null);

    const runsModel = new RunsModel({
      api,
      memory: state
        ? {
            fetch: () => state.fetch(STATE_KEY),
            save: value =>
              state.save(STATE_KEY, value as unknown as ReadonlyJSONValue)
          }
        : null
    });
    const runs = new RunsPanel({ model: runsModel, commands: app.commands });
    const jobsApi = new JobsAPI(serverSettings);
    const jobs = new JobsWidget(new JobsModel(jobsApi), runId => {
      void app.commands.execute(CommandIDs.openRun, { runId });
    });

    // The sidebar owns the models and disposes them with itself.
    const sidebar: MMSidebar = new MMSidebar({
      model: new StoreStatusModel({
        fetchStatus: () => requestAPI<IStatusReply>('status', serverSettings),
        isVisible: (): boolean => sidebar.isVisible
      }),
      runs,
      jobs
    });
    app.shell.add(sidebar, 'left', { rank: SIDEBAR_RANK });
    restorer?.add(sidebar, SIDEBAR_ID);

    registerRunCommands({
      app,
      model: runsModel,
      api,
      palette,
      focus: () => {
        app.shell.activateById(SIDEBAR_ID);
        runs.focusFilter();
      }
    });
    onStoreEvents(app.serviceManager.events, event =>
      runsModel.handleEvent(event)
    );
    registerJobCommands({
      app,
      api: jobsApi,
      jobs: jobs.model,
      showJobs: () => {
        app.shell.activateById(SIDEBAR_ID);
        sidebar.showJobs();
      }
    });
    app.serviceManager.events.stream.connect((_, emission) => {
      if (emission.schema_id === JOB_EVENT_SCHEMA) {
        jobs.model.handleEvent();
      }
    });
    void jobs.model.refresh();

    const model = sidebar.model;
    void settingsLoaded.then(settings => {
      if (settings) {
        const apply = () => {
          model.setRefreshInterval(
            settings.get('refreshInterval').composite as number
          );
        };
        apply();
        settings.changed.connect(apply, sidebar);
        const columns = settings.get('defaultColumns').composite;
        if (Array.isArray(columns) && columns.length > 0) {
          runsModel.setDefaultColumns(columns as string[]);
        }
      }
      // The remembered view (state) wins over the default columns.
      void (state
        ? app.restored.then(() => runsModel.start())
        : runsModel.start());
    });
    void model.start();
  }
};

/**
 * Notebook integration: the "Track cell" command and toolbar button, and a
 * badge on each tracked cell linking to its latest run.
 */
const trackCellPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-mm:track-cell',
  description:
    'A "Track cell" command and notebook toolbar button toggling %%track, and badges on tracked cells linking to their latest run.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    palette: ICommandPalette | null
  ): void => {
    registerTrackCell({ app, tracker, palette });
    const badges = new CellBadges({
      tracker,
      api: new RestRunsApi(app.serviceManager.serverSettings),
      commands: app.commands
    });
    onStoreEvents(app.serviceManager.events, event =>
      badges.handleEvent(event)
    );
  }
};

export default [
  plugin,
  snapshotPlugin,
  trackCellPlugin,
  viewsPlugin,
  modelsPlugin
];
