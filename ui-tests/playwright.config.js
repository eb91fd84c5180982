/**
 * Galata (Playwright) configuration of the jupyter-mm UI tests.
 *
 * JupyterLab is started by `webServer` on a fresh temporary root directory
 * with a fresh tracking store (MM_TRACKING_URI), and driven by Debian's
 * Chromium (`/usr/bin/chromium`, or MM_CHROMIUM): no Playwright browser
 * download. Tests run one at a time against that one server; the `notebook7`
 * project runs tests/notebook7.spec.ts against Jupyter Notebook 7 instead
 * (second `webServer`, port MM_UI_NB_PORT).
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
// Notebook 7 (the `notebook7` project, tests/notebook7.spec.ts) runs on its own
// server, port, root directory and store, so neither app sees the other's files.
// By default the port after MM_UI_PORT, so runs given distinct MM_UI_PORTs do
// not collide on it.
const nbPort = process.env.MM_UI_NB_PORT || String(Number(port) + 1);
for (const [key, prefix] of [
  ['MM_UI_NB_ROOT_DIR', 'jupyter-mm-ui-nb7-root-'],
  ['MM_UI_NB_TRACKING_URI', 'jupyter-mm-ui-nb7-store-']
]) {
  if (!process.env[key]) {
    process.env[key] = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  }
}
// Where failure contexts, traces (MM_UI_TRACE) and the HTML report go (the
// pytest wrapper points it at a temporary directory).
const output = process.env.MM_UI_OUTPUT || __dirname;
process.env.MM_UI_PORT = port;
process.env.MM_UI_NB_PORT = nbPort;

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
  // One retry on CI (tests/ui/test_galata.py sets CI=1), where a loaded
  // 2-core machine can lose a race a test did not foresee; the pytest wrapper
  // names every test that passed only on its retry, so none goes unnoticed.
  retries: process.env.CI ? 1 : 0,
  snapshotPathTemplate: '{testDir}/{testFilePath}-snapshots/{arg}{ext}',
  use: {
    ...baseConfig.use,
    baseURL: `http://127.0.0.1:${port}`,
    video: 'off', // needs Playwright's ffmpeg download; traces are enough
    // Recording a trace for every test costs about a quarter of the suite's CPU, and a CI
    // machine's traces are gone with it: only a retry records one by default
    // (MM_UI_TRACE=retain-on-failure records them for every failure).
    trace: process.env.MM_UI_TRACE || 'on-first-retry',
    launchOptions: {
      executablePath: process.env.MM_CHROMIUM || '/usr/bin/chromium',
      // CI runs as root, where Chromium's sandbox cannot start.
      args: ['--no-sandbox', '--disable-gpu', '--font-render-hinting=none']
    }
  },
  projects: [
    {
      name: 'chromium',
      testIgnore: /notebook7\.spec\.ts$/,
      use: { browserName: 'chromium' }
    },
    {
      name: 'notebook7',
      testMatch: /notebook7\.spec\.ts$/,
      use: { browserName: 'chromium', baseURL: `http://127.0.0.1:${nbPort}` }
    }
  ],
  webServer: [
    {
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
    },
    {
      // the same server configuration (it reads the port from MM_UI_PORT, below)
      command: 'jupyter notebook --config jupyter_server_test_config.py',
      url: `http://127.0.0.1:${nbPort}/tree`,
      timeout: 120 * 1000,
      reuseExistingServer: !!process.env.MM_UI_REUSE_SERVER,
      env: {
        ...process.env,
        JUPYTERLAB_GALATA_ROOT_DIR: process.env.MM_UI_NB_ROOT_DIR,
        MM_TRACKING_URI: process.env.MM_UI_NB_TRACKING_URI,
        MM_UI_PORT: nbPort
      }
    }
  ]
};
