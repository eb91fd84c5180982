/**
 * The sidebar run panel, end to end: a real JupyterLab, a real kernel running
 * `%%track` cells into a fresh store, and the panel following them live.
 */
import { expect, test } from '@jupyterlab/galata';
import type { Locator, Page } from '@playwright/test';
import {
  chooseColumns,
  execute,
  runPanel,
  runRows,
  selectExperiment,
  SIDEBAR,
  uploadNotebook
} from './helpers';

// Its own experiment and cell ids: other spec files log into the same store.
const EXPERIMENT = 'ui-run-panel';

const CELLS = [
  'import os, time\nimport jupyter_mm as mm',
  "%%track baseline -e ui-run-panel\nlr = 0.1\nmm.log_metric('auc', 0.71)",
  "%%track tuned -e ui-run-panel\nlr = 0.03\nmm.log_metric('auc', 0.84)",
  "%%track wide -e ui-run-panel\nlr = 0.3\nmm.log_metric('auc', 0.78)",
  [
    '%%track ongoing -e ui-run-panel',
    'step = 0',
    "while not os.path.exists('stop.txt'):",
    "    mm.log_metric('loss', 1.0 / (step + 1))",
    '    step += 1',
    '    time.sleep(0.3)'
  ].join('\n')
];

/** The row of the run named `name`. */
function row(page: Page, name: string): Locator {
  return runRows(page).filter({
    has: page.locator('[data-column="attributes.name"]', { hasText: name })
  });
}

/** Names of the shown rows, top to bottom (read in one go: rows come and go). */
function names(page: Page): Promise<string[]> {
  return runPanel(page)
    .locator('.jp-mm-runs-body')
    .evaluate(body =>
      Array.from(body.querySelectorAll('.jp-mm-runs-row[data-run-id]'))
        .map(row => ({
          index: Number(row.getAttribute('data-index')),
          name:
            row.querySelector('[data-column="attributes.name"]')?.textContent ??
            ''
        }))
        .sort((a, b) => a.index - b.index)
        .map(r => r.name)
    );
}

async function applyFilter(page: Page, text: string): Promise<void> {
  const input = runPanel(page).getByRole('searchbox', { name: 'Filter runs' });
  await input.fill(text);
  await input.press('Enter');
}

test.describe.configure({ mode: 'serial' });

