/**
 * The in-notebook drift report (`mm.drift_report`), end to end: a real kernel
 * registers a model with a reference profile and logs a window of predictions
 * whose income moved by a standard deviation; the widget (anywidget, the shared
 * static/widget.js and static/plotly.js in front of drift_report.js, and the
 * shared static/widget.css) shows the verdict table, draws the score's and then
 * the chosen feature's figures with plotly.js, in the light and dark themes.
 */
import { expect, test } from '@jupyterlab/galata';
import type { Locator, Page } from '@playwright/test';
import { monitoredModelSetup, openNotebook, uploadNotebook } from './helpers';

const MODEL = 'scorecard-drift-report';

const CELLS = [
  [
    ...monitoredModelSetup(MODEL, 'drift-report-ui'),
    `store.create_model_version('${MODEL}', f'runs:/{run.id}/model', actor='alice')`,
    `store.set_reference_profile('${MODEL}', 1, build_profile(features(2000, 0, 0)).doc, actor='alice')`,
    'X = features(1000, 1.0, 2)',
    `mm.log_predictions('${MODEL}', 1, X, np.full(len(X), 0.5), at=time.time() - 600)`,
    "print('logged')"
  ].join('\n'),
  `mm.drift_report('${MODEL}', 1, window='1h', min_rows=200)`
];

function report(page: Page): Locator {
  return page.locator('.jmm-drift').first();
}

/** The report's section of `feature`'s figures. */
function section(page: Page, feature: string): Locator {
  return report(page)
    .locator('.jmm-drift-feature')
    .filter({ has: page.locator('h4', { hasText: new RegExp(`^${feature}$`) }) });
}

/** How many of `feature`'s plot areas plotly has drawn (a div with traces). */
async function plotsDrawn(page: Page, feature: string): Promise<number> {
  return section(page, feature)
    .locator('.jmm-drift-plot')
    .evaluateAll(
      (divs: any[]) => divs.filter(d => (d.data || []).length > 0).length
    );
}

/** 'dark' or 'light': the luminance of an element's computed style property. */
async function shade(node: Locator, property: string): Promise<string> {
  const value = await node.evaluate(
    (n: Element, p: string) => getComputedStyle(n).getPropertyValue(p),
    property
  );
  const [r, g, b] = (value.match(/\d+/g) ?? []).map(Number);
  return (r + g + b) / 3 > 128 ? 'light' : 'dark';
}

test.describe('drift report widget', () => {
  test.use({ autoGoto: true });

  test('shows the verdicts, draws the chosen feature, in both themes', async ({
    page,
    tmpPath
  }) => {
    test.setTimeout(240000);
    await uploadNotebook(page, `${tmpPath}/drift.ipynb`, CELLS);
    await openNotebook(page, `${tmpPath}/drift.ipynb`);

    await test.step('the report renders its verdicts and plots', async () => {
      await page.notebook.runCell(0, true);
      await expect(
        page.locator('.jp-OutputArea-output').first()
      ).toContainText('logged');
      await page.notebook.runCell(1, true);
      const income = report(page).locator(
        '.jmm-drift-table tr[data-feature="income"]'
      );
      await expect(income.locator('td.jmm-drift-band')).toHaveText('drift');
      await expect(
        report(page).locator('.jmm-drift-table tr[data-feature="region"]')
      ).toHaveCount(1);
      // plotly.js loaded (static/plotly.js): no error in the status line
      await expect(report(page).locator('.jmm-drift-status')).toHaveText('');
    });

    await test.step('choosing a feature draws its figures', async () => {
      // the first drifted feature is shown at first
      await expect(
        report(page).locator('.jmm-drift-table tr.jmm-drift-chosen')
      ).toHaveAttribute('data-feature', 'income');
      await expect.poll(() => plotsDrawn(page, 'income')).toBeGreaterThan(0);
      await report(page)
        .locator('.jmm-drift-table tr[data-feature="region"]')
        .click();
      await expect(
        report(page).locator('.jmm-drift-table tr.jmm-drift-chosen')
      ).toHaveAttribute('data-feature', 'region');
      await expect(section(page, 'income')).toHaveCount(0);
      await expect.poll(() => plotsDrawn(page, 'region')).toBeGreaterThan(0);
    });

    for (const theme of ['dark', 'light'] as const) {
      await test.step(`the shared styles follow the ${theme} theme`, async () => {
        if (theme === 'dark') {
          await page.theme.setDarkTheme();
        } else {
          await page.theme.setLightTheme();
        }
        // the frame of every widget and the tables' header (static/widget.css)
        await expect(report(page)).toHaveCSS('border-left-width', '3px');
        const th = report(page).locator('.jmm-drift-table th').first();
        await expect(th).toHaveCSS('position', 'sticky');
        await expect.poll(() => shade(th, 'background-color')).toBe(theme);
        await expect
          .poll(() => shade(report(page), 'color'))
          .toBe(theme === 'dark' ? 'light' : 'dark');
      });
    }
  });
});
