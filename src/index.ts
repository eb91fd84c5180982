import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

// Both are needed as soon as the plugin activates (handshake and sidebar tab).
// eslint-disable-next-line jupyter/prefer-lazy-imports
import { checkServerExtension } from './handshake';
import { StoreStatusModel } from './model';
import { requestAPI } from './request';
import { snapshotPlugin } from './snapshot';
// eslint-disable-next-line jupyter/prefer-lazy-imports
import { MMSidebar, SIDEBAR_ID } from './sidebar';
import { IStatusReply } from './tokens';
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
 * The jupyter-mm plugin: checks the server extension's version and adds the
 * model-tracking sidebar.
 */
const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description:
    'Model tracking for JupyterLab: a sidebar summarizing the jupyter-mm store, and a version handshake with the jupyter-mm server extension.',
  autoStart: true,
  requires: [ILayoutRestorer],
  optional: [ISettingRegistry],
  activate: (
    app: JupyterFrontEnd,
    restorer: ILayoutRestorer,
    settingRegistry: ISettingRegistry | null
  ): void => {
    const serverSettings = app.serviceManager.serverSettings;

    // Do not block activation on the network; the handshake reports problems itself.
    void checkServerExtension(serverSettings, FRONTEND_VERSION);

    // The sidebar owns the model and disposes it with itself.
    const sidebar: MMSidebar = new MMSidebar({
      model: new StoreStatusModel({
        fetchStatus: () => requestAPI<IStatusReply>('status', serverSettings),
        isVisible: (): boolean => sidebar.isVisible
      })
    });
    app.shell.add(sidebar, 'left', { rank: SIDEBAR_RANK });
    restorer.add(sidebar, SIDEBAR_ID);

    const model = sidebar.model;
    if (settingRegistry) {
      settingRegistry
        .load(PLUGIN_ID)
        .then(settings => {
          const apply = () => {
            model.setRefreshInterval(
              settings.get('refreshInterval').composite as number
            );
          };
          apply();
          settings.changed.connect(apply, sidebar);
        })
        .catch(reason => {
          // Keep the default interval; the settings editor shows schema errors.
          void reason;
        });
    }
    void model.start();
  }
};

export default [plugin, snapshotPlugin];
