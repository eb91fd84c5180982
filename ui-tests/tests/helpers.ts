/**
 * What the UI specs share: notebook set-up, the REST look-ups, the run
 * panel's locators and the comparison widget's checks. Not a spec (only
 * `*.spec.ts` files are collected); it imports Galata for types only, so
 * notebook7.spec.ts (plain Playwright) can use it too.
 */
import type { IJupyterLabPageFixture } from '@jupyterlab/galata';
import { expect, test } from '@playwright/test';
import type { APIRequestContext, Locator, Page } from '@playwright/test';

/** The extension's REST API, relative to the server's base URL. */
export const API = '/jupyter-mm/api';

/**
 * Request headers acting as alice (and bob): the test server
 * (jupyter_server_test_config.py) maps `token mm-ui-<name>` to the user <name>.
 */
export const ALICE = { Authorization: 'token mm-ui-alice' };
export const BOB = { Authorization: 'token mm-ui-bob' };

/** The id of the run panel's sidebar tab. */
export const SIDEBAR = 'jupyter-mm-sidebar';

/** A run as the REST API returns it (the fields the specs read). */
export interface IRestRun {
  id: string;
  name: string;
  status: string;
  notes?: string | null;
  tags: Record<string, string>;
}

/** An nbformat 4.5 Python 3 notebook of code cells with ids `<idPrefix>-<i>`. */
export function notebookOf(
  cells: string[],
  idPrefix = 'cell'
): Record<string, unknown> {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: {
        name: 'python3',
        display_name: 'Python 3 (ipykernel)',
        language: 'python'
      }
    },
    cells: cells.map((source, i) => ({
      cell_type: 'code',
      id: `${idPrefix}-${i}`,
      metadata: {},
      source,
      outputs: [],
      execution_count: null
    }))
  };
}

/** Writes a notebook of `cells` to `path` through JupyterLab's contents API. */
export async function uploadNotebook(
  page: IJupyterLabPageFixture,
  path: string,
  cells: string[],
  idPrefix = 'cell'
): Promise<void> {
  await page.contents.uploadContent(
    JSON.stringify(notebookOf(cells, idPrefix)),
    'text',
    path
  );
}

/**
 * Writes a notebook of `cells`, runs it in a real kernel, waits for the tracked
 * run `runName` to finish with its end snapshot, closes the notebook and
 * returns the run's id.
 */
export async function trackNotebook(
  page: IJupyterLabPageFixture,
  request: APIRequestContext,
  path: string,
  cells: string[],
  runName: string
): Promise<string> {
  await uploadNotebook(page, path, cells);
  await openNotebook(page, path);
  await page.notebook.run();
  await expect
    .poll(async () => (await runByName(request, runName))?.status)
    .toBe('FINISHED');
  const runId = (await runByName(request, runName))!.id;
  // JupyterLab posts the end snapshot when the cell finishes.
  await expect.poll(() => snapshotPhase(request, runId)).toBe('end');
  await page.notebook.close(true);
  return runId;
}

/** Opens a notebook from the file browser; waits for kernel_info (requests sent before it can be dropped). */
export async function openNotebook(
  page: IJupyterLabPageFixture,
  path: string
): Promise<void> {
  await page.notebook.openByPath(path);
  await page.evaluate(async () => {
    const widget = window.jupyterapp.shell.currentWidget as any;
    await widget.sessionContext.ready;
    await widget.sessionContext.session.kernel.info;
  });
}

/** Fills a jupyter-mm form dialog's fields (by name) and presses `accept`. */
export async function fillForm(
  page: Page,
  fields: Record<string, string>,
  accept: string
): Promise<void> {
  const d = dialog(page);
  await expect(d).toBeVisible();
  for (const [name, value] of Object.entries(fields)) {
    await d.locator(`[name="${name}"]`).fill(value);
  }
  await d.getByRole('button', { name: accept, exact: true }).click();
}

/** Starts a JupyterLab command without waiting for it (it may open a dialog). */
export async function execute(
  page: Page,
  command: string,
  args?: any
): Promise<void> {
  await page.evaluate(
    ({ command, args }) => {
      void window.jupyterapp.commands.execute(command, args);
    },
    { command, args }
  );
}

