/**
 * The run panel's actions on one run, end to end: runs tracked by a real
 * kernel (JupyterLab posts their notebook snapshots), then rename, tag, note,
 * copy id, open the snapshot and register a logged model, each driven
 * through the panel's context menu and dialogs and checked through the REST
 * API and in the table.
 */
import { expect, test } from '@jupyterlab/galata';
import type { APIRequestContext, Locator, Page } from '@playwright/test';
import {
  API,
  chooseColumns,
  dialog,
  type IRestRun,
  openNotebook,
  runByName,
  runPanel,
  runRows,
  selectExperiment,
  setTheme,
  SIDEBAR,
  snapshotPhase,
  uploadNotebook
} from './helpers';

// Its own experiment, run, cell and model names: other spec files log into
// the same store.
const EXPERIMENT = 'ui-run-actions';
const MODEL = 'ui-run-actions-model';

const CELLS = [
  'import jupyter_mm as mm',
  "%%track act-plain -e ui-run-actions\nmm.log_metric('auc', 0.5)\nprint('plain done')",
  [
    '%%track act-model -e ui-run-actions',
    'import numpy as np',
    'from sklearn.linear_model import LogisticRegression',
    'rng = np.random.default_rng(0)',
    'X = rng.normal(size=(60, 2))',
    'y = (X[:, 0] > 0).astype(int)',
    'clf = LogisticRegression().fit(X, y)',
    "mm.log_model(clf, 'clf', input_example=X[:2])"
  ].join('\n')
];

/** The row of one run. */
function rowOf(page: Page, runId: string): Locator {
  return runPanel(page).locator(`.jp-mm-runs-row[data-run-id="${runId}"]`);
}

async function getRun(
  request: APIRequestContext,
  runId: string
): Promise<IRestRun> {
  const reply = await request.get(`${API}/runs/${runId}`);
  expect(reply.ok()).toBe(true);
  return (await reply.json()) as IRestRun;
}

/** Right-click a row (selecting only it) and return its context menu. */
async function contextMenu(page: Page, runId: string): Promise<Locator> {
  await rowOf(page, runId).click();
  await rowOf(page, runId).click({ button: 'right' });
  const menu = page.locator('.lm-Menu');
  await expect(menu).toBeVisible();
  return menu;
}

function menuItem(menu: Locator, command: string): Locator {
  return menu.locator(`.lm-Menu-item[data-command="${command}"]`);
}

async function chooseMenu(
  page: Page,
  runId: string,
  command: string
): Promise<void> {
  const menu = await contextMenu(page, runId);
  const item = menuItem(menu, command);
  await expect(item).not.toHaveClass(/lm-mod-disabled/);
  await item.click();
}

/** Answer the text dialog that is open. */
async function answerText(
  page: Page,
  text: string,
  accept: string
): Promise<void> {
  const d = dialog(page);
  await expect(d).toBeVisible();
  await d.locator('input').fill(text);
  await d.getByRole('button', { name: accept, exact: true }).click();
  await expect(d).toHaveCount(0);
}

test.describe.configure({ mode: 'serial' });

