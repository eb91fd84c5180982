/**
 * Galata (Playwright) configuration of the jupyter-mm UI tests.
 *
 * JupyterLab is started by `webServer` on a fresh temporary root directory
 * with a fresh tracking store (MM_TRACKING_URI), and driven by Debian's
 * Chromium (`/usr/bin/chromium`, or MM_CHROMIUM): no Playwright browser
 * download. Tests run one at a time against that one server.
 */
const fs = require('fs');
const os = require('os');
const path = require('path');

const baseConfig = require('@jupyterlab/galata/lib/playwright-config');

// Workers inherit the environment of the main process, so these are created
// once per `playwright test` run and shared by the server and the tests.
if (!process.env.JUPYTERLAB_GALATA_ROOT_DIR) {
  process.env.JUPYTERLAB_GALATA_ROOT_DIR = fs.mkdtempSync(
    path.join(os.tmpdir(), 'jupyter-mm-ui-root-')
  );
}
if (!process.env.MM_TRACKING_URI) {
  process.env.MM_TRACKING_URI = fs.mkdtempSync(
    path.join(os.tmpdir(), 'jupyter-mm-ui-store-')
  );
}
const port = process.env.MM_UI_PORT || '8899';
// Where traces and the HTML report go (the pytest wrapper points it at a
// temporary directory).
const output = process.env.MM_UI_OUTPUT || __dirname;
process.env.MM_UI_PORT = port;

module.exports = {
  ...baseConfig,
  reporter: [
    ['list'],
    [
      'html',
      { open: 'never', outputFolder: path.join(output, 'playwright-report') }
    ]
  ],
  outputDir: path.join(output, 'test-results'),
  timeout: 90000,
  expect: {
    timeout: 20000,
    toHaveScreenshot: { maxDiffPixelRatio: 0.03, animations: 'disabled' }
  },
  workers: 1,
  fullyParallel: false,
  retries: 0,
  snapshotPathTemplate: '{testDir}/{testFilePath}-snapshots/{arg}{ext}',
  use: {
    ...baseConfig.use,
    baseURL: `http://127.0.0.1:${port}`,
    video: 'off', // needs Playwright's ffmpeg download; traces are enough
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.MM_CHROMIUM || '/usr/bin/chromium',
      // CI runs as root, where Chromium's sandbox cannot start.
      args: ['--no-sandbox', '--disable-gpu', '--font-render-hinting=none']
    }
  },
  projects: [{ name: 'chromium', use: { browserName: 'chromium' } }],
  webServer: {
    command: 'jlpm start',
    url: `http://127.0.0.1:${port}/lab`,
    timeout: 120 * 1000,
    reuseExistingServer: !!process.env.MM_UI_REUSE_SERVER,
    env: {
      ...process.env,
      JUPYTERLAB_GALATA_ROOT_DIR: process.env.JUPYTERLAB_GALATA_ROOT_DIR,
      MM_TRACKING_URI: process.env.MM_TRACKING_URI,
      MM_UI_PORT: port
    }
  }
};
