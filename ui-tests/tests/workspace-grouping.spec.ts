/**
 * Run grouping in the runs workspace (issue 15), in a real JupyterLab and
 * store, in the light and the dark theme: five runs logged over REST, two
 * with lr = 0.1, two with lr = 0.01 (one of them shorter), one without lr.
 * Grouped by lr, the run panel shows a header row per value (and "(none)")
 * with the run count and each metric column's mean (min–max), collapsible
 * and remembered across a reload; the compare view of the five draws, per
 * group, the mean of the step-aligned curves in a shaded min–max band, and
 * a group table.
 */
import { expect, test } from '@jupyterlab/galata';
import type { APIRequestContext, Locator, Page } from '@playwright/test';

import {
  API,
  createRestRun,
  runPanel,
  runRows,
  selectExperiment,
  SIDEBAR,
  workspaceSaved
} from './helpers';

/** Each run's lr (none: no param) and loss history, step 0 onwards. */
const RUNS: Array<[string, string | null, number[]]> = [
  ['fast-a', '0.1', [1.0, 0.8, 0.6, 0.4, 0.2]],
  ['fast-b', '0.1', [2.0, 1.6, 1.2, 0.8, 0.4]],
  ['slow-a', '0.01', [3, 3, 3, 3, 3]],
  ['slow-b', '0.01', [5, 5, 5]],
  ['plain', null, [7, 7, 7, 7, 7]]
];

/** Logs a run with its lr and loss history into `experiment`. */
async function logRun(
  request: APIRequestContext,
  experiment: string,
  [name, lr, loss]: [string, string | null, number[]]
): Promise<void> {
  const id = await createRestRun(
    request,
    experiment,
    name,
    lr === null ? {} : { lr }
  );
  const logged = await request.post(`${API}/runs/${id}/log-batch`, {
    data: {
      metrics: loss.map((value, step) => ({
        key: 'loss',
        value,
        step,
        timestamp: Date.now()
      }))
    }
  });
  expect(logged.ok()).toBe(true);
}

/**
 * The run panel's lines, top to bottom: a group header as [value, count,
 * loss], a run as [name].
 */
function lines(page: Page): Promise<string[][]> {
  return runPanel(page)
    .locator('.jp-mm-runs-body')
    .evaluate(body => {
      const text = (row: Element, selector: string) =>
        row.querySelector(selector)?.textContent ?? '';
      return Array.from(body.querySelectorAll('.jp-mm-runs-row'))
        .sort(
          (a, b) =>
            Number(a.getAttribute('data-index')) -
            Number(b.getAttribute('data-index'))
        )
        .map(row =>
          row.classList.contains('jp-mm-runs-group')
            ? [
                text(row, '.jp-mm-runs-group-value'),
                text(row, '.jp-mm-runs-group-count'),
                text(row, '[data-column="metrics.loss"]')
              ]
            : [text(row, '[data-column="attributes.name"]')]
        );
    });
}

/** The run panel's group header rows, top to bottom: value, count, loss. */
async function groupRows(page: Page): Promise<string[][]> {
  return (await lines(page)).filter(line => line.length > 1);
}

/** What plotly drew in a chart: each trace's name, fill, band and y. */
function traces(chart: Locator): Promise<
  Array<{
    name: string;
    fill: string | null;
    band: string | null;
    y: number[];
  }>
> {
  return chart.evaluate((div: any) =>
    (div.data ?? []).map((t: any) => ({
      name: String(t.name),
      fill: t.fill ?? null,
      band: t.meta?.band ?? null,
      y: Array.from(t.y ?? [])
    }))
  );
}

/** Mean lines of the groups: name and y rounded to 6 decimals. */
async function means(chart: Locator): Promise<Array<[string, number[]]>> {
  return (await traces(chart))
    .filter(t => t.band === 'mean')
    .map(t => [t.name, t.y.map(v => Math.round(v * 1e6) / 1e6)]);
}

