/**
 * Closing the loop in the UI (issue 13), in a real JupyterLab with a real
 * kernel and store: a tracked training cell is re-run from the run view's
 * Re-run… dialog with a parameter changed, the job runs to the end in the
 * sidebar's Jobs section and its new run opens; meanwhile (jobs run two at
 * a time) a registered version's reproducibility is checked from the version
 * view and its evidence shown;
 * a webhook is created in the Models panel, tested, and its delivery listed
 * with the attempt; the version is deprecated, then archived with a reason
 * (refused first, in the dialog, while an alias holds it).
 *
 * Retraining: a tracked training cell's version is the champion; a retraining
 * policy is set over REST; Retrain now… in the version view starts one (a bad
 * override refused in the dialog first); the section polls it until the
 * candidate is registered pending approval; the candidate version's view shows
 * the retraining that produced it, with the gate table.
 *
 * Jobs and webhooks act as a named user (the test server maps
 * `Authorization: token mm-ui-alice` to alice; see models.spec.ts).
 */
import { expect, test } from '@jupyterlab/galata';
import {
  ALICE,
  API,
  dialog,
  execute,
  fillForm,
  registerVersion,
  trackTraining
} from './helpers';

const MODEL = 'loop-model';
// Its own experiment, run and model names: other spec files use the same store.
const RUN_NAME = 'loop-train';
const RETRAIN_MODEL = 'retrain-model';
const RETRAIN_RUN = 'retrain-train';

