/**
 * The charts workspace (issue 15), in a real JupyterLab over a real store, in
 * the light and the dark theme: three runs logged over REST (two metric
 * histories and a metric logged once each, one still running) are listed in
 * the run panel, whose Charts button opens one chart per metric with one
 * curve per run, coloured alike in every chart, following the running run's
 * new points, in the theme's colours, the chart titles clear of plotly's
 * toolbar. A chart is removed and added back, smoothing changes the
 * curves, a zoom in one chart is followed by the others, and the layout
 * (charts, x axis, smoothing) is back after closing the workspace and
 * reloading JupyterLab.
 */
import { expect, test } from '@jupyterlab/galata';
import type { APIRequestContext, Locator, Page } from '@playwright/test';

import { API, IRestRun, runPanel, runRows, selectExperiment, SIDEBAR } from './helpers';

/** A plotted trace, as read from the chart's DOM node. */
interface ITraceRead {
  name: string;
  raw: boolean;
  mode: string;
  color: string;
  y: Array<number | null>;
}

/** The workspace in the main area. */
function workspace(page: Page): Locator {
  return page.locator('.jp-mm-chartsview');
}

/** The chart of a metric key. */
function chart(page: Page, key: string): Locator {
  return workspace(page).locator(`.jp-mm-chart[data-keys="${key}"]`);
}

/** The metric keys of the charts shown, in order. */
function chartKeys(page: Page): Promise<string[]> {
  return workspace(page)
    .locator('.jp-mm-chart')
    .evaluateAll(nodes => nodes.map(n => (n as HTMLElement).dataset.keys!));
}

/** The traces plotly drew in a chart (smoothed ones: `raw` false). */
function traces(page: Page, key: string): Promise<ITraceRead[]> {
  return chart(page, key).evaluate((node: any) =>
    (node.data ?? []).map((t: any) => ({
      name: t.name,
      raw: !!t.meta?.raw,
      mode: t.mode,
      color: t.line?.color,
      y: Array.from(t.y)
    }))
  );
}

/** The x range a chart shows (its full layout, after plotly's autorange). */
function xRange(page: Page, key: string): Promise<[number, number]> {
  return chart(page, key).evaluate((node: any) => {
    const [a, b] = node._fullLayout.xaxis.range;
    return [Number(a), Number(b)] as [number, number];
  });
}

/**
 * Zooms a chart's x axis as a user does: a horizontal drag across its plot,
 * from and to fractions of its width.
 */
async function dragAcross(
  page: Page,
  key: string,
  from: number,
  to: number
): Promise<void> {
  const box = (await chart(page, key).locator('.nsewdrag').boundingBox())!;
  const y = box.y + box.height / 2;
  await page.mouse.move(box.x + box.width * from, y);
  await page.mouse.down();
  await page.mouse.move(box.x + (box.width * (from + to)) / 2, y + 2, {
    steps: 5
  });
  await page.mouse.move(box.x + box.width * to, y + 2, { steps: 5 });
  await page.mouse.up();
}

/**
 * Logs a run over REST: `loss` and `acc` for ten steps, `final_auc` once;
 * finished unless `running` (then the store watches it for new points).
 */
async function logRun(
  request: APIRequestContext,
  experiment: string,
  name: string,
  scale: number,
  running = false
): Promise<string> {
  const created = await request.post(`${API}/runs`, {
    data: { experiment_name: experiment, name }
  });
  expect(created.status()).toBe(201);
  const id = ((await created.json()) as IRestRun).id;
  const now = Date.now();
  const metrics = Array.from({ length: 10 }, (_, step) => [
    // A jagged loss, so smoothing visibly changes it.
    {
      key: 'loss',
      value: scale / (step + 1) + (step % 2) * 0.3,
      step,
      timestamp: now + step * 1000
    },
    { key: 'acc', value: 0.5 + step * 0.04 * scale, step, timestamp: now + step * 1000 }
  ]).flat();
  metrics.push({ key: 'final_auc', value: 0.7 + scale / 10, step: 9, timestamp: now + 9000 });
  const logged = await request.post(`${API}/runs/${id}/log-batch`, {
    data: { metrics }
  });
  expect(logged.ok()).toBe(true);
  if (!running) {
    const ended = await request.patch(`${API}/runs/${id}`, {
      data: { status: 'FINISHED' }
    });
    expect(ended.ok()).toBe(true);
  }
  return id;
}

/**
 * The save of the workspace (IStateDB) to the server that holds the charts
 * layout and no longer the open charts tab (an earlier save may still have
 * it, and the restorer would reopen it).
 */
function workspaceSavedClosed(page: Page): Promise<unknown> {
  return page.waitForRequest(r => {
    const body = r.method() === 'PUT' ? (r.postData() ?? '') : '';
    return (
      r.url().includes('/api/workspaces/') &&
      body.includes('jupyter-mm:charts-workspace:') &&
      !body.includes('jupyter-mm-charts:')
    );
  });
}

