// Browser half of bench/ui_workspace.py: the run workspace in JupyterLab
// (Debian's Chromium, headless): the charts workspace of 20 runs opened from
// the run panel (`jupyter-mm:open-charts-workspace`, the panel's Charts
// button) until every chart has drawn, cold and warm; a zoom in one chart
// until every chart has re-queried and drawn; then grouping the panel's
// 10,000 runs by `params.lr` until the group headers are painted, and frame
// times while scrolling the grouped table. Prints one JSON object on stdout.
//
//   node bench/ui_workspace.mjs URL CHARTS_EXPERIMENT GROUPING_EXPERIMENT
//     [--repeat N] [--zooms N] [--scroll-frames N] [--px-per-frame P]
import { launch, measureScroll, median } from './ui_common.mjs';

const args = process.argv.slice(2);
const [url, chartsExperiment, groupingExperiment] = args;
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  return i < 0 ? fallback : Number(args[i + 1]);
};
const repeat = opt('--repeat', 7);
const zooms = opt('--zooms', 5);
const scrollFrames = opt('--scroll-frames', 600);
const pxPerFrame = opt('--px-per-frame', 120);
const DEADLINE_MS = 120000;
const PANEL = '#jupyter-mm-sidebar .jp-mm-runs';
const ROWS = `${PANEL} .jp-mm-runs-row[data-run-id]`;
const GROUPS = `${PANEL} .jp-mm-runs-row.jp-mm-runs-group`;
const CHARTS = '.jp-mm-chartsview .jp-mm-chart';

