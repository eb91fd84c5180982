/**
 * The in-notebook comparison widget in Jupyter Notebook 7 (issue 6: "works in
 * JupyterLab 4, Notebook 7 and VS Code"): the `notebook7` project of
 * playwright.config.js, against its own `jupyter notebook` server (port
 * MM_UI_NB_PORT, own root directory and store).
 *
 * Galata's fixtures drive JupyterLab, so this spec uses plain Playwright: the
 * notebook is written through the contents REST API, opened at
 * /notebooks/<path>.ipynb, and its cells run from the keyboard. Notebook 7 is
 * built from JupyterLab's components, so the cells and outputs carry the same
 * `.jp-*` classes, and the widget is checked with the helpers widgets.spec.ts
 * uses.
 */
import { expect, test } from '@playwright/test';
import type { Locator, Page } from '@playwright/test';
import {
  compareCells,
  compareWidget,
  curves,
  expectCurvesDrawn,
  expectOtherViewsDrawn,
  notebookOf,
  stepChangeMetric,
  stepSmoothCurves
} from './helpers';

const NOTEBOOK = 'compare-notebook7.ipynb';

const CELLS = compareCells('notebook7-ui');

function cell(page: Page, index: number): Locator {
  return page.locator('.jp-Notebook .jp-Cell').nth(index);
}

/** Runs a cell as a user would: click into its editor, Shift+Enter, and wait
 * until the kernel has executed it (its prompt shows an execution count). */
async function runCell(page: Page, index: number): Promise<void> {
  const target = cell(page, index);
  await target.locator('.jp-InputArea-editor').click();
  await expect(target).toHaveClass(/jp-mod-active/);
  await page.keyboard.press('Shift+Enter');
  await expect(target.locator('.jp-InputArea-prompt')).toHaveText(/\[\d+\]/, {
    timeout: 60000
  });
}

test.describe('comparison widget in Notebook 7', () => {
  test('renders, and redraws when the metric and the smoothing change', async ({
    page,
    request
  }, testInfo) => {
    test.setTimeout(180000);
    // Uncaught errors in the page fail the test, except one Notebook 7.6 raises
    // on every page load from its own keyboard-shortcuts settings code (also
    // with jupyter-mm's labextension disabled): not the widget's doing.
    const errors: string[] = [];
    page.on('pageerror', error => {
      const stack = error.stack ?? '';
      const frames = stack.split('\n').filter(line => /^\s+at /.test(line));
      const notebookShortcutsError =
        error.message.includes("reading 'schema'") &&
        frames.length > 0 &&
        frames.every(
          line =>
            line.includes('/static/notebook/notebook_core.') ||
            /at async Promise\.all/.test(line)
        );
      if (!notebookShortcutsError) {
        errors.push(stack || String(error));
      }
    });

    const notebook = notebookOf(CELLS);
    const put = await request.put(`/api/contents/${NOTEBOOK}`, {
      data: { type: 'notebook', format: 'json', content: notebook }
    });
    expect(put.ok(), await put.text()).toBe(true);

    await test.step('the notebook opens in Notebook 7 with a kernel', async () => {
      await page.goto(`/notebooks/${NOTEBOOK}`);
      // the Notebook 7 notebook page, not JupyterLab
      await expect(page.locator('body')).toHaveAttribute(
        'data-notebook',
        'notebooks'
      );
      const app = await page.evaluate(() =>
        JSON.parse(
          document.getElementById('jupyter-config-data')?.textContent ?? '{}'
        )
      );
      expect(app.appName).toBe('Jupyter Notebook');
      expect(String(app.appVersion)).toMatch(/^7\./);
      await expect(page.locator('.jp-Notebook .jp-Cell')).toHaveCount(
        CELLS.length
      );
      await expect(
        page.locator('.jp-Notebook-ExecutionIndicator')
      ).toHaveAttribute('data-status', 'idle', { timeout: 60000 });
    });

    await test.step('the widget renders with plotly', async () => {
      await runCell(page, 0);
      await expect(cell(page, 0).locator('.jp-OutputArea-output')).toContainText(
        'logged'
      );
      await runCell(page, 1);
      await expectCurvesDrawn(page);
      // plotly drew one line per run
      await expect(curves(page).locator('.scatterlayer .trace')).toHaveCount(3);
      await expectOtherViewsDrawn(page);
      await expect
        .poll(async () =>
          (
            await compareWidget(page)
              .locator('.jmm-cmp-table tbody .jmm-cmp-name')
              .allInnerTexts()
          )
            .map(name => name.trim())
            .sort()
        )
        .toEqual(['fast', 'mid', 'slow']);
      // the differing params are highlighted in the table
      await expect(
        compareWidget(page).locator('.jmm-cmp-table th.jmm-cmp-differs')
      ).toHaveText(['lr', 'opt']);
    });

    await stepChangeMetric(page);
    await stepSmoothCurves(page);

    // for people reading the report (not a reference: plotly's text rendering varies)
    await compareWidget(page).screenshot({
      path: testInfo.outputPath('compare-widget-notebook7.png')
    });

    await test.step('the kernel holds what the browser chose', async () => {
      await runCell(page, 2);
      await expect(cell(page, 2).locator('.jp-OutputArea-output')).toContainText(
        'state acc 0.8 6'
      );
    });

    expect(errors).toEqual([]);
  });
});
