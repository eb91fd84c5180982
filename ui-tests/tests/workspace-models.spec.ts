/**
 * The registry in the runs workspace (issue 15), in a real JupyterLab with a
 * real kernel and store, in the light and the dark theme: two tracked
 * training cells with different C register versions 1 and 2 of a model; the
 * registry sidebar (its own icon beside the run sidebar) lists the model with
 * its latest version, alias and approval badge, and opens that version; two
 * versions ticked in the sidebar open the compare view, which marks the
 * differing param and metric, shows the signature, requirements and dataset
 * rows, and opens the notebook diff of the two source runs.
 */
import { expect, test } from '@jupyterlab/galata';
import type { Locator } from '@playwright/test';

import {
  ALICE,
  API,
  fillForm,
  registerVersion,
  trackNotebook,
  trainingCells
} from './helpers';

const MODELS_SIDEBAR = 'jupyter-mm-models-sidebar';

/** The training cells with C set to `c`, also logging C and a coefficient. */
function cellsWithC(runName: string, experiment: string, c: string): string[] {
  return trainingCells(runName, experiment).map(cell =>
    cell
      .replace('C = 0.5', `C = ${c}`)
      .replace(
        "print('trained with C =', C)",
        "mm.log_param('C', C)\nmm.log_metric('coef0', float(clf.coef_[0][0]))\nmm.log_dataset(X, 'applications')"
      )
  );
}

/** The mean of an element's computed colour channels (0 black … 255 white). */
function brightness(locator: Locator, property: 'color' | 'background-color') {
  return locator.evaluate((el, prop) => {
    const [r, g, b] = getComputedStyle(el)
      .getPropertyValue(prop)
      .match(/\d+/g)!
      .map(Number);
    return (r + g + b) / 3;
  }, property);
}

