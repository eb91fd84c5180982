/**
 * The sidebar run panel, end to end: a real JupyterLab, a real kernel running
 * `%%track` cells into a fresh store, and the panel following them live.
 */
import { expect, test } from '@jupyterlab/galata';
import type { Locator, Page } from '@playwright/test';
import {
  chooseColumns,
  createRestRun,
  execute,
  runPanel,
  runRows,
  selectExperiment,
  SIDEBAR,
  uploadNotebook,
  workspaceSaved
} from './helpers';

// Its own experiment and cell ids: other spec files log into the same store.
/**
 * Cells logging three finished runs and a running one into `experiment` (one
 * per attempt, so that a retry starts from an empty experiment).
 */
function trackedCells(experiment: string): string[] {
  return [
    'import os, time\nimport jupyter_mm as mm',
    `%%track baseline -e ${experiment}\nlr = 0.1\nmm.log_metric('auc', 0.71)`,
    `%%track tuned -e ${experiment}\nlr = 0.03\nmm.log_metric('auc', 0.84)`,
    `%%track wide -e ${experiment}\nlr = 0.3\nmm.log_metric('auc', 0.78)`,
    [
      `%%track ongoing -e ${experiment}`,
      'step = 0',
      "while not os.path.exists('stop.txt'):",
      "    mm.log_metric('loss', 1.0 / (step + 1))",
      '    step += 1',
      '    time.sleep(0.3)'
    ].join('\n')
  ];
}

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
  }, testInfo) => {
    test.setTimeout(180000);
    const experiment = `ui-run-panel-${testInfo.retry}`;
    await page.sidebar.openTab(SIDEBAR);
    await page.sidebar.setWidth(560);
    await expect(runPanel(page)).toBeVisible();

    await test.step('run a notebook with tracked cells', async () => {
      await uploadNotebook(
        page,
        `${tmpPath}/tracked.ipynb`,
        trackedCells(experiment),
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
      await selectExperiment(page, experiment);
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
      await expect(
        runPanel(page).locator('[aria-selected="true"]')
      ).toHaveCount(3);
      await row(page, 'wide').click({ modifiers: ['ControlOrMeta'] });
      await expect(
        runPanel(page).locator('[aria-selected="true"]')
      ).toHaveCount(2);
      await expect(runPanel(page).locator('.jp-mm-runs-footer')).toContainText(
        '2 selected'
      );
    });

    await test.step('reference screenshot', async () => {
      // Whether `step` was among the default columns when the first column
      // was chosen depends on how far the running cell had got: show it.
      await chooseColumns(page, [['Params', 'step']]);
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
      await expect(tabs.filter({ hasText: /^Compare: / })).toHaveCount(1);
      await row(page, 'tuned').dblclick();
      await expect(tabs.filter({ hasText: /^tuned$/ })).toHaveCount(1);
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

/** The picker's shown choice. */
function pickedExperiment(page: Page): Promise<string> {
  return runPanel(page)
    .getByRole('combobox', { name: 'Experiment' })
    .evaluate(
      (select: HTMLSelectElement) =>
        select.options[select.selectedIndex]?.text ?? ''
    );
}

/** Headers of the run table, left to right. */
function headers(page: Page): Promise<string[]> {
  return runPanel(page)
    .locator('.jp-mm-runs-headcell')
    .evaluateAll(cells => cells.map(c => c.getAttribute('data-column') ?? ''));
}

/** The main area's tabs of jupyter-mm run views. */
function runTabs(page: Page): Locator {
  return page.locator(
    '#jp-main-dock-panel .lm-TabBar-tab[data-id^="jupyter-mm-run-"]'
  );
}

/** The main-area tab of one run's view. */
function runTab(page: Page, runId: string): Locator {
  return page.locator(
    `#jp-main-dock-panel .lm-TabBar-tab[data-id="jupyter-mm-run-${runId}"]`
  );
}

/**
 * Right-click a run view's tab: its context menu's pin item, once open.
 */
async function tabPinItem(page: Page, runId: string): Promise<Locator> {
  await runTab(page, runId).click({ button: 'right' });
  const item = page.locator(
    '.lm-Menu .lm-Menu-item[data-command="jupyter-mm:toggle-pin-tab"]'
  );
  await expect(item).toBeVisible();
  return item;
}

/** Choose "Pin Tab" or "Unpin Tab" (`label`) in a run view's tab menu. */
async function togglePinFromTab(
  page: Page,
  runId: string,
  label: 'Pin Tab' | 'Unpin Tab'
): Promise<void> {
  const item = await tabPinItem(page, runId);
  await expect(item).toHaveText(label);
  await item.click();
  await expect(item).toHaveCount(0);
}

for (const theme of ['light', 'dark'] as const) {
  test.describe(`runs workspace (${theme} theme)`, () => {
    test.use({ autoGoto: true });

    test.beforeEach(async ({ page }) => {
      if (theme === 'dark') {
        await page.theme.setDarkTheme();
      }
    });

    test('opens on the experiment with the newest run and remembers the choice', async ({
      page,
      request
    }) => {
      const experiment = `ws-open-${theme}`;
      await createRestRun(request, experiment, 'first');
      await createRestRun(request, experiment, 'second');
      // The panel starts after the runs exist (as on opening JupyterLab).
      await page.reload();
      await page.sidebar.openTab(SIDEBAR);
      await expect.poll(() => pickedExperiment(page)).toBe(experiment);
      await expect(runRows(page)).toHaveCount(2);
      await expect(runPanel(page)).not.toContainText('No runs yet');

      // The choice is kept in the workspace (IStateDB): reload once it is
      // saved (JupyterLab also saves the workspace for layout changes).
      let saved = workspaceSaved(page, '"experimentId":"0"');
      await selectExperiment(page, 'Default');
      await saved;
      await page.reload();
      await page.sidebar.openTab(SIDEBAR);
      await expect.poll(() => pickedExperiment(page)).toBe('Default');
      saved = workspaceSaved(page, '"experimentId":"*"');
      await runPanel(page)
        .getByRole('combobox', { name: 'Experiment' })
        .selectOption({ label: 'All experiments' });
      await saved;
      await page.reload();
      await page.sidebar.openTab(SIDEBAR);
      await expect.poll(() => pickedExperiment(page)).toBe('All experiments');
    });

    test('All experiments: runs of two experiments searched and compared', async ({
      page,
      request
    }) => {
      const prefix = `ws-all-${theme}`;
      await createRestRun(
        request,
        `${prefix}-a`,
        `${prefix}-one`,
        {},
        {
          auc: 0.7
        }
      );
      await createRestRun(
        request,
        `${prefix}-b`,
        `${prefix}-two`,
        {},
        {
          auc: 0.8
        }
      );
      await page.sidebar.openTab(SIDEBAR);
      await page.sidebar.setWidth(560);
      await runPanel(page)
        .getByRole('combobox', { name: 'Experiment' })
        .selectOption({ label: 'All experiments' });
      const input = runPanel(page).getByRole('searchbox', {
        name: 'Filter runs'
      });
      await input.fill(`attributes.run_name LIKE '${prefix}-%'`);
      await input.press('Enter');
      await expect(runRows(page)).toHaveCount(2);
      // Each run shows its experiment.
      const experiments = runPanel(page).locator(
        '.jp-mm-runs-row [data-column="attributes.experiment"]'
      );
      await expect(experiments).toHaveText([`${prefix}-b`, `${prefix}-a`]);
      await runRows(page).nth(0).click();
      await runRows(page)
        .nth(1)
        .click({ modifiers: ['Shift'] });
      await runPanel(page).getByRole('button', { name: 'Compare' }).click();
      await expect(
        page.locator('#jp-main-dock-panel .lm-TabBar-tab', {
          hasText: `Compare: ${prefix}-two, ${prefix}-one`
        })
      ).toHaveCount(1);
      await expect(
        page.locator('.jp-mm-compareview:visible').getByText(`${prefix}-one`)
      ).not.toHaveCount(0);
    });

    test('default columns: what differs, fitted, name fixed, same names told apart', async ({
      page,
      request
    }) => {
      const experiment = `ws-cols-${theme}`;
      const long = 'x'.repeat(40);
      const same1 = await createRestRun(
        request,
        experiment,
        'same',
        { lr: '0.1', seed: '1', note: long },
        { auc: 0.7, loss: 0.5 }
      );
      const same2 = await createRestRun(
        request,
        experiment,
        'same',
        { lr: '0.2', seed: '1', note: long + 'y' },
        { auc: 0.8, loss: 0.5 }
      );
      await createRestRun(
        request,
        experiment,
        'other',
        { lr: '0.3', seed: '1', note: long + 'z' },
        { auc: 0.9, loss: 0.5 }
      );
      await page.sidebar.openTab(SIDEBAR);
      await page.sidebar.setWidth(320);
      await selectExperiment(page, experiment);
      await expect(runRows(page)).toHaveCount(3);
      // What differs (auc, lr, note) is shown; what does not (loss, seed) is not.
      await expect
        .poll(() => headers(page))
        .toEqual([
          'attributes.status',
          'attributes.name',
          'attributes.start_time',
          'metrics.auc',
          'params.lr',
          'params.note'
        ]);
      // Headers fit: "Status", not "Sta".
      for (const id of ['attributes.status', 'attributes.start_time']) {
        const cell = runPanel(page).locator(
          `.jp-mm-runs-headcell[data-column="${id}"]`
        );
        expect(
          await cell.evaluate(el => el.scrollWidth <= el.clientWidth)
        ).toBe(true);
      }
      // The two "same" runs carry their short ids; "other" none.
      const shortIds = runPanel(page).locator('.jp-mm-runs-shortid');
      await expect(shortIds).toHaveCount(2);
      await expect(
        runPanel(page).locator(`[data-run-id="${same1}"] .jp-mm-runs-shortid`)
      ).toHaveText(same1.slice(0, 8));
      await expect(
        runPanel(page).locator(`[data-run-id="${same2}"] .jp-mm-runs-shortid`)
      ).toHaveText(same2.slice(0, 8));
      // Scrolling sideways keeps the name in place, on an opaque background.
      const table = runPanel(page).locator('.jp-mm-runs-table');
      const name = runPanel(page)
        .locator(`[data-run-id="${same1}"] [data-column="attributes.name"]`)
        .first();
      const before = (await name.boundingBox())!.x;
      const scrolled = await table.evaluate(el => {
        el.scrollLeft = el.scrollWidth;
        return el.scrollLeft;
      });
      expect(scrolled).toBeGreaterThan(100);
      await expect.poll(async () => (await name.boundingBox())!.x).toBe(before);
      const started = runPanel(page)
        .locator(
          `[data-run-id="${same1}"] [data-column="attributes.start_time"]`
        )
        .first();
      expect((await started.boundingBox())!.x).toBeLessThan(before);
      const colors = await name.evaluate(el => {
        const bg = getComputedStyle(el).backgroundColor;
        const body = getComputedStyle(document.body).getPropertyValue(
          '--jp-layout-color1'
        );
        const probe = document.createElement('div');
        probe.style.backgroundColor = body;
        document.body.appendChild(probe);
        const expected = getComputedStyle(probe).backgroundColor;
        probe.remove();
        return { bg, expected };
      });
      expect(colors.bg).toBe(colors.expected);
    });

    test('one run view reused, a pinned one kept, tabs titled with run names', async ({
      page,
      request
    }) => {
      const experiment = `ws-tabs-${theme}`;
      const alpha = await createRestRun(request, experiment, 'alpha');
      const beta = await createRestRun(request, experiment, 'beta');
      const gamma = await createRestRun(request, experiment, 'beta');
      await execute(page, 'jupyter-mm:open-run', { runId: alpha });
      await expect(runTabs(page)).toHaveText(['alpha']);
      await expect(runTabs(page)).toHaveAttribute('title', new RegExp(alpha));
      // The next run replaces the unpinned view.
      await execute(page, 'jupyter-mm:open-run', { runId: beta });
      await expect(runTabs(page)).toHaveText(['beta']);
      await expect(page.locator(`#jupyter-mm-run-${alpha}`)).toHaveCount(0);
      // Pinned from its tab's context menu (the view's Pin button follows),
      // it stays; the next run opens beside it.
      // (the view behind another tab is hidden, its button too)
      const pin = page
        .locator(`#jupyter-mm-run-${beta}`)
        .getByRole('button', { name: 'Pin', includeHidden: true });
      await expect(pin).toHaveAttribute('aria-pressed', 'false');
      await togglePinFromTab(page, beta, 'Pin Tab');
      await expect(pin).toHaveAttribute('aria-pressed', 'true');
      await expect(runTabs(page)).toHaveClass(/jp-mm-mod-pinned/);
      await execute(page, 'jupyter-mm:open-run', { runId: gamma });
      // Same names: the short id tells the tabs apart.
      await expect(runTabs(page)).toHaveText([
        `beta · ${beta.slice(0, 8)}`,
        `beta · ${gamma.slice(0, 8)}`
      ]);
      await execute(page, 'jupyter-mm:open-run', { runId: alpha });
      await expect(runTabs(page)).toHaveText([`beta`, 'alpha']);
      await expect(page.locator(`#jupyter-mm-run-${beta}`)).toHaveCount(1);
      // The button pins too, and the tab's menu then offers to unpin.
      await page
        .locator(`#jupyter-mm-run-${alpha}`)
        .getByRole('button', { name: 'Pin' })
        .click();
      await togglePinFromTab(page, beta, 'Unpin Tab');
      await expect(pin).toHaveAttribute('aria-pressed', 'false');
      await expect(runTab(page, beta)).toHaveClass(/jp-mm-mod-preview/);
      // Unpinned again, beta is the view the next run replaces.
      await execute(page, 'jupyter-mm:open-run', { runId: gamma });
      await expect(runTab(page, gamma)).toHaveCount(1);
      await expect(page.locator(`#jupyter-mm-run-${beta}`)).toHaveCount(0);
      await expect(runTabs(page)).toHaveText(['beta', 'alpha']);
      await expect(await tabPinItem(page, alpha)).toHaveText('Unpin Tab');
      await page.keyboard.press('Escape');
    });
  });
}
