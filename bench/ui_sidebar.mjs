// Browser side of bench/ui_sidebar.py: open JupyterLab in Debian's Chromium
// (playwright-core from ui-tests/node_modules) and measure the run panel:
// time to first rows, and frame times while scrolling through the runs.
// Prints one JSON object on stdout.
//
//   node bench/ui_sidebar.mjs URL [--scroll-frames N] [--px-per-frame P]
import { launch, measureScroll } from './ui_common.mjs';

const args = process.argv.slice(2);
const url = args[0];
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  return i < 0 ? fallback : Number(args[i + 1]);
};
const scrollFrames = opt('--scroll-frames', 600);
const pxPerFrame = opt('--px-per-frame', 120);

const browser = await launch();
const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });

// Record, from navigation start, when the first run row is in the DOM and
// when the frame after it was painted.
await page.addInitScript(() => {
  window.__mm = { firstRow: null, firstPaint: null };
  const observer = new MutationObserver(() => {
    if (
      window.__mm.firstRow === null &&
      document.querySelector('.jp-mm-runs-row[data-run-id]')
    ) {
      window.__mm.firstRow = performance.now();
      requestAnimationFrame(() =>
        requestAnimationFrame(() => {
          window.__mm.firstPaint = performance.now();
        })
      );
      observer.disconnect();
    }
  });
  document.addEventListener('DOMContentLoaded', () =>
    observer.observe(document.body, { childList: true, subtree: true })
  );
});

// The sidebar open from the start (as a user who left it open).
await page.goto(`${url}lab?reset`, { waitUntil: 'domcontentloaded' });
await page.waitForFunction(() => window.jupyterapp && window.jupyterapp.started);
await page.evaluate(() => window.jupyterapp.shell.activateById('jupyter-mm-sidebar'));
await page.waitForFunction(() => window.__mm.firstPaint !== null, null, { timeout: 60000 });

const load = await page.evaluate(() => {
  const searches = performance
    .getEntriesByType('resource')
    .filter(e => e.name.includes('jupyter-mm/api/runs/search'));
  const nav = performance.getEntriesByType('navigation')[0];
  return {
    first_row_ms: window.__mm.firstRow,
    first_paint_ms: window.__mm.firstPaint,
    dom_content_loaded_ms: nav ? nav.domContentLoadedEventEnd : null,
    first_search_start_ms: searches.length ? searches[0].startTime : null,
    first_search_ms: searches.length ? searches[0].duration : null,
    rows_in_dom: document.querySelectorAll('.jp-mm-runs-row[data-run-id]').length
  };
});

// Scroll it frame by frame, as a trackpad would (bench/ui_common.mjs).
const scroll = await measureScroll(page, scrollFrames, pxPerFrame);

// Jump to the end of the list: how long until the last rows are shown.
const jump = await page.evaluate(async () => {
  const table = document.querySelector('.jp-mm-runs-table');
  const t0 = performance.now();
  const deadline = t0 + 60000;
  while (performance.now() < deadline) {
    table.scrollTop = table.scrollHeight;
    await new Promise(r => requestAnimationFrame(r));
    const footer = document.querySelector('.jp-mm-runs-footer')?.textContent ?? '';
    if (!footer.includes('+')) {
      break;
    }
  }
  await new Promise(r => requestAnimationFrame(r));
  return {
    jump_to_end_ms: performance.now() - t0,
    footer: document.querySelector('.jp-mm-runs-footer')?.textContent ?? ''
  };
});

await browser.close();
process.stdout.write(JSON.stringify({ load, scroll, jump }) + '\n');