/** The store's runs, over REST (all spec files log into the same store). */
export async function listRuns(
  request: APIRequestContext
): Promise<IRestRun[]> {
  const reply = await request.get(`${API}/runs?max_results=1000`);
  const body = (await reply.json()) as { runs: IRestRun[] };
  return body.runs;
}

/**
 * Logs a run over REST (as a script elsewhere would): into `experiment`
 * (created if needed), with params and one value per metric. Returns its id.
 */
export async function createRestRun(
  request: APIRequestContext,
  experiment: string,
  name: string,
  params: Record<string, string> = {},
  metrics: Record<string, number> = {}
): Promise<string> {
  const created = await request.post(`${API}/runs`, {
    data: { experiment_name: experiment, name, params }
  });
  expect(created.status()).toBe(201);
  const id = ((await created.json()) as IRestRun).id;
  const entries = Object.entries(metrics).map(([key, value]) => ({
    key,
    value,
    step: 0,
    timestamp: Date.now()
  }));
  if (entries.length > 0) {
    const logged = await request.post(`${API}/runs/${id}/log-batch`, {
      data: { metrics: entries }
    });
    expect(logged.ok()).toBe(true);
  }
  return id;
}

/** The run named `name`, over REST, or undefined while there is none. */
export async function runByName(
  request: APIRequestContext,
  name: string
): Promise<IRestRun | undefined> {
  return (await listRuns(request)).find(r => r.name === name);
}

/** The phase of a run's notebook snapshot, or the HTTP status while there is none. */
export async function snapshotPhase(
  request: APIRequestContext,
  runId: string
): Promise<string | number> {
  const r = await request.get(`${API}/runs/${runId}/snapshot`);
  return r.ok() ? ((await r.json()).phase as string) : r.status();
}

/** Switch JupyterLab to the dark or the light theme. */
export async function setTheme(
  page: IJupyterLabPageFixture,
  theme: 'dark' | 'light'
): Promise<void> {
  if (theme === 'dark') {
    await page.theme.setDarkTheme();
  } else {
    await page.theme.setLightTheme();
  }
}

/** The dialog that is open (JupyterLab shows one at a time). */
export function dialog(page: Page): Locator {
  return page.locator('.jp-Dialog');
}

/**
 * Resolves when JupyterLab next saves the workspace (where IStateDB lives),
 * with `containing` in what it saves when given.
 */
export function workspaceSaved(
  page: Page,
  containing = ''
): Promise<unknown> {
  return page.waitForRequest(
    r =>
      r.method() === 'PUT' &&
      r.url().includes('/api/workspaces/') &&
      (r.postData() ?? '').includes(containing)
  );
}

/** The run panel in the sidebar. */
export function runPanel(page: Page): Locator {
  return page.locator(`#${SIDEBAR} .jp-mm-runs`);
}

/** The run panel's rows (not its placeholders). */
export function runRows(page: Page): Locator {
  return runPanel(page).locator(
    '.jp-mm-runs-body .jp-mm-runs-row[data-run-id]'
  );
}

/** Shows one experiment in the run panel, once its picker offers it. */
export async function selectExperiment(
  page: Page,
  experiment: string
): Promise<void> {
  const picker = runPanel(page).getByRole('combobox', { name: 'Experiment' });
  await expect(picker.locator('option', { hasText: experiment })).toHaveCount(
    1
  );
  await picker.selectOption({ label: experiment });
}

/** Adds run panel columns, each a [group, label] of the column chooser. */
export async function chooseColumns(
  page: Page,
  columns: Array<[string, string]>
): Promise<void> {
  const panel = runPanel(page);
  await panel.getByRole('button', { name: 'Columns' }).click();
  const chooser = panel.getByRole('dialog', { name: 'Choose columns' });
  for (const [group, label] of columns) {
    await chooser
      .locator('fieldset', { hasText: group })
      .getByLabel(label, { exact: true })
      .check();
  }
  await panel.getByRole('button', { name: 'Done' }).click();
}

