// Shared by the browser halves of the UI benches (bench/ui_*.mjs): Debian's
// Chromium through the Playwright of ui-tests/, frame times while scrolling
// the run panel's table, medians.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', 'ui-tests', 'package.json'));
const { chromium } = require('@playwright/test');

/** Headless Chromium (`MM_CHROMIUM`, else Debian's). */
export function launch(args = []) {
  return chromium.launch({
    executablePath: process.env.MM_CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', ...args]
  });
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/**
 * Scroll the run panel's table `px` pixels per animation frame for `frames`
 * frames, as a trackpad would, recording each frame's duration.
 */
export function measureScroll(page, frames, px) {
  return page.evaluate(
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
    { frames, px }
  );
}