test.describe('run panel', () => {
  test.use({ autoGoto: true });

  test('follows tracked cells live; filters, sorts, selects and acts', async ({
    page,
    tmpPath
  }) => {
    test.setTimeout(180000);
    await page.sidebar.openTab(SIDEBAR);
    await page.sidebar.setWidth(560);
    await expect(runPanel(page)).toBeVisible();

    await test.step('run a notebook with tracked cells', async () => {
      await uploadNotebook(
        page,
        `${tmpPath}/tracked.ipynb`,
        CELLS,
        'mm-run-panel'
      );
      // Open it (not from the file browser, which would replace the run
      // panel in the sidebar) and wait until the kernel answered kernel_info
      // (before that, execution requests can be dropped).
      await page.evaluate(async path => {
        const widget: any = await window.jupyterapp.commands.execute(
          'docmanager:open',
          { path }
        );
        await widget.sessionContext.ready;
        await widget.sessionContext.session.kernel.info;
      }, `${tmpPath}/tracked.ipynb`);
      // Run everything without waiting: the last cell runs until told to stop.
      await execute(page, 'notebook:run-all-cells');
    });

    await test.step('runs appear live, the running one updating', async () => {
      // The experiment the first cell created appears in the picker.
      await selectExperiment(page, EXPERIMENT);
      await expect(runRows(page)).toHaveCount(4);
      await expect(
        row(page, 'ongoing').locator('.jp-mm-runs-badge-running')
      ).toBeVisible();
      await expect(
        row(page, 'baseline').locator('.jp-mm-runs-badge-finished')
      ).toBeVisible();

      await chooseColumns(page, [
        ['Metrics', 'loss'],
        ['Metrics', 'auc'],
        ['Params', 'lr']
      ]);

      const loss = row(page, 'ongoing').locator('[data-column="metrics.loss"]');
      await expect(loss).not.toHaveText('');
      const first = await loss.textContent();
      // The latest loss falls while the cell runs, without any reload.
      await expect(loss).not.toHaveText(first ?? '');
      await expect(
        row(page, 'tuned').locator('[data-column="params.lr"]')
      ).toHaveText('0.03');
    });

    await test.step('the running cell finishes', async () => {
      await page.contents.uploadContent('stop', 'text', `${tmpPath}/stop.txt`);
      await expect(
        row(page, 'ongoing').locator('.jp-mm-runs-badge-finished')
      ).toBeVisible();
    });

    await test.step('sort by a metric, both ways', async () => {
      const header = runPanel(page).locator(
        '.jp-mm-runs-headcell[data-column="metrics.auc"]'
      );
      await header.click();
      await expect(header).toHaveAttribute('aria-sort', 'ascending');
      await expect
        .poll(() => names(page))
        .toEqual(['baseline', 'wide', 'tuned', 'ongoing']);
      await header.click();
      await expect(header).toHaveAttribute('aria-sort', 'descending');
      await expect
        .poll(() => names(page))
        .toEqual(['tuned', 'wide', 'baseline', 'ongoing']);
    });

    await test.step('filter with the search grammar', async () => {
      await applyFilter(page, 'metrics.auc > 0.75');
      await expect.poll(() => names(page)).toEqual(['tuned', 'wide']);

      await applyFilter(page, 'metrics.auc > 0.75 AND params.lr =');
      const error = runPanel(page).locator('.jp-mm-filter-error');
      await expect(error).toContainText('position 34');
      await expect(error.locator('.jp-mm-filter-error-at')).toHaveCount(1);
      await expect(
        runPanel(page).getByRole('searchbox', { name: 'Filter runs' })
      ).toHaveAttribute('aria-invalid', 'true');

      await runPanel(page)
        .getByRole('searchbox', { name: 'Filter runs' })
        .press('Escape');
      await expect(error).toHaveCount(0);
      await expect(runRows(page)).toHaveCount(4);
    });

    await test.step('multi-select with click, shift and ctrl', async () => {
      await row(page, 'tuned').click();
      await row(page, 'baseline').click({ modifiers: ['Shift'] });
      await expect(runPanel(page).locator('[aria-selected="true"]')).toHaveCount(
        3
      );
      await row(page, 'wide').click({ modifiers: ['ControlOrMeta'] });
      await expect(runPanel(page).locator('[aria-selected="true"]')).toHaveCount(
        2
      );
      await expect(runPanel(page).locator('.jp-mm-runs-footer')).toContainText(
        '2 selected'
      );
    });

    await test.step('reference screenshot', async () => {
      await expect(runPanel(page)).toHaveScreenshot('run-panel.png', {
        mask: [
          runPanel(page).locator('[data-column="attributes.start_time"]'),
          runPanel(page).locator('[data-column="metrics.loss"]')
        ]
      });
    });

    await test.step('dark theme reference screenshot', async () => {
      await page.theme.setDarkTheme();
      await expect(runPanel(page)).toHaveScreenshot('run-panel-dark.png', {
        mask: [
          runPanel(page).locator('[data-column="attributes.start_time"]'),
          runPanel(page).locator('[data-column="metrics.loss"]')
        ]
      });
      await page.theme.setLightTheme();
    });

    await test.step('open and compare runs from the panel', async () => {
      const tabs = page.locator('#jp-main-dock-panel .lm-TabBar-tab');
      await runPanel(page).getByRole('button', { name: 'Compare' }).click();
      await expect(tabs.filter({ hasText: 'Compare 2 runs' })).toHaveCount(1);
      await row(page, 'tuned').dblclick();
      await expect(tabs.filter({ hasText: 'Run: tuned' })).toHaveCount(1);
    });

    await test.step('go to the cell that produced a run', async () => {
      await row(page, 'wide').click();
      await row(page, 'wide').click({ button: 'right' });
      await page
        .locator('.lm-Menu-itemLabel', { hasText: 'Go to Run Notebook Cell' })
        .click();
      await expect
        .poll(() =>
          page.evaluate(
            () =>
              (window.jupyterapp.shell.currentWidget as any)?.content
                ?.activeCellIndex
          )
        )
        .toBe(3);
    });

    await test.step('delete, show deleted, restore', async () => {
      await row(page, 'wide').click();
      await runPanel(page).locator('.jp-mm-runs-table').press('Delete');
      await page.getByRole('button', { name: 'Delete', exact: true }).click();
      await expect(runRows(page)).toHaveCount(3);
      await runPanel(page).getByLabel('Deleted').check();
      await expect(runRows(page)).toHaveCount(4);
      await expect(row(page, 'wide')).toHaveClass(/jp-mm-mod-deleted/);
      await row(page, 'wide').click({ button: 'right' });
      await page
        .locator('.lm-Menu-itemLabel', { hasText: 'Restore Runs' })
        .click();
      await expect(row(page, 'wide')).not.toHaveClass(/jp-mm-mod-deleted/);
    });

    await test.step('tracked cells link to their latest run', async () => {
      await page.notebook.activate('tracked.ipynb');
      const badge = (await page.notebook.getCellLocator(2))!.locator(
        '.jp-mm-cell-badge'
      );
      await expect(badge).toHaveText('tuned · finished');
    });

    await test.step('the Track cell button toggles %%track', async () => {
      await page.sidebar.close();
      await page.notebook.selectCells(0);
      const source = () =>
        page.evaluate(() =>
          (
            window.jupyterapp.shell.currentWidget as any
          ).content.widgets[0].model.sharedModel.getSource()
        );
      const button = page.locator(
        '.jp-NotebookPanel-toolbar [data-command="jupyter-mm:track-cell"]'
      );
      await button.click();
      await expect.poll(source).toMatch(/^%%track\n/);
      await button.click();
      await expect.poll(source).toMatch(/^import os/);
    });
  });
});