test.describe('run panel actions', () => {
  test.use({ autoGoto: true });

  test('rename, tag, note, copy id, open snapshot, register model', async ({
    page,
    request,
    baseURL,
    tmpPath
  }) => {
    test.setTimeout(240000);
    let plain = '';
    let withModel = '';

    await test.step('track two runs, one logging a model', async () => {
      await uploadNotebook(
        page,
        `${tmpPath}/actions.ipynb`,
        CELLS,
        'mm-run-actions'
      );
      await openNotebook(page, `${tmpPath}/actions.ipynb`);
      await page.notebook.run();
      for (const name of ['act-plain', 'act-model']) {
        await expect
          .poll(async () => (await runByName(request, name))?.status, {
            timeout: 60000
          })
          .toBe('FINISHED');
      }
      plain = (await runByName(request, 'act-plain'))!.id;
      withModel = (await runByName(request, 'act-model'))!.id;
      // JupyterLab posts the end snapshot when the cell finishes.
      await expect.poll(() => snapshotPhase(request, plain)).toBe('end');
      expect((await getRun(request, withModel)).tags['mm.models']).toContain(
        'clf'
      );
    });

    await test.step('show the experiment in the panel', async () => {
      await page.sidebar.openTab(SIDEBAR);
      await page.sidebar.setWidth(560);
      await selectExperiment(page, EXPERIMENT);
      await expect(runRows(page)).toHaveCount(2);
    });

    await test.step('rename: the table shows the name, as text', async () => {
      const name = 'renamed <b>bold</b>';
      await chooseMenu(page, plain, 'jupyter-mm:rename-run');
      await expect(dialog(page).locator('input')).toHaveValue('act-plain');
      await answerText(page, name, 'Rename');
      const cell = rowOf(page, plain).locator(
        '[data-column="attributes.name"]'
      );
      await expect(cell).toHaveText(name);
      await expect(cell.locator('b')).toHaveCount(0);
      expect((await getRun(request, plain)).name).toBe(name);
    });

    await test.step('tag: stored, and shown in a tag column', async () => {
      await chooseMenu(page, plain, 'jupyter-mm:tag-runs');
      await answerText(page, 'team = risk', 'Tag');
      await expect
        .poll(async () => (await getRun(request, plain)).tags.team)
        .toBe('risk');
      expect((await getRun(request, withModel)).tags.team).toBeUndefined();
      await chooseColumns(page, [['Tags', 'team']]);
      await expect(
        rowOf(page, plain).locator('[data-column="tags.team"]')
      ).toHaveText('risk');
      await expect(
        rowOf(page, withModel).locator('[data-column="tags.team"]')
      ).toHaveText('');
    });

    await test.step('note: stored, shown, and offered again', async () => {
      const note = 'lr too high? <script>x</script>';
      await chooseMenu(page, plain, 'jupyter-mm:note-run');
      await answerText(page, note, 'Save');
      await expect
        .poll(async () => (await getRun(request, plain)).notes)
        .toBe(note);
      await chooseColumns(page, [['Attributes', 'Notes']]);
      await expect(
        rowOf(page, plain).locator('[data-column="attributes.notes"]')
      ).toHaveText(note);
      // The dialog starts from the stored note.
      await chooseMenu(page, plain, 'jupyter-mm:note-run');
      await expect(dialog(page).locator('input')).toHaveValue(note);
      await dialog(page).getByRole('button', { name: 'Cancel' }).click();
      await expect(dialog(page)).toHaveCount(0);
    });

    await test.step('copy id: the 32-hex id on the clipboard', async () => {
      await page
        .context()
        .grantPermissions(['clipboard-read', 'clipboard-write'], {
          origin: baseURL
        });
      // Something else on the clipboard first, so the check is not vacuous.
      await page.evaluate(() => navigator.clipboard.writeText('before'));
      await chooseMenu(page, plain, 'jupyter-mm:copy-run-id');
      await expect
        .poll(() => page.evaluate(() => navigator.clipboard.readText()))
        .toBe(plain);
      expect(plain).toMatch(/^[0-9a-f]{32}$/);
    });

    await test.step('open the snapshot as a new notebook', async () => {
      await chooseMenu(page, plain, 'jupyter-mm:open-run-snapshot');
      const current = () =>
        page.evaluate(() => {
          const widget = window.jupyterapp.shell.currentWidget as any;
          const model = widget?.content?.model;
          // Until its context is ready, a notebook shows one empty cell, not the file.
          if (!model || !widget.context?.isReady) {
            return null;
          }
          return {
            path: widget.context.path as string,
            sources: model.sharedModel.cells.map((c: any) => c.getSource()),
            from: (model.sharedModel.getMetadata() as any)?.jupyter_mm
          };
        });
      await expect
        .poll(async () => (await current())?.path ?? '')
        .toMatch(/^Untitled.*\.ipynb$/);
      const opened = (await current())!;
      expect(opened.sources).toEqual(CELLS);
      expect(JSON.stringify(opened.from ?? {})).toContain(plain);
      // The copy is written to the server's root, outside this test's
      // directory: remove it, so later spec files start from a clean root.
      await page.notebook.close(true);
      expect(await page.contents.deleteFile(opened.path)).toBe(true);
    });

    await test.step('register model: only for a run that holds one, saying why', async () => {
      await page.sidebar.openTab(SIDEBAR);
      let menu = await contextMenu(page, plain);
      // The server's answer (GET runs/{id}/models) redraws the open menu.
      const none = menuItem(menu, 'jupyter-mm:register-run-model');
      await expect(none).toHaveClass(/lm-mod-disabled/);
      await expect(none).toContainText('(no model)');
      await page.keyboard.press('Escape');
      await expect(menu).toBeHidden();

      menu = await contextMenu(page, withModel);
      const register = menuItem(menu, 'jupyter-mm:register-run-model');
      await expect(register).not.toHaveClass(/lm-mod-disabled/);
      await register.click();
      // The Models panel's form, on the run's model.
      const form = dialog(page);
      await expect(form.locator('select[name="path"]')).toHaveValue(
        'models/clf'
      );
      await form.locator('[name="name"]').fill(MODEL);
      await form.getByRole('button', { name: 'Register', exact: true }).click();
      await expect
        .poll(async () => {
          const r = await request.get(
            `${API}/registry/models/${MODEL}/versions`
          );
          if (!r.ok()) {
            return r.status();
          }
          const body = (await r.json()) as {
            versions: Array<{ version: number; run_id: string }>;
          };
          return body.versions.map(v => [v.version, v.run_id]);
        })
        .toEqual([[1, withModel]]);
    });

    // A run logged by a script, whose only model is an MLflow logged model
    // it logged as an output (`mlflow.log_outputs`): no run tag names it.
    let script = '';
    let modelId = '';
    await test.step('a script run with an MLflow logged-model output', async () => {
      const created = await request.post(`${API}/runs`, {
        data: {
          experiment_name: EXPERIMENT,
          name: 'act-script',
          tags: { 'mm.source.type': 'LOCAL' }
        }
      });
      expect(created.status()).toBe(201);
      const run = (await created.json()) as IRestRun & {
        experiment_id: string;
      };
      script = run.id;
      const mlflow = '/jupyter-mm/mlflow/api/2.0/mlflow';
      const logged = await request.post(`${mlflow}/logged-models`, {
        data: {
          experiment_id: run.experiment_id,
          name: 'mlflow-rf',
          model_type: 'sklearn'
        }
      });
      expect(logged.ok()).toBe(true);
      modelId = (await logged.json()).model.info.model_id as string;
      const output = await request.post(`${mlflow}/runs/outputs`, {
        data: { run_id: script, models: [{ model_id: modelId }] }
      });
      expect(output.ok()).toBe(true);
      expect(Object.keys((await getRun(request, script)).tags)).not.toContain(
        'mm.mlflow.models'
      );
      await page.evaluate(() =>
        window.jupyterapp.commands.execute('jupyter-mm:refresh-runs')
      );
      await expect(rowOf(page, script)).toHaveCount(1);
    });

    for (const [i, theme] of (['dark', 'light'] as const).entries()) {
      await test.step(`${theme} theme: the script run's notebook actions say why not; its MLflow model is registered from the menu`, async () => {
        await setTheme(page, theme);
        // Registering opens the Models panel: back to the runs.
        await page.sidebar.openTab(SIDEBAR);
        const menu = await contextMenu(page, script);
        const cell = menuItem(menu, 'jupyter-mm:open-run-notebook');
        await expect(cell).toHaveClass(/lm-mod-disabled/);
        await expect(cell).toContainText('not from a notebook');
        const snapshot = menuItem(menu, 'jupyter-mm:open-run-snapshot');
        await expect(snapshot).toHaveClass(/lm-mod-disabled/);
        await expect(snapshot).toContainText('(none)');
        const register = menuItem(menu, 'jupyter-mm:register-run-model');
        await expect(register).not.toHaveClass(/lm-mod-disabled/);
        await expect(register).not.toContainText('(no model)');
        await register.click();
        const form = dialog(page);
        const pick = form.locator('select[name="path"]');
        await expect(pick).toHaveValue(`models:/${modelId}`);
        await expect(pick.locator('option')).toHaveText([
          /^mlflow-rf \(MLflow logged model, sklearn, /
        ]);
        await form.locator('[name="name"]').fill(`${MODEL}-mlflow`);
        await form
          .getByRole('button', { name: 'Register', exact: true })
          .click();
        await expect(form).toHaveCount(0);
        // The version records the logged model.
        const url = `${API}/registry/models/${MODEL}-mlflow/versions/${i + 1}`;
        await expect
          .poll(async () => (await request.get(url)).status())
          .toBe(200);
        expect((await (await request.get(url)).json()).source).toBe(
          `models:/${modelId}`
        );
      });
    }
  });
});
