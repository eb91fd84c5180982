/**
 * The in-notebook comparison widget, end to end: a real JupyterLab and kernel,
 * `mm.compare(...)` rendered by anywidget + plotly.js, its controls changing the
 * kernel's traits and the plot redrawing from what the kernel sends back.
 */
import { expect, test } from '@jupyterlab/galata';
import {
  compareCells,
  compareWidget,
  curves,
  drawn,
  expectCurvesDrawn,
  expectOtherViewsDrawn,
  openNotebook,
  stepChangeMetric,
  stepSinglePointMetric,
  stepSmoothCurves,
  stepWidgetFollowsTheme,
  uploadNotebook
} from './helpers';

const CELLS = compareCells('widgets-ui');

test.describe('comparison widget', () => {
  test.use({ autoGoto: true });

  test('renders, and redraws when the metric and the smoothing change', async ({
    page,
    tmpPath
  }, testInfo) => {
    test.setTimeout(180000);
    await uploadNotebook(page, `${tmpPath}/compare.ipynb`, CELLS);
    await openNotebook(page, `${tmpPath}/compare.ipynb`);

    await test.step('the widget renders with plotly', async () => {
      await page.notebook.runCell(0, true);
      await expect(page.locator('.jp-OutputArea-output').first()).toContainText(
        'logged'
      );
      await page.notebook.runCell(1, true);
      await expectCurvesDrawn(page);
      await expectOtherViewsDrawn(page);
      // the differing params are highlighted in the table
      await expect(
        compareWidget(page).locator('.jmm-cmp-table th.jmm-cmp-differs')
      ).toHaveText(['lr', 'opt']);
    });

    await stepSinglePointMetric(page);
    await stepWidgetFollowsTheme(page);
    await stepChangeMetric(page);
    await stepSmoothCurves(page);

    // for people reading the report (not a reference: plotly's text rendering varies)
    await compareWidget(page).screenshot({
      path: testInfo.outputPath('compare-widget.png')
    });

    await test.step('the kernel holds what the browser chose', async () => {
      await page.notebook.runCell(2, true);
      await expect(
        page.locator('.jp-OutputArea-output', { hasText: 'state' })
      ).toContainText('state acc 0.8 6');
    });

    await test.step('hiding a run in the table removes it from the plots', async () => {
      await compareWidget(page)
        .locator('.jmm-cmp-table tbody tr')
        .first()
        .locator('input.jmm-cmp-show')
        .uncheck();
      await expect
        .poll(() => drawn(page))
        .toEqual({
          traces: 4,
          title: 'acc (EMA 0.8)'
        });
      await expect
        .poll(() =>
          compareWidget(page)
            .locator('.jmm-cmp-scatter')
            .evaluate((div: any) => div.data[0].x.length)
        )
        .toBe(2);
    });

    await test.step('selecting a run in the table highlights it in the curves', async () => {
      const second = compareWidget(page).locator('.jmm-cmp-table tbody tr').nth(1);
      await second.locator('.jmm-cmp-name').click();
      await expect(second).toHaveClass(/jmm-cmp-selected/);
      // the other shown run's smoothed line is dimmed, the selected one's is not
      await expect
        .poll(() =>
          curves(page).evaluate(
            (div: any) => div.data.filter((t: any) => t.opacity === 0.3).length
          )
        )
        .toBe(1);
    });
  });
});
