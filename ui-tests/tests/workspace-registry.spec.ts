/**
 * The runs workspace and the registry, issue #15: a model logged by the
 * official `mlflow` client (an MLflow 3 logged model, in a real kernel) is
 * registered from the run view by picking it from the run's models (not by
 * typing a path); the run view lists the versions registered from it, the
 * versions list shows the source run's name and key metrics instead of a hex
 * id; and on a one-person lab the requester sees Approve disabled with who
 * must decide, and can turn four eyes off (an audited policy change). Every
 * step in the dark and the light theme.
 */
import { expect, test } from '@jupyterlab/galata';
import {
  API,
  dialog,
  execute,
  openNotebook,
  setTheme,
  uploadNotebook
} from './helpers';

const RUN = 'mlflow-logged-clf';

function mlflowCells(trackingUri: string): string[] {
  return [
    [
      'import mlflow, numpy as np',
      'from sklearn.linear_model import LinearRegression',
      `mlflow.set_tracking_uri(${JSON.stringify(trackingUri)})`,
      "mlflow.set_experiment('workspace-registry')",
      'X = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 1.0], [3.0, 2.0]])',
      'model = LinearRegression().fit(X, X @ np.array([2.0, -1.0]))',
      `with mlflow.start_run(run_name=${JSON.stringify(RUN)}):`,
      "    mlflow.log_metric('rmse', 0.125)",
      "    mlflow.sklearn.log_model(model, name='clf', serialization_format='cloudpickle')",
      "print('logged')"
    ].join('\n')
  ];
}

test.describe('runs workspace: registering and approving', () => {
  test.setTimeout(300_000);

  test('an MLflow-logged model registered by picking it, its versions listed, the requester told who decides', async ({
    page,
    request,
    baseURL,
    tmpPath
  }) => {
    const uri = `${baseURL}/jupyter-mm/mlflow`;
    const path = `${tmpPath}/workspace-registry.ipynb`;
    await uploadNotebook(page, path, mlflowCells(uri));
    await openNotebook(page, path);
    await page.notebook.run();
    let runId = '';
    await expect
      .poll(
        async () => {
          const reply = await request.get(`${API}/runs?max_results=1000`);
          const runs = (await reply.json()).runs as {
            id: string;
            name: string;
          }[];
          runId = runs.find(r => r.name === RUN)?.id ?? '';
          if (!runId) {
            return 0;
          }
          const models = await request.get(`${API}/runs/${runId}/models`);
          return (await models.json()).models.length;
        },
        { timeout: 120_000 }
      )
      .toBe(1);
    await page.notebook.close(true);

    await execute(page, 'jupyter-mm:open-run', { runId });
    const view = page.locator('.jp-mm-runview');
    const register = view.locator('.jp-mm-register');
    for (const [i, theme] of (['dark', 'light'] as const).entries()) {
      await test.step(`${theme} theme: Register offers the MLflow-logged model`, async () => {
        await setTheme(page, theme);
        await execute(page, 'jupyter-mm:open-run', { runId });
        await expect(register).toBeEnabled();
        await register.click();
        const d = dialog(page);
        const pick = d.locator('select[name="path"]');
        await expect(pick.locator('option')).toHaveText([
          /^clf \(MLflow logged model, sklearn, \d{4}-\d\d-\d\d .* UTC\)$/
        ]);
        await expect(d.locator('input[name="runId"]')).toHaveCount(0);
        await d.locator('[name="name"]').fill('ws-model');
        await d.getByRole('button', { name: 'Register', exact: true }).click();
        await expect(page.locator('.jp-mm-form')).toHaveCount(0);
        // The version records the logged model (its models:/m-… source).
        // The registration ends after the form closes: wait for it.
        const url = `${API}/registry/models/ws-model/versions/${i + 1}`;
        await expect
          .poll(async () => (await request.get(url)).status())
          .toBe(200);
        const v = await (await request.get(url)).json();
        expect(v.source).toMatch(/^models:\/m-[0-9a-f]{32}$/);
        expect(v.run_id).toBe(runId);
      });
    }

    for (const theme of ['dark', 'light'] as const) {
      await test.step(`${theme} theme: the run view lists its versions, the versions list its run by name`, async () => {
        await setTheme(page, theme);
        await execute(page, 'jupyter-mm:open-run', { runId });
        const listed = view.locator('.jp-mm-registered-versions li');
        await expect(listed).toHaveCount(2);
        await expect(listed.first()).toContainText('ws-model v2');
        await execute(page, 'jupyter-mm:open-models', { name: 'ws-model' });
        const sources = page.locator(
          '.jp-mm-versions-table .jp-mm-source-run'
        );
        await expect(sources).toHaveCount(2);
        for (const source of await sources.all()) {
          await expect(source.locator('.jp-mm-runid')).toHaveText(RUN);
          await expect(source).toContainText('rmse 0.125');
          await expect(source).not.toContainText(runId.slice(0, 8));
        }
      });
    }

    await execute(page, 'jupyter-mm:open-run', { runId });
    await view.getByRole('link', { name: 'ws-model v1' }).click();
    const version = page.locator('.jp-mm-version-view').last();
    await version.getByRole('button', { name: 'Request approval' }).click();
    await expect(dialog(page)).toContainText('Working alone?');
    await dialog(page).locator('[name="comment"]').fill('ready');
    await dialog(page).getByRole('button', { name: 'Request' }).click();
    await expect(page.locator('.jp-mm-form')).toHaveCount(0);
    const approve = version.getByRole('button', {
      name: 'Approve',
      exact: true
    });
    for (const theme of ['dark', 'light'] as const) {
      await test.step(`${theme} theme: the requester's Approve is disabled and says who decides`, async () => {
        await setTheme(page, theme);
        await expect(approve).toBeDisabled();
        await expect(approve).toHaveAttribute(
          'title',
          /requested this approval: under the four-eyes policy anyone but you must decide/
        );
        await expect(
          version.getByRole('button', { name: 'Reject', exact: true })
        ).toBeDisabled();
        await expect(version.locator('.jp-mm-decision-block')).toBeVisible();
      });
    }

    // Alone in the lab: turn four eyes off (audited), then approve.
    await version.getByRole('button', { name: 'Turn off four eyes…' }).click();
    await dialog(page)
      .locator('[name="reason"]')
      .fill('one-person lab: no second reviewer');
    await dialog(page).getByRole('button', { name: 'Turn off' }).click();
    await expect(approve).toBeEnabled();
    const audit = await (
      await request.get(`${API}/registry/audit?limit=1000`)
    ).json();
    const change = (audit.entries as any[]).filter(e =>
      String(e.action).startsWith('policy')
    );
    expect(change.at(-1).comment).toBe('one-person lab: no second reviewer');
  });
});
