/**
 * The Models plugin: the Models panel and the version view in the main area,
 * and the registry commands (register a run's model, request approval,
 * approve, reject, set/move/delete an alias). Views are restored on reload
 * and reload themselves after any change made through these commands, and
 * after registry events (changes by others: users, kernels, other servers).
 */

import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, showErrorMessage } from '@jupyterlab/apputils';
import { ToolbarButton } from '@jupyterlab/ui-components';

import { CommandIDs } from '../commandIds';
import { mmIcon, registryIcon } from '../icons';
import {
  addToPalette,
  openInMainArea,
  openView,
  viewTracker
} from '../mainArea';
import { requestAPI } from '../request';
import type { IRun } from '../schema';
// Needed at activation: the commands' change signal reloads the open views.
// eslint-disable-next-line jupyter/prefer-lazy-imports
import { ModelActions } from './actions';
import { Decision, errorText, RegistryAPI } from './api';
import { askForm } from './dialogs';
import { follow, registryEvent, RegistryEventBatcher } from './live';
// The command schemas and isEnabled need these synchronously.
import { VERSION_PROPERTIES, versionArgs } from './format';
import type { IModelsPanelActions, ModelsPanel } from './panel';
import type { VersionViewWidget } from './versionview';
// The registry sidebar is added at activation.
// eslint-disable-next-line jupyter/prefer-lazy-imports
import {
  MODELS_SIDEBAR_ID,
  ModelsSidebar,
  ModelsSidebarModel
} from './sidebar';
import type { VersionCompareWidget } from './versioncompareview';

const CATEGORY = 'Model Registry';
const PANEL_ID = 'jupyter-mm-models';
const RUN_ID = /^[0-9a-f]{32}$/;
/**
 * Rank of the registry sidebar: right after the run sidebar (600).
 */
const MODELS_SIDEBAR_RANK = 601;

const DECISION_COMMANDS: Record<Decision, string> = {
  request: CommandIDs.requestApproval,
  approve: CommandIDs.approve,
  reject: CommandIDs.reject
};

const VERSION_ARGS = {
  type: 'object',
  properties: {
    ...VERSION_PROPERTIES,
    comment: {
      type: 'string',
      description: 'why (kept in the audit trail); asked for when missing'
    }
  },
  required: ['name', 'version']
};