for (const theme of ['light', 'dark'] as const) {
  test.describe(`run grouping (${theme} theme)`, () => {
    test.use({ autoGoto: true });

    test(`groups runs by a param in the panel and the compare view (${theme})`, async ({
      page,
      request
    }) => {
      test.setTimeout(150000);
      const experiment = `ui-group-${theme}`;
      for (const run of RUNS) {
        await logRun(request, experiment, run);
      }
      if (theme === 'dark') {
        await page.theme.setDarkTheme();
      }
      await page.sidebar.openTab(SIDEBAR);
      await page.sidebar.setWidth(560);
      await selectExperiment(page, experiment);
      await expect(runRows(page)).toHaveCount(5);
      const panel = runPanel(page);
      const groupBy = panel.getByRole('combobox', { name: 'Group by' });

      await test.step('group the panel by lr: a header row per value', async () => {
        await expect(groupBy.locator('option[value="params.lr"]')).toHaveCount(
          1
        );
        const saved = workspaceSaved(page, '"groupBy":{"');
        await groupBy.selectOption('params.lr');
        await saved;
        // Latest losses: 0.2 and 0.4; 3 and 5; 7.
        await expect
          .poll(() => groupRows(page))
          .toEqual([
            ['0.01', ' · 2 runs', '4 (3–5)'],
            ['0.1', ' · 2 runs', '0.3 (0.2–0.4)'],
            ['(none)', ' · 1 run', '7']
          ]);
        await expect(runRows(page)).toHaveCount(5);
        await expect(panel.locator('.jp-mm-runs-footer')).toContainText(
          '5 runs · 3 groups'
        );
        // Each group's runs beneath its header.
        expect((await lines(page)).map(line => line[0])).toEqual([
          '0.01',
          'slow-b',
          'slow-a',
          '0.1',
          'fast-b',
          'fast-a',
          '(none)',
          'plain'
        ]);
      });

      await test.step('a header folds its runs away and back', async () => {
        const header = panel.locator('.jp-mm-runs-group[data-group="0.1"]');
        await expect(header).toHaveAttribute('aria-expanded', 'true');
        await header.click();
        await expect(header).toHaveAttribute('aria-expanded', 'false');
        await expect(runRows(page)).toHaveCount(3);
        await header.click();
        await expect(runRows(page)).toHaveCount(5);
      });

      await test.step('the grouping is remembered across a reload', async () => {
        await page.reload();
        await page.sidebar.openTab(SIDEBAR);
        await expect(groupBy).toHaveValue('params.lr');
        await expect.poll(async () => (await groupRows(page)).length).toBe(3);
      });

      const view = page.locator('.jp-mm-compareview:visible');
      const chart = view.locator('.jp-mm-chart[data-keys="loss"]');
      await test.step('compare the five runs, grouped by lr', async () => {
        await panel.locator('.jp-mm-runs-table').focus();
        await panel.locator('.jp-mm-runs-table').press('ControlOrMeta+a');
        await expect(panel.locator('.jp-mm-runs-footer')).toContainText(
          '5 selected'
        );
        await panel.getByRole('button', { name: 'Compare' }).click();
        await expect(view).toBeVisible();
        await expect(chart).toHaveClass(/jp-mm-chart-ready/);
        // Ungrouped: a line per run.
        await expect.poll(async () => (await traces(chart)).length).toBe(5);

        await view
          .getByRole('combobox', { name: 'Group runs by' })
          .selectOption('params.lr');
        // Per group: the band's edges (min, then max filled down to it) and
        // the mean of the curves aligned by step (slow-b stops at step 2).
        await expect
          .poll(() => means(chart))
          .toEqual([
            ['0.01', [4, 4, 4, 3, 3]],
            ['0.1', [1.5, 1.2, 0.9, 0.6, 0.3]],
            ['(none)', [7, 7, 7, 7, 7]]
          ]);
        // The runs' swatches take their group's colour, as in the chart.
        const swatches = await view
          .locator('.jp-mm-compare-runs li')
          .evaluateAll(items =>
            Object.fromEntries(
              items.map(li => [
                li.querySelector('button')?.textContent ?? '',
                getComputedStyle(li.querySelector('.jp-mm-swatch')!)
                  .backgroundColor
              ])
            )
          );
        expect(swatches['fast-a']).toBe(swatches['fast-b']);
        expect(swatches['slow-a']).toBe(swatches['slow-b']);
        expect(new Set(Object.values(swatches)).size).toBe(3);
        const drawn = await traces(chart);
        expect(drawn.map(t => [t.band, t.fill])).toEqual(
          Array(3)
            .fill([
              ['min', null],
              ['max', 'tonexty'],
              ['mean', null]
            ])
            .flat()
        );
        expect(drawn[0].y).toEqual([3, 3, 3, 3, 3]);
        expect(drawn[1].y).toEqual([5, 5, 5, 3, 3]);
        // The band is drawn: one filled area per group.
        await expect(chart.locator('.scatterlayer .js-fill')).toHaveCount(3);
        // The legend names the key, its text in the theme's colour (light
        // on the dark theme, dark on the light one).
        const title = await chart.evaluate((div: any) =>
          div.layout.legend.title.text.trim()
        );
        expect(title).toBe('lr');
        const entry = chart.locator('.legendtext', { hasText: '0.01' });
        await expect(entry).toHaveCount(1);
        const brightness = await entry.evaluate(node => {
          const [r, g, b] = (getComputedStyle(node).fill.match(/\d+/g) ?? [])
            .slice(0, 3)
            .map(Number);
          return (r + g + b) / 3;
        });
        expect(brightness > 128).toBe(theme === 'dark');
      });

      await test.step('the group table: runs and mean (min–max)', async () => {
        const row = (group: string) =>
          view.locator(`.jp-mm-group-table tr[data-group="${group}"]`);
        await expect(row('0.1').locator('[data-column="runs"]')).toHaveText(
          '2'
        );
        await expect(
          row('0.1').locator('[data-column="metrics.loss"]')
        ).toHaveText('0.3 (0.2–0.4)');
        await expect(
          row('0.01').locator('[data-column="metrics.loss"]')
        ).toHaveText('4 (3–5)');
        await expect(
          row('(none)').locator('[data-column="metrics.loss"]')
        ).toHaveText('7');
      });

      await test.step('no grouping: a line per run again', async () => {
        await view
          .getByRole('combobox', { name: 'Group runs by' })
          .selectOption('');
        await expect
          .poll(async () => (await traces(chart)).map(t => t.name).sort())
          .toEqual(['fast-a', 'fast-b', 'plain', 'slow-a', 'slow-b']);
        await expect(view.locator('.jp-mm-group-table')).toHaveCount(0);
      });
    });
  });
}