test.describe('closing the loop', () => {
  test.use({ autoGoto: true, extraHTTPHeaders: ALICE });

  test('re-run, reproducibility, webhooks, retirement', async ({
    page,
    request,
    tmpPath
  }) => {
    test.setTimeout(180000);
    let runId = '';

    await test.step('track a training cell', async () => {
      runId = await trackTraining(page, request, tmpPath, RUN_NAME, 'ui-loop');
    });

    await test.step('Re-run… with C changed: a job in the sidebar', async () => {
      await execute(page, 'jupyter-mm:open-run', { runId });
      const view = page.locator('.jp-mm-runview');
      await view.getByRole('button', { name: 'Re-run…' }).click();
      const d = dialog(page);
      await expect(d.locator('[name="param:C"]')).toHaveValue('0.5');
      // A name the notebook does not have is refused in the dialog.
      await fillForm(page, { other: 'no_such_param=1' }, 'Re-run');
      await expect(d.locator('.jp-mm-form-intro')).toContainText(
        "cannot override 'no_such_param'"
      );
      await fillForm(page, { 'param:C': '0.25', other: '' }, 'Re-run');
      const job = page.locator('#jupyter-mm-jobs .jp-mm-job', {
        hasText: 'Re-run of'
      });
      await expect(job).toContainText('C=0.25');
      await expect(job.getByRole('button', { name: 'Cancel' })).toBeVisible();
    });

    await test.step('start a reproducibility check from the version view (it runs alongside)', async () => {
      await registerVersion(request, MODEL, runId);
      await execute(page, 'jupyter-mm:open-model-version', {
        name: MODEL,
        version: 1
      });
      const view = page.locator('.jp-mm-version-view');
      await view.getByRole('button', { name: 'Check reproducibility…' }).click();
      await fillForm(page, { tolerance: '1e-9' }, 'Check');
      await expect(view.locator('.jp-mm-repro-pending')).toBeVisible();
    });

    await test.step('create and test a webhook in the Models panel', async () => {
      await execute(page, 'jupyter-mm:open-models', { name: MODEL });
      const panel = page.locator('#jupyter-mm-models');
      await expect(panel.locator('.jp-mm-models-name')).toHaveText(MODEL);
      const section = panel.locator('.jp-mm-webhooks');
      await section.getByRole('button', { name: 'New webhook…' }).click();
      const form = section.locator('form');
      await form.locator('[name="webhook-name"]').fill('ci <b>hook</b>');
      // A loopback target (allowed by the test server's config) that answers.
      const target = new URL(`${API}/status`, page.url()).toString();
      await form.locator('[name="webhook-url"]').fill(target);
      await form.locator('[value="approval.requested"]').check();
      await form.locator('[name="webhook-secret"]').fill('s3cret');
      await form.getByRole('button', { name: 'Create webhook' }).click();
      const hook = section.locator('.jp-mm-webhook');
      await expect(hook.locator('.jp-mm-webhook-name')).toHaveText(
        'ci <b>hook</b>'
      );
      await expect(hook).toContainText(`${MODEL} only · signed · by alice`);
      await hook.getByRole('button', { name: 'Test' }).click();
      await expect(hook.locator('.jp-mm-webhook-test')).toContainText('HTTP');
      const delivery = hook.locator('.jp-mm-webhook-deliveries tbody tr');
      await expect(delivery).toHaveCount(1);
      await expect(delivery).toContainText('model_version.created');
      await expect(delivery.locator('[data-attempt="1"]')).toContainText(
        'HTTP'
      );
      await hook.getByRole('button', { name: 'Disable' }).click();
      await expect(hook).toHaveAttribute('data-status', 'DISABLED');
    });

    await test.step('the re-run finishes; its new run opens', async () => {
      const job = page.locator('#jupyter-mm-jobs .jp-mm-job', {
        hasText: 'Re-run of'
      });
      await expect(job).toHaveAttribute('data-state', 'finished', {
        timeout: 90000
      });
      await expect(job.locator('.jp-mm-job-log')).toContainText(
        'trained with C = 0.25'
      );
      await job.getByRole('button', { name: /Open new run/ }).click();
      const newRun = page.locator('.jp-mm-runview:visible');
      await expect(newRun.locator('.jp-mm-view-title')).toHaveText(RUN_NAME);
      await expect(newRun.locator('code.jp-mm-runid')).not.toHaveText(runId);
      const id = await newRun.locator('code.jp-mm-runid').textContent();
      const reply = await request.get(`${API}/runs/${id}`);
      const run = await reply.json();
      expect(run.tags['mm.rerun_of']).toBe(runId);
      expect(run.params.C).toBe('0.25');
    });

    await test.step('the check’s evidence shows in the version view', async () => {
      await execute(page, 'jupyter-mm:open-model-version', {
        name: MODEL,
        version: 1
      });
      const view = page.locator('.jp-mm-version-view');
      // The verdict is an audited tag: its registry event reloads the view.
      await expect(view.locator('[data-verdict]')).toHaveText('reproduced', {
        timeout: 90000
      });
      await expect(view.locator('.jp-mm-reproducibility')).toContainText(
        'by alice'
      );
      await expect(view.locator('.jp-mm-repro-pending')).toHaveCount(0);
      // The details (GET .../reproducibility): every metric compared.
      await expect(view.locator('.jp-mm-reproducibility')).toContainText(
        'accuracy:'
      );
    });

    await test.step('deprecate, then archive with a reason', async () => {
      await execute(page, 'jupyter-mm:open-model-version', {
        name: MODEL,
        version: 1
      });
      const view = page.locator('.jp-mm-version-view');
      const state = view.locator('.jp-mm-lifecycle-state');
      await view.getByRole('button', { name: 'Deprecate…' }).click();
      await fillForm(page, { reason: 'superseded by the 2027 model' }, 'Deprecate');
      await expect(state).toHaveText('deprecated');
      await expect(view.locator('.jp-mm-lifecycle-reason')).toHaveText(
        'superseded by the 2027 model'
      );
      // An alias holds it: the refusal is shown in the dialog.
      expect(
        (
          await request.put(`${API}/registry/models/${MODEL}/aliases/shadow`, {
            data: { version: 1, comment: 'test' }
          })
        ).status()
      ).toBe(200);
      await view.getByRole('button', { name: 'Archive…' }).click();
      await fillForm(page, { reason: 'retired' }, 'Archive');
      const d = dialog(page);
      await expect(d.locator('.jp-mm-form-intro')).toContainText(
        'cannot be archived while'
      );
      await d.getByRole('button', { name: 'Cancel' }).click();
      expect(
        (
          await request.delete(`${API}/registry/models/${MODEL}/aliases/shadow`)
        ).status()
      ).toBe(200);
      await view.getByRole('button', { name: 'Archive…' }).click();
      await fillForm(page, { reason: 'retired after the 2027 model' }, 'Archive');
      await expect(state).toHaveText('archived');
      await expect(view.locator('.jp-mm-lifecycle-reason')).toHaveText(
        'retired after the 2027 model'
      );
      await expect(view.locator('.jp-mm-lifecycle')).toHaveText('archived');
    });
  });

  test('Retrain now… registers a gated candidate pending approval', async ({
    page,
    request,
    tmpPath
  }) => {
    test.setTimeout(300000);
    let runId = '';

    await test.step('a tracked champion and a retraining policy', async () => {
      runId = await trackTraining(page, request, tmpPath, RETRAIN_RUN, 'ui-retrain');
      await registerVersion(request, RETRAIN_MODEL, runId);
      expect(
        (
          await request.put(`${API}/registry/models/${RETRAIN_MODEL}/aliases/champion`, {
            data: { version: 1, comment: 'the first model' }
          })
        ).status()
      ).toBe(200);
      const policy = await request.put(
        `${API}/registry/models/${RETRAIN_MODEL}/retraining-policy`,
        {
          data: {
            policy: {
              triggers: ['manual'],
              alias: 'champion',
              gate: [{ metric: 'accuracy', threshold: 0.5 }]
            },
            comment: 'retrain by hand'
          }
        }
      );
      expect(policy.status()).toBe(200);
    });

    await test.step('Retrain now… from the version view (a bad override refused first)', async () => {
      await execute(page, 'jupyter-mm:open-model-version', {
        name: RETRAIN_MODEL,
        version: 1
      });
      const view = page.locator('.jp-mm-version-view:visible');
      await expect(view.locator('.jp-mm-retraining-policy')).toContainText(
        'accuracy ≥ 0.5'
      );
      await expect(view.locator('.jp-mm-retrainings')).toHaveCount(0);
      await view.getByRole('button', { name: 'Retrain now…' }).click();
      await fillForm(page, { other: 'no_such_param=1' }, 'Retrain');
      await expect(dialog(page).locator('.jp-mm-form-intro')).toContainText(
        'no_such_param'
      );
      await fillForm(page, { other: 'C=0.25' }, 'Retrain');
      await expect(dialog(page)).toHaveCount(0);
    });

    await test.step('it is polled until the candidate is pending approval', async () => {
      const view = page.locator('.jp-mm-version-view:visible');
      const row = view.locator('.jp-mm-retrainings tbody tr');
      await expect(row).toHaveCount(1);
      await expect(row.locator('[data-state]')).toHaveText('pending approval', {
        timeout: 180000
      });
      await expect(row).toContainText('manual, by alice');
      await expect(row.locator('[data-passed]')).toHaveText('gate passed');
      // The server's record says the same.
      const reply = await request.get(
        `${API}/registry/models/${RETRAIN_MODEL}/retrainings`
      );
      const [record] = (await reply.json()).retrainings;
      expect(record.state).toBe('pending_approval');
      expect(record.version).toBe(2);
      expect(String(record.params.C)).toBe('0.25');
      await row.getByRole('button', { name: 'v2' }).click();
    });

    await test.step('the candidate version shows the retraining that produced it', async () => {
      const view = page.locator('.jp-mm-version-view:visible');
      await expect(view.locator('.jp-mm-view-title')).toContainText('v2');
      const produced = view.locator('.jp-mm-retraining-produced');
      await expect(produced.locator('.jp-mm-retraining-trigger')).toContainText(
        'manual, by alice'
      );
      await expect(produced.locator('.jp-mm-retraining-params')).toHaveText(
        'C=0.25'
      );
      await expect(produced.locator('.jp-mm-retraining-approval')).toHaveText(
        'PendingManualApproval'
      );
      const gate = produced.locator('.jp-mm-gate tbody tr');
      await expect(gate).toHaveCount(1);
      await expect(gate).toHaveAttribute('data-metric', 'accuracy');
      await expect(gate).toHaveAttribute('data-passed', 'true');
      await expect(gate.locator('td').nth(3)).toHaveText('threshold');
      await expect(gate.locator('td').nth(5)).toHaveText('pass');
      // Source run → candidate run: the candidate opens in the run view.
      const runs = produced.locator('.jp-mm-runid');
      await expect(runs).toHaveCount(2);
      await runs.nth(1).click();
      const candidate = page.locator('.jp-mm-runview:visible');
      await expect(candidate.locator('.jp-mm-view-title')).toHaveText(RETRAIN_RUN);
      await expect(candidate.locator('code.jp-mm-runid')).not.toHaveText(runId);
    });
  });
});