/** Cells that log three runs into `experiment`, then show `mm.compare` of them. */
export function compareCells(experiment: string): string[] {
  return [
    [
      'import jupyter_mm as mm',
      `mm.set_experiment('${experiment}')`,
      "for name, lr, opt in [('slow', '0.001', 'adam'), ('fast', '0.1', 'sgd'), ('mid', '0.01', 'adam')]:",
      '    with mm.start_run(name=name, params={"lr": lr, "opt": opt}):',
      '        for s in range(200):',
      "            mm.log_metric('loss', float(lr) * 10 / (s + 1) + (s % 7) * 0.01)",
      "            mm.log_metric('acc', 1 - 1 / (s + 2))",
      "        mm.log_metric('auc', 0.9 - float(lr))",
      "print('logged')"
    ].join('\n'),
    `w = mm.compare('', experiment='${experiment}', metrics=['loss', 'acc', 'auc'])\nw`,
    "print('state', w.metric, w.smoothing, len(w.figures['curves']['data']))"
  ];
}

/** The first comparison widget (`mm.compare`) on the page. */
export function compareWidget(page: Page): Locator {
  return page.locator('.jmm-cmp').first();
}

/** The comparison widget's curves view. */
export function curves(page: Page): Locator {
  return compareWidget(page).locator('.jmm-cmp-curves');
}

/** What plotly drew in the curves view: trace count and the title. */
export async function drawn(
  page: Page
): Promise<{ traces: number; title: string }> {
  return curves(page).evaluate((div: any) => ({
    traces: (div.data || []).length,
    title: String(div.layout?.title?.text ?? '')
  }));
}

/** Waits until the widget has drawn its loss curves, one per run of compareCells. */
export async function expectCurvesDrawn(page: Page): Promise<void> {
  await expect(compareWidget(page)).toBeVisible();
  await expect(curves(page).locator('.main-svg').first()).toBeVisible();
  await expect(compareWidget(page)).toHaveAttribute('data-revision', /\d+/);
  await expect.poll(() => drawn(page)).toEqual({ traces: 3, title: 'loss' });
}

/** Scrolls to the lazily drawn plots, waits for them, then for the table's three runs. */
export async function expectOtherViewsDrawn(page: Page): Promise<void> {
  const widget = compareWidget(page);
  for (const view of ['parcoords', 'scatter']) {
    await widget.locator(`.jmm-cmp-${view}`).scrollIntoViewIfNeeded();
    await expect(
      widget.locator(`.jmm-cmp-${view} .main-svg`).first()
    ).toBeVisible();
  }
  await curves(page).scrollIntoViewIfNeeded();
  await expect(widget.locator('.jmm-cmp-table tbody tr')).toHaveCount(3);
}

/** Step: picking `acc` in the widget's metric menu redraws the curves with it. */
export async function stepChangeMetric(page: Page): Promise<void> {
  await test.step('changing the metric redraws the curves', async () => {
    const widget = compareWidget(page);
    const before = await widget.getAttribute('data-revision');
    await widget.locator('select.jmm-cmp-metric').selectOption('acc');
    await expect(widget).not.toHaveAttribute('data-revision', before ?? '');
    await expect.poll(() => drawn(page)).toEqual({ traces: 3, title: 'acc' });
    await expect(curves(page).locator('.gtitle')).toHaveText('acc');
  });
}

/** Step: smoothing 0.8 draws smoothed lines over the faded raw ones. */
export async function stepSmoothCurves(page: Page): Promise<void> {
  await test.step('smoothing redraws smoothed lines over faded raw ones', async () => {
    const widget = compareWidget(page);
    const slider = widget.locator('input.jmm-cmp-smoothing');
    await slider.evaluate((input: HTMLInputElement) => {
      input.value = '0.8';
      input.dispatchEvent(new Event('input', { bubbles: true }));
    });
    await expect(widget.locator('.jmm-cmp-smoothing-value')).toHaveText('0.8');
    await expect
      .poll(() => drawn(page))
      .toEqual({ traces: 6, title: 'acc (EMA 0.8)' });
    await expect(curves(page).locator('.scatterlayer .trace')).toHaveCount(6);
  });
}