export const modelsPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-mm:models',
  description:
    'The Models panel and version view (registry, approvals, aliases, audit timeline, lineage, model card) and the registry commands.',
  autoStart: true,
  optional: [ILayoutRestorer, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null
  ): void => {
    const { commands, shell, serviceManager } = app;
    const api = new RegistryAPI(serviceManager.serverSettings);
    const actions = new ModelActions(api);

    const panels = viewTracker<ModelsPanel>('jupyter-mm-models', restorer, {
      command: CommandIDs.openModels,
      args: () => ({}),
      name: () => 'models'
    });
    const versions = viewTracker<VersionViewWidget>(
      'jupyter-mm-model-version',
      restorer,
      {
        command: CommandIDs.openVersion,
        args: w => ({
          name: w.content.model.name,
          version: w.content.model.version
        }),
        name: w => `${w.content.model.name}@${w.content.model.version}`
      }
    );
    const compares = viewTracker<VersionCompareWidget>(
      'jupyter-mm-model-compare',
      restorer,
      {
        command: CommandIDs.compareVersions,
        args: w => ({
          versions: w.content.model.targets.map(r => `${r.name}/${r.version}`)
        }),
        name: w =>
          w.content.model.targets.map(r => `${r.name}@${r.version}`).join(',')
      }
    );

    const openRun = (runId: string) => {
      if (commands.hasCommand(CommandIDs.openRun)) {
        void commands.execute(CommandIDs.openRun, { runId });
      }
    };
    const viewActions: IModelsPanelActions = {
      openVersion: (name, version) =>
        void commands.execute(CommandIDs.openVersion, { name, version }),
      openRun,
      decide: (name, version, decision) =>
        void commands.execute(DECISION_COMMANDS[decision], { name, version }),
      setAlias: (name, version) =>
        void commands.execute(CommandIDs.setAlias, { name, version }),
      deleteAlias: (name, alias) =>
        void commands.execute(CommandIDs.deleteAlias, { name, alias }),
      register: () => void commands.execute(CommandIDs.registerModel, {})
    };

    const sidebar = new ModelsSidebar(new ModelsSidebarModel(api), {
      openVersion: viewActions.openVersion,
      openModels: name =>
        void commands.execute(CommandIDs.openModels, name ? { name } : {}),
      compare: refs =>
        void commands.execute(CommandIDs.compareVersions, {
          versions: refs.map(r => `${r.name}/${r.version}`)
        }),
      register: viewActions.register
    });
    sidebar.title.icon = registryIcon;
    shell.add(sidebar, 'left', { rank: MODELS_SIDEBAR_RANK });
    restorer?.add(sidebar, MODELS_SIDEBAR_ID);

    actions.changed.connect((_, name) => {
      if (sidebar.isVisible) {
        void sidebar.model.refresh();
      }
      panels.forEach(w => void w.content.model.refresh(name));
      versions.forEach(w => {
        if (w.content.model.name === name) {
          void w.content.model.load();
        }
      });
    });

    // Live updates: one reload per burst of registry events.
    const live = new RegistryEventBatcher(changes => {
      // A hidden sidebar reloads when it is shown.
      if (sidebar.isVisible) {
        void sidebar.model.update(changes);
      }
      panels.forEach(w => void w.content.model.update(changes));
      versions.forEach(w => {
        const model = w.content.model;
        if (model.gone) {
          return;
        }
        const where = follow(changes, model.name, model.version);
        if (where.name !== model.name) {
          model.rename(where.name);
          w.title.label = `${where.name} v${model.version}`;
          w.title.caption = `Model ${where.name}, version ${model.version}`;
        }
        if (where.gone) {
          model.markGone(
            `${where.name} v${model.version} was deleted; this is what it showed.`
          );
        } else if (where.changed) {
          void model.load();
        }
      });
    });
    serviceManager.events.stream.connect((_, emission) => {
      const event = registryEvent(emission);
      if (event) {
        live.add(event);
      }
    });

    commands.addCommand(CommandIDs.openModels, {
      label: 'Open Models',
      caption: 'Registered models, versions, approvals and aliases',
      icon: mmIcon,
      describedBy: {
        args: {
          type: 'object',
          properties: {
            name: { type: 'string', description: 'a model to select' }
          },
          required: []
        }
      },
      execute: async args => {
        const name = typeof args.name === 'string' ? args.name : undefined;
        let widget = panels.find(() => true);
        if (!widget) {
          const { ModelsPanel, ModelsPanelModel } = await import('./panel');
          const model = new ModelsPanelModel(api);
          const { WebhooksAPI } = await import('./webhooks-api');
          const content = new ModelsPanel(
            model,
            viewActions,
            new WebhooksAPI(serviceManager.serverSettings)
          );
          widget = openInMainArea(shell, panels, content, {
            id: PANEL_ID,
            label: 'Models',
            caption: 'Model registry'
          });
          if (name) {
            model.selected = name;
          }
          await model.search();
          return widget;
        }
        shell.activateById(widget.id);
        if (name) {
          await widget.content.model.refresh(name);
          await widget.content.model.select(name);
        }
        return widget;
      }
    });

    commands.addCommand(CommandIDs.openVersion, {
      label: args =>
        args.name
          ? `Open ${args.name} v${args.version}`
          : 'Open Model Version…',
      caption: 'Overview, audit timeline, lineage and model card of a version',
      describedBy: {
        args: {
          type: 'object',
          properties: {
            name: { type: 'string', description: 'asked for when missing' },
            version: { type: 'number', description: 'asked for when missing' }
          },
          required: []
        }
      },
      execute: async args => {
        let target = versionArgs(args);
        if (!target) {
          const answer = await askForm({
            title: 'Open model version',
            fields: [
              { key: 'name', label: 'Model', required: true },
              { key: 'version', label: 'Version', required: true }
            ],
            accept: 'Open'
          });
          if (!answer) {
            return;
          }
          target = versionArgs(answer);
          if (!target) {
            await showErrorMessage(
              'Open model version',
              'A version is a whole number from 1.'
            );
            return;
          }
        }
        const { name, version } = target;
        return openView(
          shell,
          versions,
          w =>
            w.content.model.name === name &&
            w.content.model.version === version,
          async () => {
            const { VersionViewModel, VersionViewWidget } =
              await import('./versionview');
            const { RetrainingAPI } = await import('./retraining-api');
            const model = new VersionViewModel(
              api,
              name,
              version,
              new RetrainingAPI(serviceManager.serverSettings)
            );
            const content = new VersionViewWidget(model, {
              ...viewActions,
              changed: changedName => actions.notify(changedName),
              setLifecycle: (n, v, lifecycle) =>
                void actions.setLifecycle(n, v, lifecycle),
              turnOffFourEyes: async () => {
                if (await actions.turnOffFourEyes()) {
                  versions.forEach(w => void w.content.model.load());
                }
              },
              checkReproducibility: async (n, v) =>
                ((await commands.execute(CommandIDs.checkReproducibility, {
                  name: n,
                  version: v
                })) as { job_id: string } | null) ?? null
            });
            return {
              content,
              tab: {
                id: `jupyter-mm-model-${encodeURIComponent(name)}-${version}`,
                label: `${name} v${version}`,
                caption: `Model ${name}, version ${version}`
              },
              load: () => model.load(),
              opened: widget =>
                widget.toolbar.addItem(
                  'compare',
                  new ToolbarButton({
                    label: 'Compare with…',
                    tooltip: `Compare ${name} v${version} with other versions side by side`,
                    onClick: () =>
                      void commands.execute(CommandIDs.compareVersions, {
                        name: model.name,
                        version
                      })
                  })
                )
            };
          }
        );
      }
    });

    commands.addCommand(CommandIDs.compareVersions, {
      label: 'Compare Model Versions…',
      caption:
        'Model versions side by side: params, metrics, signature, requirements, datasets and the notebook diff of their source runs',
      describedBy: {
        args: {
          type: 'object',
          properties: {
            versions: {
              type: 'array',
              items: { type: 'string' },
              description: 'two or more "name/version"; asked for when missing'
            },
            name: {
              type: 'string',
              description: 'with version: compare it with versions asked for'
            },
            version: { type: 'number' }
          },
          required: []
        }
      },
      execute: async args => {
        const { versionRefs } = await import('./versioncompare');
        let refs = versionRefs(args.versions);
        // From a version view: that version, with others asked for.
        const from = versionArgs(args);
        if (!refs) {
          const answer = await askForm({
            title: from
              ? `Compare ${from.name} v${from.version} with…`
              : 'Compare model versions',
            fields: [
              {
                key: 'name',
                label: 'Model',
                required: true,
                value: from?.name ?? ''
              },
              {
                key: 'versions',
                label: from ? 'Other versions' : 'Versions',
                required: true,
                placeholder: from ? '1' : '1, 2'
              }
            ],
            accept: 'Compare'
          });
          if (!answer) {
            return;
          }
          refs = versionRefs(
            answer.versions
              .split(/[\s,]+/)
              .filter(Boolean)
              .map(v => `${answer.name.trim()}/${v}`)
          );
          if (refs && from) {
            refs = [
              from,
              ...refs.filter(
                r => r.name !== from.name || r.version !== from.version
              )
            ];
          }
        }
        if (!refs || refs.length < 2) {
          await showErrorMessage(
            'Compare model versions',
            'Give two or more versions (whole numbers from 1).'
          );
          return;
        }
        const targets = refs;
        const key = targets.map(r => `${r.name}/${r.version}`).join(',');
        return openView(
          shell,
          compares,
          w =>
            w.content.model.targets
              .map(r => `${r.name}/${r.version}`)
              .join(',') === key,
          async () => {
            const { VersionCompareModel, VersionCompareWidget } =
              await import('./versioncompareview');
            const { ViewsAPI } = await import('../views/api');
            const runs = new ViewsAPI(serviceManager.serverSettings);
            const model = new VersionCompareModel(
              api,
              async (runId, path) => {
                try {
                  return await (await runs.download(runId, path)).blob.text();
                } catch (error) {
                  if (errorText(error).startsWith('Not found')) {
                    return null;
                  }
                  throw error;
                }
              },
              targets
            );
            const content = new VersionCompareWidget(model, {
              openVersion: viewActions.openVersion,
              openRun,
              openDiff: (base, other) =>
                void commands.execute(CommandIDs.diffRuns, {
                  runIds: [base, other]
                })
            });
            return {
              content,
              tab: {
                id: `jupyter-mm-model-compare-${Date.now().toString(36)}`,
                label: `Compare ${targets.length} versions`,
                caption: key.split(',').join('\n')
              },
              load: () => model.load()
            };
          }
        );
      }
    });

    commands.addCommand(CommandIDs.registerModel, {
      label: 'Register Model from Run…',
      caption:
        'Register a model logged in a run (runs:/RUN/PATH) as a new version',
      describedBy: {
        args: {
          type: 'object',
          properties: {
            runId: {
              type: 'string',
              description: 'the run (32 hex characters)'
            },
            path: {
              type: 'string',
              description: "the model's artifact path, e.g. models/model"
            },
            name: { type: 'string', description: 'the registered model' }
          },
          required: []
        }
      },
      execute: async args => {
        let runId = typeof args.runId === 'string' ? args.runId : '';
        let path = typeof args.path === 'string' ? args.path : '';
        let name = typeof args.name === 'string' ? args.name : '';
        const {
          isPlausibleName,
          NO_RUN_MODEL,
          runModelLabel,
          runModelTarget,
          runPickLabel
        } = await import('./format');
        if (!RUN_ID.test(runId)) {
          // Pick the run by name (type to search), never by a pasted id.
          let runs: IRun[] = [];
          try {
            runs = (
              await requestAPI<{ runs: IRun[] }>(
                'runs/search',
                serviceManager.serverSettings,
                {
                  method: 'POST',
                  body: JSON.stringify({
                    max_results: 1000,
                    order_by: ['start_time DESC']
                  })
                }
              )
            ).runs;
          } catch (error) {
            await showErrorMessage('Register model failed', errorText(error));
            return;
          }
          const byLabel = new Map(runs.map(r => [runPickLabel(r), r.id]));
          const picked = await askForm({
            title: 'Register model from a run',
            intro:
              'Pick the run that logged the model (type part of its name, id or experiment).',
            fields: [
              {
                key: 'run',
                label: 'Run',
                required: true,
                placeholder: 'run name',
                choices: [...byLabel.keys()]
              }
            ],
            accept: 'Next'
          });
          if (!picked) {
            return;
          }
          const text = picked.run.trim();
          runId =
            byLabel.get(text) ??
            (RUN_ID.test(text.toLowerCase()) ? text.toLowerCase() : '');
          if (!runId) {
            await showErrorMessage(
              'Register model',
              `No run matches “${text}”: pick one of the list.`
            );
            return;
          }
        }
        let options: { value: string; label: string }[] = [];
        try {
          const { models } = await api.runModels(runId);
          options = models.map(m => ({
            value: runModelTarget(m),
            label: runModelLabel(m)
          }));
        } catch (error) {
          await showErrorMessage('Register model failed', errorText(error));
          return;
        }
        if (!options.length) {
          await showErrorMessage('Register model', NO_RUN_MODEL);
          return;
        }
        let comment = '';
        if (!path || !name) {
          let models: string[] = [];
          try {
            models = (await api.searchModels('')).map(m => m.name);
          } catch {
            // The names are only suggestions.
          }
          const answer = await askForm({
            title: 'Register model from a run',
            intro:
              'A new version of the model (created if it does not exist yet) from one of the run’s models.',
            fields: [
              {
                key: 'path',
                label: 'Model',
                value: options.some(o => o.value === path)
                  ? path
                  : options[0].value,
                required: true,
                options
              },
              {
                key: 'name',
                label: 'Registered model',
                value: name,
                required: true,
                choices: models
              },
              { key: 'comment', label: 'Why', multiline: true }
            ],
            accept: 'Register'
          });
          if (!answer) {
            return;
          }
          path = answer.path;
          name = answer.name.trim();
          comment = answer.comment.trim();
        }
        if (!isPlausibleName(name) || !path) {
          await showErrorMessage(
            'Register model',
            'Pick one of the run’s models and give a model name.'
          );
          return;
        }
        const version = await actions.register(runId, path, name, comment);
        if (version) {
          await commands.execute(CommandIDs.openModels, { name });
        }
        return version;
      }
    });

    const decisionLabels: Record<Decision, string> = {
      request: 'Request Approval of Model Version',
      approve: 'Approve Model Version',
      reject: 'Reject Model Version'
    };
    (Object.keys(DECISION_COMMANDS) as Decision[]).forEach(decision => {
      commands.addCommand(DECISION_COMMANDS[decision], {
        label: args =>
          args.name
            ? `${decisionLabels[decision]} ${args.name} v${args.version}`
            : decisionLabels[decision],
        describedBy: { args: VERSION_ARGS },
        isEnabled: args => versionArgs(args) !== null,
        execute: async args => {
          const target = versionArgs(args);
          if (!target) {
            return;
          }
          const comment =
            typeof args.comment === 'string' ? args.comment : undefined;
          return actions.decide(
            target.name,
            target.version,
            decision,
            comment === undefined ? undefined : { comment }
          );
        }
      });
    });

    commands.addCommand(CommandIDs.setAlias, {
      label: 'Set Model Alias…',
      caption: 'Point an alias (champion, challenger, …) at a version',
      describedBy: {
        args: {
          ...VERSION_ARGS,
          properties: {
            ...VERSION_ARGS.properties,
            alias: { type: 'string', description: 'asked for when missing' }
          }
        }
      },
      isEnabled: args => versionArgs(args) !== null,
      execute: async args => {
        const target = versionArgs(args);
        if (!target) {
          return;
        }
        const alias = typeof args.alias === 'string' ? args.alias : undefined;
        const comment =
          typeof args.comment === 'string' ? args.comment : undefined;
        return actions.setAlias(target.name, target.version, alias, comment);
      }
    });

    commands.addCommand(CommandIDs.deleteAlias, {
      label: args =>
        args.alias ? `Delete Alias @${args.alias}` : 'Delete Model Alias',
      describedBy: {
        args: {
          type: 'object',
          properties: {
            name: { type: 'string' },
            alias: { type: 'string' },
            comment: { type: 'string' }
          },
          required: ['name', 'alias']
        }
      },
      isEnabled: args =>
        typeof args.name === 'string' && typeof args.alias === 'string',
      execute: async args => {
        if (typeof args.name !== 'string' || typeof args.alias !== 'string') {
          return;
        }
        const comment =
          typeof args.comment === 'string' ? args.comment : undefined;
        return actions.deleteAlias(args.name, args.alias, comment);
      }
    });

    addToPalette(palette, CATEGORY, [
      CommandIDs.openModels,
      CommandIDs.openVersion,
      CommandIDs.compareVersions,
      CommandIDs.registerModel
    ]);
  }
};

export default modelsPlugin;
