// Browser side of bench/ui_sidebar.py: open JupyterLab in Debian's Chromium
// (playwright-core from ui-tests/node_modules) and measure the run panel:
// time to first rows, and frame times while scrolling through the runs.
// Prints one JSON object on stdout.
//
//   node bench/ui_sidebar.mjs URL [--scroll-frames N] [--px-per-frame P]
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', 'ui-tests', 'package.json'));
const { chromium } = require('@playwright/test');

const args = process.argv.slice(2);
const url = args[0];
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  return i < 0 ? fallback : Number(args[i + 1]);
};
const scrollFrames = opt('--scroll-frames', 600);
const pxPerFrame = opt('--px-per-frame', 120);

const browser = await chromium.launch({
  executablePath: process.env.MM_CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox']
});
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

// Widen the panel a little and scroll it frame by frame, as a trackpad
// would, recording each frame's duration.
const scroll = await page.evaluate(
  async ({ frames, px }) => {
    const table = document.querySelector('.jp-mm-runs-table');
    const times = [];
    let last = await new Promise(r => requestAnimationFrame(r));
    for (let i = 0; i < frames; i++) {
      table.scrollTop += px;
      const now = await new Promise(r => requestAnimationFrame(r));
      times.push(now - last);
      last = now;
    }
    const sorted = times.slice().sort((a, b) => a - b);
    const q = p => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
    const total = times.reduce((a, b) => a + b, 0);
    const footer = document.querySelector('.jp-mm-runs-footer')?.textContent ?? '';
    return {
      frames,
      px_per_frame: px,
      scrolled_px: table.scrollTop,
      mean_fps: (frames * 1000) / total,
      frame_p50_ms: q(0.5),
      frame_p95_ms: q(0.95),
      frame_max_ms: sorted[sorted.length - 1],
      long_frames_over_50ms: times.filter(t => t > 50).length,
      rows_in_dom: document.querySelectorAll('.jp-mm-runs-row[data-run-id]').length,
      footer
    };
  },
  { frames: scrollFrames, px: pxPerFrame }
);

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
