/**
 * The job commands: Re-run… (a run's notebook with parameter overrides) and
 * Check Reproducibility (a model version). Each starts a job, shows it in the
 * sidebar's Jobs section and returns it.
 */

import { JupyterFrontEnd } from '@jupyterlab/application';
import { showErrorMessage } from '@jupyterlab/apputils';

import { CommandIDs } from '../commandIds';
import { errorText } from '../models/api';
import { askForm } from '../models/dialogs';
import { VERSION_PROPERTIES, versionArgs } from '../models/format';
import { requestAPI } from '../request';
import type { IFullRun, IJob } from '../schema';
import { IJobsApi } from './api';
import { JobsModel } from './model';

/**
 * The tolerance a check uses unless told otherwise (`mm.check_reproducible`'s).
 */
export const DEFAULT_TOLERANCE = '1e-9';

/**
 * A tolerance typed in a form: a number from 0, else null.
 */
export function parseTolerance(text: string): number | null {
  const value = Number(text.trim());
  return text.trim() !== '' && Number.isFinite(value) && value >= 0
    ? value
    : null;
}

export function registerJobCommands(options: {
  app: JupyterFrontEnd;
  api: IJobsApi;
  jobs: JobsModel;
  showJobs: () => void;
}): void {
  const { app, api, jobs, showJobs } = options;
  const started = (job: IJob): IJob => {
    jobs.track(job);
    showJobs();
    return job;
  };

  app.commands.addCommand(CommandIDs.rerunRun, {
    label: 'Re-run Notebook of Run…',
    caption:
      'Re-execute the run’s notebook in a fresh kernel with parameter overrides (a background job)',
    describedBy: {
      args: {
        type: 'object',
        properties: {
          runId: { type: 'string', description: 'the run to re-run' }
        },
        required: ['runId']
      }
    },
    isEnabled: args => typeof args.runId === 'string',
    execute: async args => {
      const runId = String(args.runId);
      let run: IFullRun;
      try {
        run = await requestAPI<IFullRun>(
          `runs/${encodeURIComponent(runId)}`,
          app.serviceManager.serverSettings
        );
      } catch (error) {
        await showErrorMessage('Re-run', errorText(error));
        return null;
      }
      const { askRerun } = await import('../views/rerun');
      const job = await askRerun(api, {
        id: run.id,
        name: run.name,
        params: run.params
      });
      return job ? started(job) : null;
    }
  });

  app.commands.addCommand(CommandIDs.checkReproducibility, {
    label: args =>
      args.name
        ? `Check Reproducibility of ${args.name} v${args.version}`
        : 'Check Reproducibility…',
    caption:
      'Re-run the version’s source run unchanged and compare metrics and predictions (a background job)',
    describedBy: {
      args: {
        type: 'object',
        properties: {
          ...VERSION_PROPERTIES,
          tolerance: {
            type: 'number',
            description: 'absolute and relative; asked for when missing'
          }
        },
        required: ['name', 'version']
      }
    },
    isEnabled: args => versionArgs(args) !== null,
    execute: async args => {
      const target = versionArgs(args);
      if (!target) {
        return null;
      }
      let tolerance =
        typeof args.tolerance === 'number' ? args.tolerance : null;
      let intro =
        'Re-runs the source run unchanged in a fresh kernel, then compares every metric and the new model’s predictions with the original’s.';
      while (tolerance === null) {
        const answer = await askForm({
          title: `Check reproducibility: ${target.name} v${target.version}`,
          intro,
          fields: [
            {
              key: 'tolerance',
              label: 'Tolerance (absolute and relative)',
              value: DEFAULT_TOLERANCE,
              required: true
            }
          ],
          accept: 'Check'
        });
        if (!answer) {
          return null;
        }
        tolerance = parseTolerance(answer.tolerance);
        intro = 'The tolerance is a number from 0, e.g. 1e-9.';
      }
      try {
        return started(
          await api.startReproducibility(target.name, target.version, tolerance)
        );
      } catch (error) {
        await showErrorMessage(
          'Check reproducibility failed',
          errorText(error)
        );
        return null;
      }
    }
  });
}
