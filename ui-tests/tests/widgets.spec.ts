/**
 * The in-notebook comparison widget, end to end: a real JupyterLab and kernel,
 * `mm.compare(...)` rendered by anywidget + plotly.js, its controls changing the
 * kernel's traits and the plot redrawing from what the kernel sends back.
 */
import { expect, test } from '@jupyterlab/galata';
import type { Locator, Page } from '@playwright/test';

const CELLS = [
  [
    'import jupyter_mm as mm',
    "mm.set_experiment('widgets-ui')",
    "for name, lr, opt in [('slow', '0.001', 'adam'), ('fast', '0.1', 'sgd'), ('mid', '0.01', 'adam')]:",
    '    with mm.start_run(name=name, params={"lr": lr, "opt": opt}):',
    '        for s in range(200):',
    "            mm.log_metric('loss', float(lr) * 10 / (s + 1) + (s % 7) * 0.01)",
    "            mm.log_metric('acc', 1 - 1 / (s + 2))",
    "print('logged')"
  ].join('\n'),
  "w = mm.compare('', experiment='widgets-ui', metrics=['loss', 'acc'])\nw",
  "print('state', w.metric, w.smoothing, len(w.figures['curves']['data']))"
];

function widget(page: Page): Locator {
  return page.locator('.jmm-cmp').first();
}

function curves(page: Page): Locator {
  return widget(page).locator('.jmm-cmp-curves');
}

/** What plotly drew in the curves view: trace count and the title. */
async function drawn(page: Page): Promise<{ traces: number; title: string }> {
  return curves(page).evaluate((div: any) => ({
    traces: (div.data || []).length,
    title: String(div.layout?.title?.text ?? '')
  }));
}

test.describe('comparison widget', () => {
  test.use({ autoGoto: true });

  test('renders, and redraws when the metric and the smoothing change', async ({
    page,
    tmpPath
  }, testInfo) => {
    test.setTimeout(180000);
    const notebook = {
      nbformat: 4,
      nbformat_minor: 5,
      metadata: {
        kernelspec: {
          name: 'python3',
          display_name: 'Python 3 (ipykernel)',
          language: 'python'
        }
      },
      cells: CELLS.map((source, i) => ({
        cell_type: 'code',
        id: `cell-${i}`,
        metadata: {},
        source,
        outputs: [],
        execution_count: null
      }))
    };
    await page.contents.uploadContent(
      JSON.stringify(notebook),
      'text',
      `${tmpPath}/compare.ipynb`
    );
    await page.notebook.openByPath(`${tmpPath}/compare.ipynb`);
    await page.evaluate(async () => {
      const nb = window.jupyterapp.shell.currentWidget as any;
      await nb.sessionContext.ready;
      await nb.sessionContext.session.kernel.info;
    });

    await test.step('the widget renders with plotly', async () => {
      await page.notebook.runCell(0, true);
      await expect(page.locator('.jp-OutputArea-output').first()).toContainText(
        'logged'
      );
      await page.notebook.runCell(1, true);
      await expect(widget(page)).toBeVisible();
      await expect(curves(page).locator('.main-svg').first()).toBeVisible();
      await expect(widget(page)).toHaveAttribute('data-revision', /\d+/);
      await expect
        .poll(() => drawn(page))
        .toEqual({ traces: 3, title: 'loss' });
      // the other plots are drawn when they come near the screen
      for (const view of ['parcoords', 'scatter']) {
        await widget(page).locator(`.jmm-cmp-${view}`).scrollIntoViewIfNeeded();
        await expect(
          widget(page).locator(`.jmm-cmp-${view} .main-svg`).first()
        ).toBeVisible();
      }
      await curves(page).scrollIntoViewIfNeeded();
      await expect(widget(page).locator('.jmm-cmp-table tbody tr')).toHaveCount(
        3
      );
      // the differing params are highlighted in the table
      await expect(
        widget(page).locator('.jmm-cmp-table th.jmm-cmp-differs')
      ).toHaveText(['lr', 'opt']);
    });

    await test.step('changing the metric redraws the curves', async () => {
      const before = await widget(page).getAttribute('data-revision');
      await widget(page).locator('select.jmm-cmp-metric').selectOption('acc');
      await expect(widget(page)).not.toHaveAttribute(
        'data-revision',
        before ?? ''
      );
      await expect.poll(() => drawn(page)).toEqual({ traces: 3, title: 'acc' });
      await expect(curves(page).locator('.gtitle')).toHaveText('acc');
    });

    await test.step('smoothing redraws smoothed lines over faded raw ones', async () => {
      const slider = widget(page).locator('input.jmm-cmp-smoothing');
      await slider.evaluate((input: HTMLInputElement) => {
        input.value = '0.8';
        input.dispatchEvent(new Event('input', { bubbles: true }));
      });
      await expect(widget(page).locator('.jmm-cmp-smoothing-value')).toHaveText(
        '0.8'
      );
      await expect
        .poll(() => drawn(page))
        .toEqual({ traces: 6, title: 'acc (EMA 0.8)' });
      await expect(curves(page).locator('.scatterlayer .trace')).toHaveCount(6);
    });

    // for people reading the report (not a reference: plotly's text rendering varies)
    await widget(page).screenshot({
      path: testInfo.outputPath('compare-widget.png')
    });

    await test.step('the kernel holds what the browser chose', async () => {
      await page.notebook.runCell(2, true);
      await expect(
        page.locator('.jp-OutputArea-output', { hasText: 'state' })
      ).toContainText('state acc 0.8 6');
    });

    await test.step('hiding a run in the table removes it from the plots', async () => {
      await widget(page)
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
          widget(page)
            .locator('.jmm-cmp-scatter')
            .evaluate((div: any) => div.data[0].x.length)
        )
        .toBe(2);
    });

    await test.step('selecting a run in the table highlights it in the curves', async () => {
      const second = widget(page).locator('.jmm-cmp-table tbody tr').nth(1);
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