const browser = await launch(['--disable-gpu']);
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(`${url}/lab?reset`);
  await page.waitForFunction(() => window.jupyterapp && window.jupyterapp.started, null, {
    timeout: DEADLINE_MS
  });
  await page.waitForSelector('#jupyterlab-splash', {
    state: 'detached',
    timeout: DEADLINE_MS
  });
  await page.evaluate(() => window.jupyterapp.shell.activateById('jupyter-mm-sidebar'));

  /** Shows one experiment in the run panel (its picker, as a user), until `n` of its runs (named `prefix`...) are listed. */
  const selectExperiment = async (name, prefix, n) => {
    const picker = page.locator(`${PANEL} select[aria-label="Experiment"]`);
    await picker.locator('option', { hasText: name }).waitFor({
      state: 'attached',
      timeout: DEADLINE_MS
    });
    await picker.selectOption({ label: name });
    await page.waitForFunction(
      ({ rows, prefix, n }) =>
        [...document.querySelectorAll(rows)].filter(r => r.textContent.includes(prefix))
          .length >= n,
      { rows: ROWS, prefix, n },
      { timeout: DEADLINE_MS }
    );
  };

  // --- (i) the charts workspace of the 20 runs listed.
  await selectExperiment(chartsExperiment, 'charts-', 20);
  const listed = await page.locator(ROWS).count();

  /** Opens the workspace; resolves when every chart has drawn. */
  const openCharts = (keep = false) =>
    page.evaluate(
      async ({ charts, deadline, keep }) => {
        performance.clearResourceTimings();
        const t0 = performance.now();
        const widget = await window.jupyterapp.commands.execute(
          'jupyter-mm:open-charts-workspace'
        );
        const commandMs = performance.now() - t0;
        await new Promise((resolve, reject) => {
          const check = () => {
            const all = document.querySelectorAll(charts);
            const ready = document.querySelectorAll(`${charts}.jp-mm-chart-ready`);
            if (all.length > 0 && ready.length === all.length) {
              resolve();
            } else if (performance.now() - t0 > deadline) {
              reject(new Error(`${ready.length} of ${all.length} charts drew in time`));
            } else {
              requestAnimationFrame(check);
            }
          };
          check();
        });
        const elapsed = performance.now() - t0;
        const nodes = [...document.querySelectorAll(charts)];
        const history = performance
          .getEntriesByType('resource')
          .filter(e => e.name.includes('/jupyter-mm/api/metrics/history'));
        const result = {
          elapsed,
          command_ms: commandMs,
          charts: nodes.length,
          points: nodes.reduce((n, c) => n + Number(c.dataset.points), 0),
          curves: nodes.reduce((n, c) => n + (c.data?.length ?? 0), 0),
          history_requests: history.length,
          history_max_ms: Math.max(...history.map(e => e.duration))
        };
        if (!keep) {
          widget.dispose();
        }
        return result;
      },
      { charts: CHARTS, deadline: DEADLINE_MS, keep }
    );

  const cold = await openCharts();
  const warm = [];
  for (let i = 0; i < repeat; i++) {
    warm.push(await openCharts());
  }

  // A zoom in the first chart as a user does it (a horizontal drag across
  // its plot), from the mouse release until every chart has re-queried the
  // visible steps and drawn them; then a double click back to all of it.
  const open = await openCharts(true);
  const first = page.locator(CHARTS).first();
  await first.scrollIntoViewIfNeeded();
  const box = await first.locator('.nsewdrag').boundingBox();
  /** Times from the next mouse release until every chart has drawn again. */
  const armRedraw = () =>
    page.evaluate(
      ({ charts, deadline }) => {
        for (const node of document.querySelectorAll(charts)) {
          node.classList.remove('jp-mm-chart-ready');
        }
        performance.clearResourceTimings();
        window.__mmRedraw = new Promise((resolve, reject) => {
          document.addEventListener(
            'mouseup',
            () => {
              const t0 = performance.now();
              const check = () => {
                const all = document.querySelectorAll(charts);
                const ready = document.querySelectorAll(`${charts}.jp-mm-chart-ready`);
                if (ready.length === all.length) {
                  const ranges = [...all].map(n =>
                    n._fullLayout.xaxis.range.map(v => Number(v).toFixed(3)).join('..')
                  );
                  const history = performance
                    .getEntriesByType('resource')
                    .filter(e => e.name.includes('/jupyter-mm/api/metrics/history'));
                  resolve({
                    elapsed: performance.now() - t0,
                    ranges: [...new Set(ranges)],
                    history_requests: history.length,
                    points: [...all].reduce((n, c) => n + Number(c.dataset.points), 0)
                  });
                } else if (performance.now() - t0 > deadline) {
                  reject(new Error(`${ready.length} of ${all.length} charts redrew in time`));
                } else {
                  requestAnimationFrame(check);
                }
              };
              check();
            },
            { capture: true, once: true }
          );
        });
      },
      { charts: CHARTS, deadline: DEADLINE_MS }
    );
  const redrawn = () => page.evaluate(() => window.__mmRedraw);
  const y = box.y + box.height / 2;
  const zoomed = [];
  const reset = [];
  for (let i = 0; i < zooms; i++) {
    await armRedraw();
    await page.mouse.move(box.x + box.width * 0.3, y);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.5, y + 2, { steps: 5 });
    await page.mouse.move(box.x + box.width * 0.7, y + 2, { steps: 5 });
    await page.mouse.up();
    zoomed.push(await redrawn());
    await armRedraw();
    await page.mouse.dblclick(box.x + box.width * 0.5, y);
    reset.push(await redrawn());
  }
  await page.evaluate(() => window.jupyterapp.shell.currentWidget?.dispose());

  // --- (ii) grouping the 10,000 runs by params.lr.
  await selectExperiment(groupingExperiment, 'run-0', 10);
  const groupBy = page.locator(`${PANEL} select[aria-label="Group by"]`);
  await groupBy.locator('option[value="params.lr"]').waitFor({
    state: 'attached',
    timeout: DEADLINE_MS
  });
  /** Chooses a Group by value; times from the choice to the frame after the headers show (or go). */
  const group = async value => {
    await page.evaluate(
      ({ groups, want, deadline }) => {
        performance.clearResourceTimings();
        window.__mmGroup = new Promise((resolve, reject) => {
          document.addEventListener(
            'input',
            () => {
              const t0 = performance.now();
              const check = () => {
                const n = document.querySelectorAll(groups).length;
                if (want ? n > 0 : n === 0) {
                  const shown = performance.now();
                  requestAnimationFrame(() =>
                    requestAnimationFrame(() => {
                      const searches = performance
                        .getEntriesByType('resource')
                        .filter(e => e.name.includes('jupyter-mm/api/runs/search'));
                      resolve({
                        in_dom_ms: shown - t0,
                        painted_ms: performance.now() - t0,
                        headers: [...document.querySelectorAll(groups)].map(
                          g => g.dataset.group
                        ),
                        searches: searches.length
                      });
                    })
                  );
                } else if (performance.now() - t0 > deadline) {
                  reject(new Error('no group headers in time'));
                } else {
                  requestAnimationFrame(check);
                }
              };
              check();
            },
            { capture: true, once: true }
          );
        });
      },
      { groups: GROUPS, want: value !== '', deadline: DEADLINE_MS }
    );
    await groupBy.selectOption(value);
    return page.evaluate(() => window.__mmGroup);
  };
  const groupCold = await group('params.lr');
  const groupWarm = [];
  for (let i = 0; i < repeat; i++) {
    await group('');
    groupWarm.push(await group('params.lr'));
  }
  const scroll = await measureScroll(page, scrollFrames, pxPerFrame);
  scroll.group_headers_in_dom = await page.locator(GROUPS).count();

  const warmMs = warm.map(w => w.elapsed);
  process.stdout.write(
    JSON.stringify({
      browser: browser.version(),
      charts: {
        listed_runs: listed,
        cold,
        warm_ms: warmMs,
        warm_median_ms: median(warmMs),
        warm: warm[warm.length - 1],
        kept_open: open
      },
      zoom: {
        zoom_ms: zoomed.map(z => z.elapsed),
        zoom_median_ms: median(zoomed.map(z => z.elapsed)),
        reset_ms: reset.map(z => z.elapsed),
        reset_median_ms: median(reset.map(z => z.elapsed)),
        zoomed: zoomed[zoomed.length - 1],
        reset: reset[reset.length - 1]
      },
      grouping: {
        cold: groupCold,
        warm_painted_ms: groupWarm.map(g => g.painted_ms),
        warm_median_painted_ms: median(groupWarm.map(g => g.painted_ms)),
        warm: groupWarm[groupWarm.length - 1]
      },
      scroll
    }) + '\n'
  );
} finally {
  await browser.close();
}
