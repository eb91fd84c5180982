/**
 * Browser half of bench/ui_run_view.py: opens the run view of MM_BENCH_RUN
 * in JupyterLab at MM_BENCH_URL (Debian's Chromium, headless) and times
 * `jupyter-mm:open-run` until the metric chart has drawn. Prints one JSON
 * line. Run through bench/ui_run_view.py (cwd: ui-tests, for Playwright).
 */
import { launch, median } from './ui_common.mjs';

const base = process.env.MM_BENCH_URL;
const runId = process.env.MM_BENCH_RUN;
const repeat = Number(process.env.MM_BENCH_REPEAT || '7');
const DEADLINE_MS = 120000;

const browser = await launch(['--disable-gpu']);
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(`${base}/lab`);
  await page.waitForFunction(
    () =>
      window.jupyterapp &&
      window.jupyterapp.commands.hasCommand('jupyter-mm:open-run'),
    null,
    { timeout: DEADLINE_MS }
  );
  // Let JupyterLab settle (restored layout, kernel specs) before timing.
  await page.waitForSelector('#jupyterlab-splash', {
    state: 'detached',
    timeout: DEADLINE_MS
  });

  const openOnce = () =>
    page.evaluate(
      async ({ runId, deadline }) => {
        performance.clearResourceTimings();
        const t0 = performance.now();
        const widget = await window.jupyterapp.commands.execute(
          'jupyter-mm:open-run',
          { runId }
        );
        await new Promise((resolve, reject) => {
          const check = () => {
            const chart = document.querySelector(
              `#jupyter-mm-run-${runId} .jp-mm-chart.jp-mm-chart-ready`
            );
            if (chart) {
              resolve(chart);
            } else if (performance.now() - t0 > deadline) {
              reject(new Error('the chart did not draw in time'));
            } else {
              requestAnimationFrame(check);
            }
          };
          check();
        });
        const elapsed = performance.now() - t0;
        const chart = document.querySelector(
          `#jupyter-mm-run-${runId} .jp-mm-chart`
        );
        const history = performance
          .getEntriesByType('resource')
          .filter(e => e.name.includes('/jupyter-mm/api/metrics/history'))
          .map(e => e.duration);
        widget.dispose();
        return {
          elapsed,
          points: Number(chart.dataset.points),
          history: history[0] ?? NaN
        };
      },
      { runId, deadline: DEADLINE_MS }
    );

  const cold = await openOnce();
  const warm = [];
  for (let i = 0; i < repeat; i++) {
    warm.push(await openOnce());
  }
  // The same history request alone (no other request of the view beside it).
  const alone = await page.evaluate(
    async ({ runId, repeat }) => {
      const times = [];
      for (let i = 0; i < repeat; i++) {
        const t0 = performance.now();
        const r = await fetch('/jupyter-mm/api/metrics/history', {
          method: 'POST',
          body: JSON.stringify({
            run_ids: [runId],
            keys: ['loss'],
            max_points: 2000
          })
        });
        await r.json();
        times.push(performance.now() - t0);
      }
      return times;
    },
    { runId, repeat }
  );
  console.log(
    JSON.stringify({
      browser: browser.version(),
      cold_ms: cold.elapsed,
      warm_ms: warm.map(w => w.elapsed),
      warm_median_ms: median(warm.map(w => w.elapsed)),
      history_median_ms: median([cold, ...warm].map(w => w.history)),
      history_alone_median_ms: median(alone),
      drawn_points: cold.points
    })
  );
} finally {
  await browser.close();
}