/** Step: a metric logged once per run is a visible point in the widget's curves. */
export async function stepSinglePointMetric(page: Page): Promise<void> {
  await test.step('a metric logged once is drawn as points', async () => {
    const widget = compareWidget(page);
    await widget.locator('select.jmm-cmp-metric').selectOption('auc');
    await expect.poll(() => drawn(page)).toEqual({ traces: 3, title: 'auc' });
    await expect(curves(page).locator('.scatterlayer .point')).toHaveCount(3);
    await widget.locator('select.jmm-cmp-metric').selectOption('loss');
    await expect.poll(() => drawn(page)).toEqual({ traces: 3, title: 'loss' });
  });
}

/** Step: the widget's plots take the theme's colours, in dark and back in light. */
export async function stepWidgetFollowsTheme(
  page: IJupyterLabPageFixture
): Promise<void> {
  for (const theme of ['dark', 'light'] as const) {
    await test.step(`the widget follows the ${theme} theme`, async () => {
      if (theme === 'dark') {
        await page.theme.setDarkTheme();
      } else {
        await page.theme.setLightTheme();
      }
      const title = curves(page).locator('.gtitle');
      await expect
        .poll(async () => {
          const fill = await title.evaluate(
            (n: Element) => getComputedStyle(n).fill
          );
          const [r, g, b] = (fill.match(/\d+/g) ?? []).map(Number);
          return (r + g + b) / 3 > 128 ? 'light' : 'dark';
        })
        .toBe(theme === 'dark' ? 'light' : 'dark');
    });
  }
}

/**
 * A notebook's cells: a tracked cell (run `runName` in `experiment`) training
 * a seeded logistic regression with `C = 0.5`, logging `accuracy` and the model
 * at `models/pd`, and printing `trained with C = …`.
 */
export function trainingCells(runName: string, experiment: string): string[] {
  return [
    'import jupyter_mm as mm',
    [
      `%%track ${runName} -e ${experiment}`,
      'import numpy as np',
      'from sklearn.linear_model import LogisticRegression',
      'C = 0.5',
      'rng = np.random.default_rng(0)',
      'X = rng.normal(size=(200, 3))',
      'y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)',
      'clf = LogisticRegression(C=C).fit(X, y)',
      "mm.log_metric('accuracy', float(clf.score(X, y)))",
      "mm.log_model(clf, 'pd', input_example=X[:2])",
      "print('trained with C =', C)"
    ].join('\n')
  ];
}

/**
 * Creates the registered model `model` and its version 1 from the run's
 * `models/pd`, over REST.
 */
export async function registerVersion(
  request: APIRequestContext,
  model: string,
  runId: string
): Promise<void> {
  expect(
    (
      await request.post(`${API}/registry/models`, { data: { name: model } })
    ).status()
  ).toBe(201);
  expect(
    (
      await request.post(`${API}/registry/models/${model}/versions`, {
        data: { run_id: runId, path: 'models/pd' }
      })
    ).status()
  ).toBe(201);
}

/**
 * Tracks `trainingCells(runName, experiment)` in `${dir}/${runName}.ipynb`;
 * the run's id.
 */
export function trackTraining(
  page: IJupyterLabPageFixture,
  request: APIRequestContext,
  dir: string,
  runName: string,
  experiment: string
): Promise<string> {
  return trackNotebook(
    page,
    request,
    `${dir}/${runName}.ipynb`,
    trainingCells(runName, experiment),
    runName
  );
}

/**
 * Kernel lines that set up a model to monitor: `time`, `np`, `pd`, `mm`,
 * `build_profile`, the kernel's `store`, `features(n, shift, seed)` (a frame
 * of `income`, normal around 50 + 10 * shift, and `region`), a training `run`
 * in `experiment` and the registered model `model` (no version yet).
 */
export function monitoredModelSetup(
  model: string,
  experiment: string
): string[] {
  return [
    'import time',
    'import numpy as np, pandas as pd',
    'import jupyter_mm as mm',
    'from jupyter_mm.client import backend',
    'from jupyter_mm.monitoring.profile import build_profile',
    'store = backend.get_store()',
    'def features(n, shift, seed):',
    '    rng = np.random.default_rng(seed)',
    "    return pd.DataFrame({'income': rng.normal(50 + 10 * shift, 10, n),",
    "                         'region': rng.choice(['N', 'S'], n)})",
    `run = store.create_run(store.get_or_create_experiment('${experiment}'), name='train')`,
    `store.create_registered_model('${model}', actor='alice')`
  ];
}