for (const theme of ['light', 'dark'] as const) {
  test.describe(`registry in the workspace (${theme})`, () => {
    test.use({ autoGoto: true, extraHTTPHeaders: ALICE });

    test(`sidebar lists and opens a model; versions compare side by side (${theme})`, async ({
      page,
      request,
      tmpPath
    }) => {
      test.setTimeout(180000);
      const model = `ws-model-${theme}`;
      const experiment = `ui-ws-${theme}`;
      if (theme === 'dark') {
        await page.theme.setDarkTheme();
      }
      const runs: string[] = [];
      await test.step('two tracked trainings, C = 0.5 and C = 2.0, registered as v1 and v2', async () => {
        for (const [i, c] of ['0.5', '2.0'].entries()) {
          const name = `ws-train-${theme}-${i + 1}`;
          runs.push(
            await trackNotebook(
              page,
              request,
              `${tmpPath}/${name}.ipynb`,
              cellsWithC(name, experiment, c),
              name
            )
          );
        }
        await registerVersion(request, model, runs[0]);
        expect(
          (
            await request.post(`${API}/registry/models/${model}/versions`, {
              data: { run_id: runs[1], path: 'models/pd' }
            })
          ).status()
        ).toBe(201);
        expect(
          (
            await request.put(
              `${API}/registry/models/${model}/aliases/champion`,
              {
                data: { version: 1, comment: 'first' }
              }
            )
          ).status()
        ).toBe(200);
      });

      const sidebar = page.locator(`#${MODELS_SIDEBAR}`);
      const item = sidebar.locator(`[data-model="${model}"]`);
      await test.step('the registry sidebar lists the model with its latest version and alias', async () => {
        await page.sidebar.openTab(MODELS_SIDEBAR);
        await expect(item.locator('.jp-mm-models-sidebar-latest')).toHaveText(
          'v2'
        );
        await expect(item.locator('.jp-mm-approval')).toHaveText(
          'not submitted'
        );
        await expect(item.locator('.jp-mm-alias-badge')).toHaveText(
          '@champion → v1'
        );
      });

      await test.step('live: an approval request elsewhere shows in the sidebar', async () => {
        expect(
          (
            await request.post(
              `${API}/registry/models/${model}/versions/2/approval/request`,
              { data: { comment: 'ship it' } }
            )
          ).status()
        ).toBe(200);
        await expect(item.locator('.jp-mm-approval')).toHaveText(
          'pending approval'
        );
      });

      await test.step('clicking the model opens its latest version', async () => {
        await item.getByRole('button', { name: model, exact: true }).click();
        const view = page.locator(`#jupyter-mm-model-${model}-2`);
        await expect(view).toBeVisible();
        await expect(view.locator('.jp-mm-version-view')).toContainText(
          runs[1].slice(0, 8)
        );
      });

      const compare = page.locator('.jp-mm-version-compare');
      await test.step('ticking v1 and v2 opens the compare view, differences marked', async () => {
        const compareButton = sidebar.getByRole('button', {
          name: /^Compare/
        });
        await expect(compareButton).toBeDisabled();
        await item
          .getByRole('button', { name: `Show the versions of ${model}` })
          .click();
        await item.getByLabel(`Select ${model} v1 to compare`).check();
        await item.getByLabel(`Select ${model} v2 to compare`).check();
        await compareButton.click();
        const params = compare.locator('tbody[data-section="params"]');
        const c = params.locator('tr[data-key="C"]');
        await expect(c).toHaveClass(/jp-mm-differs/);
        await expect(c.locator('td')).toHaveText(['0.5', '2.0']);
        await expect(
          compare.locator('tbody[data-section="metrics"] tr[data-key="coef0"]')
        ).toHaveClass(/jp-mm-differs/);
        await expect(
          compare.locator(
            'tbody[data-section="signature"] tr[data-key="inputs"]'
          )
        ).toHaveClass(/jp-mm-same/);
        await expect(
          compare.locator(
            'tbody[data-section="signature"] tr[data-key="outputs"]'
          )
        ).toBeVisible();
        const sklearn = compare.locator(
          'tbody[data-section="requirements"] tr[data-key="scikit-learn"]'
        );
        await expect(sklearn.locator('td').first()).toHaveText(/^==\d/);
        await expect(sklearn).toHaveClass(/jp-mm-same/);
        const dataset = compare.locator(
          'tbody[data-section="datasets"] tr[data-key="applications (training)"]'
        );
        await expect(dataset.locator('td code')).toHaveText([
          /^[0-9a-f]{12}…$/,
          /^[0-9a-f]{12}…$/
        ]);
        await expect(dataset).toHaveClass(/jp-mm-same/);
        await expect(compare.locator('thead th[data-version]')).toHaveText([
          new RegExp(`^${model} v1`),
          new RegExp(`^${model} v2`)
        ]);
      });

      await test.step(`differences are visibly marked in the ${theme} theme`, async () => {
        const differs = compare.locator('tr.jp-mm-differs').first();
        const same = compare.locator('tr.jp-mm-same').first();
        expect(await brightness(differs, 'background-color')).not.toBe(
          await brightness(same, 'background-color')
        );
        const text = await brightness(differs.locator('td').first(), 'color');
        expect(text > 128 ? 'light' : 'dark').toBe(
          theme === 'dark' ? 'light' : 'dark'
        );
      });

      await test.step('the notebook diff of the two source runs opens', async () => {
        await compare.getByRole('button', { name: /^Diff notebooks/ }).click();
        const diff = page.locator(`#jupyter-mm-diff-${runs[0]}-${runs[1]}`);
        await expect(diff.locator('.jp-mm-diff-body')).toHaveClass(
          /jp-mm-diff-ready/
        );
        await expect(diff.locator('.jp-Notebook-diff')).toContainText(
          'C = 2.0'
        );
      });

      await test.step('“Compare with…” in the version view compares v2 with v1', async () => {
        const view = page.locator(`#jupyter-mm-model-${model}-2`);
        await page.activity.activateTab(`${model} v2`);
        await view.getByRole('button', { name: 'Compare with…' }).click();
        await fillForm(page, { versions: '1' }, 'Compare');
        const second = page.locator('.jp-mm-version-compare:visible');
        await expect(second.locator('thead th[data-version]')).toHaveText([
          new RegExp(`^${model} v2`),
          new RegExp(`^${model} v1`)
        ]);
        await expect(second.locator('tr[data-key="C"] td')).toHaveText([
          '2.0',
          '0.5'
        ]);
      });
    });
  });
}