/** Opens the charts workspace from the run panel's Charts button. */
async function openCharts(page: Page, experiment: string): Promise<void> {
  await page.sidebar.openTab(SIDEBAR);
  await selectExperiment(page, experiment);
  await expect(runRows(page)).toHaveCount(3);
  await runPanel(page).getByRole('button', { name: 'Charts', exact: true }).click();
  await expect(workspace(page)).toBeVisible();
}

for (const theme of ['light', 'dark'] as const) {
  test.describe(`charts workspace (${theme})`, () => {
    test.use({ autoGoto: true });

    test(`one chart per metric across runs, edited, zoomed together and remembered (${theme})`, async ({
      page,
      request
    }) => {
      test.setTimeout(180000);
      if (theme === 'dark') {
        await page.theme.setDarkTheme();
      }
      const experiment = `ui-charts-${theme}`;
      const names = [1, 2, 3].map(i => `charts-${theme}-${i}`);
      const ids: string[] = [];
      for (const [i, name] of names.entries()) {
        // The first is still training (as a run on another machine).
        ids.push(await logRun(request, experiment, name, i + 1, i === 0));
      }
      await page.reload();
      await openCharts(page, experiment);

      await test.step('a chart per metric, a curve per run, one colour per run', async () => {
        await expect(workspace(page).locator('h1')).toHaveText(
          `Charts of 3 runs: ${experiment}`
        );
        await expect.poll(() => chartKeys(page)).toEqual(['acc', 'final_auc', 'loss']);
        for (const key of ['acc', 'final_auc', 'loss']) {
          await expect(chart(page, key)).toHaveClass(/jp-mm-chart-ready/);
          await expect
            .poll(async () => (await traces(page, key)).map(t => t.name).sort())
            .toEqual([...names].sort());
        }
        // A metric logged once is a visible point.
        for (const t of await traces(page, 'final_auc')) {
          expect(t.mode).toBe('lines+markers');
        }
        const colours = async (key: string) =>
          Object.fromEntries((await traces(page, key)).map(t => [t.name, t.color]));
        const loss = await colours('loss');
        expect(new Set(Object.values(loss)).size).toBe(3);
        expect(await colours('acc')).toEqual(loss);
        // One legend for all charts: the runs, named, in the panel's order
        // (newest first).
        await expect(
          workspace(page).getByRole('list', { name: 'Runs charted' }).locator('li button')
        ).toHaveText([...names].reverse());
      });

      await test.step('points logged into the running run appear without a click', async () => {
        const points = async () =>
          (await traces(page, 'loss')).find(t => t.name === names[0] && !t.raw)!
            .y.length;
        expect(await points()).toBe(10);
        const logged = await request.post(`${API}/runs/${ids[0]}/log-batch`, {
          data: {
            metrics: Array.from({ length: 5 }, (_, i) => ({
              key: 'loss',
              value: 0.1,
              step: 10 + i,
              timestamp: Date.now()
            }))
          }
        });
        expect(logged.ok()).toBe(true);
        await expect.poll(points).toBe(15);
      });
      await test.step('the theme’s colours; titles clear of the toolbar', async () => {
        // Plotly's text is the theme's text colour (both read by the browser).
        const [font, text] = await chart(page, 'loss').evaluate((node: any) =>
          [node._fullLayout.font.color, 'var(--jp-ui-font-color1)'].map(c => {
            const probe = document.createElement('span');
            probe.style.color = c;
            document.body.appendChild(probe);
            const computed = getComputedStyle(probe).color;
            probe.remove();
            return computed;
          })
        );
        expect(font).toBe(text);
        const title = workspace(page).locator('.jp-mm-charts-cell-title', {
          hasText: 'loss'
        });
        const brightness = await title.evaluate(el => {
          const [r, g, b] = getComputedStyle(el).color.match(/\d+/g)!.map(Number);
          return (r + g + b) / 3;
        });
        expect(theme === 'dark' ? brightness > 128 : brightness < 128).toBe(true);
        await chart(page, 'loss').hover();
        const modebar = chart(page, 'loss').locator('.modebar');
        await expect(modebar).toBeVisible();
        const bar = (await modebar.boundingBox())!;
        const head = (await title.boundingBox())!;
        expect(head.y + head.height).toBeLessThanOrEqual(bar.y);
      });

      await test.step('a chart removed, then added back', async () => {
        await workspace(page)
          .getByRole('button', { name: 'Remove the chart of acc' })
          .click();
        await expect.poll(() => chartKeys(page)).toEqual(['final_auc', 'loss']);
        const add = workspace(page).getByRole('combobox', { name: 'Add chart' });
        await expect(add.locator('option')).toHaveText(['metric…', 'acc']);
        await add.selectOption('acc');
        await expect.poll(() => chartKeys(page)).toEqual(['final_auc', 'loss', 'acc']);
        await expect(add).toBeDisabled();
        await expect
          .poll(async () => (await traces(page, 'acc')).length)
          .toBe(3);
      });

      await test.step('smoothing changes every curve', async () => {
        const raw = (await traces(page, 'loss')).find(t => t.name === names[0])!.y;
        await workspace(page).getByRole('slider').fill('0.8');
        await expect
          .poll(async () => (await traces(page, 'loss')).filter(t => !t.raw).length)
          .toBe(3);
        await expect
          .poll(async () => (await traces(page, 'loss')).filter(t => t.raw).length)
          .toBe(3);
        const smoothed = (await traces(page, 'loss')).find(
          t => t.name === names[0] && !t.raw
        )!.y;
        expect(smoothed).toHaveLength(raw.length);
        expect(smoothed).not.toEqual(raw);
        expect(smoothed[0]).toBeCloseTo(raw[0] as number, 6);
      });

      await test.step('a zoom in one chart is followed by the others', async () => {
        // Unzoomed, the charts line up: each spans all of the charts' data
        // (loss has five steps more than acc).
        const before = await xRange(page, 'loss');
        expect(before).toEqual([0, 14]);
        for (const key of ['acc', 'final_auc']) {
          await expect.poll(() => xRange(page, key)).toEqual(before);
        }
        await dragAcross(page, 'loss', 0.3, 0.7);
        const zoomed = await xRange(page, 'loss');
        expect(zoomed[1] - zoomed[0]).toBeLessThan((before[1] - before[0]) * 0.6);
        for (const key of ['acc', 'final_auc']) {
          await expect
            .poll(async () => (await xRange(page, key)).map(v => v.toFixed(6)))
            .toEqual(zoomed.map(v => v.toFixed(6)));
        }
        // Double click: all of it again, everywhere.
        await chart(page, 'final_auc').locator('.nsewdrag').dblclick();
        for (const key of ['acc', 'final_auc', 'loss']) {
          await expect.poll(() => xRange(page, key)).toEqual(before);
        }
      });

      await test.step('on the wall-time axis too, a zoom is followed', async () => {
        await workspace(page)
          .getByRole('combobox', { name: 'x axis' })
          .selectOption('wall');
        // A date axis: its range is text, read here as milliseconds.
        const wallRange = (key: string) =>
          chart(page, key).evaluate((node: any) =>
            node._fullLayout.xaxis.type === 'date'
              ? node._fullLayout.xaxis.range.map((v: string) =>
                  Math.round(Date.parse(v.replace(' ', 'T') + 'Z'))
                )
              : null
          );
        await expect.poll(() => wallRange('loss')).not.toBeNull();
        const before = (await wallRange('loss'))!;
        await expect.poll(() => wallRange('acc')).toEqual(before);
        await dragAcross(page, 'loss', 0.2, 0.6);
        const zoomed = (await wallRange('loss'))!;
        expect(zoomed[1] - zoomed[0]).toBeLessThan((before[1] - before[0]) * 0.6);
        await expect
          .poll(async () => {
            const other = (await wallRange('acc'))!;
            return Math.max(
              Math.abs(other[0] - zoomed[0]),
              Math.abs(other[1] - zoomed[1])
            );
          })
          .toBeLessThanOrEqual(1);
      });

      await test.step('closed and reopened after a reload: the layout is back', async () => {
        await workspace(page)
          .getByRole('combobox', { name: 'x axis' })
          .selectOption('time');
        await expect(chart(page, 'loss')).toHaveClass(/jp-mm-chart-ready/);
        await expect
          .poll(() =>
            chart(page, 'loss').evaluate(
              (node: any) => node._fullLayout.xaxis.title.text as string
            )
          )
          .toBe('seconds since start');
        const saved = workspaceSavedClosed(page);
        await page
          .locator('#jp-main-dock-panel .lm-TabBar-tab', { hasText: 'Charts:' })
          .locator('.lm-TabBar-tabCloseIcon')
          .click();
        await expect(workspace(page)).toHaveCount(0);
        await saved;
        await page.reload();
        await expect(workspace(page)).toHaveCount(0);
        await openCharts(page, experiment);
        await expect.poll(() => chartKeys(page)).toEqual(['final_auc', 'loss', 'acc']);
        await expect(workspace(page).getByRole('slider')).toHaveValue('0.8');
        await expect(
          workspace(page).getByRole('combobox', { name: 'x axis' })
        ).toHaveValue('time');
        await expect
          .poll(async () => (await traces(page, 'loss')).filter(t => t.raw).length)
          .toBe(3);
      });

    });
  });
}
