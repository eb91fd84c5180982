/**
 * The run view's artifact browser, end to end: a real kernel logs a model
 * with `mm.log_model` and the files people log (an image, CSV and Parquet
 * tables, JSON, YAML, a notebook, a text file full of HTML) into nested
 * folders; the tree opens them and each previews as it should, in the light
 * and the dark theme. Markup in a file is shown as text, never run.
 */
import { expect, test } from '@jupyterlab/galata';
import type { Locator } from '@playwright/test';
import { execute, setTheme, trackNotebook } from './helpers';

// Its own experiment and run names: other spec files log into the same store.
const EXPERIMENT = 'ui-workspace-artifacts';
const RUN = 'arts';

/** A 24x16 red PNG. */
const PNG =
  'iVBORw0KGgoAAAANSUhEUgAAABgAAAAQCAIAAACDRijCAAAAHElEQVR4nGO8o6HBQA3ARBVTRg0aNWjUoBFsEACk9wFM74RHGAAAAABJRU5ErkJggg==';

const EVIL =
  '<img src=x onerror="document.title=\'pwned\'"><script>document.title="pwned"</script>';

const CELLS = [
  'import jupyter_mm as mm',
  [
    `%%track ${RUN} -e ${EXPERIMENT}`,
    'import base64, io, json',
    'import numpy as np',
    'import pandas as pd',
    'from sklearn.linear_model import LogisticRegression',
    'rng = np.random.default_rng(0)',
    'X = rng.normal(size=(60, 2))',
    'y = (X[:, 0] > 0).astype(int)',
    "mm.log_model(LogisticRegression().fit(X, y), 'clf', input_example=X[:2])",
    `mm.log_artifact(base64.b64decode('${PNG}'), 'plots/red.png')`,
    "mm.log_text('name,value\\n<b>bold</b>,1\\nplain,2\\n', 'data/deep/table.csv')",
    'buf = io.BytesIO()',
    "pd.DataFrame({'id': [7, 8, 9], 'label': ['<i>x</i>', 'y', None]}).to_parquet(buf)",
    "mm.log_artifact(buf.getvalue(), 'data/deep/rows.parquet')",
    "mm.log_text(json.dumps({'alpha': [1, 2], 'beta': {'c': True}}), 'meta.json')",
    "mm.log_text('learning_rate: 0.1\\nlayers: [2, 3]\\n', 'config.yaml')",
    'nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [',
    '  {"cell_type": "markdown", "id": "m1", "metadata": {}, "source": "# Hello notebook"},',
    '  {"cell_type": "code", "id": "c1", "metadata": {}, "execution_count": 1,',
    '   "source": "print(42)", "outputs": [',
    '     {"output_type": "stream", "name": "stdout", "text": "forty-two\\n"},',
    '     {"output_type": "display_data", "metadata": {}, "data": {"text/html":',
    `      ${JSON.stringify(EVIL)}, "text/plain": "html"}}]}]}`,
    "mm.log_text(json.dumps(nb), 'report.ipynb')",
    `mm.log_text(${JSON.stringify(EVIL)}, 'evil.txt')`,
    "print('logged')"
  ].join('\n')
];

function tree(view: Locator): Locator {
  return view.getByRole('tree', { name: 'Artifacts' });
}

function item(view: Locator, name: string): Locator {
  return tree(view)
    .getByRole('treeitem')
    .filter({
      has: view.page().locator('.jp-mm-artifact-path', {
        hasText: new RegExp(`^${name.replace(/\./g, '\\.')}$`)
      })
    });
}

/** Selects a file and returns its preview once it shows `kind`. */
async function preview(
  view: Locator,
  name: string,
  kind: string
): Promise<Locator> {
  await item(view, name).click();
  const pane = view.locator(`.jp-mm-preview[data-kind="${kind}"]`);
  await expect(pane.locator('.jp-mm-preview-header code')).toHaveText(
    new RegExp(`(^|/)${name.replace(/\./g, '\\.')}$`)
  );
  await expect(pane.locator('.jp-mm-loading')).toHaveCount(0);
  return pane;
}

/** Whether an element's text is light or dark (it must contrast the theme). */
async function ink(locator: Locator): Promise<'light' | 'dark'> {
  const color = await locator.evaluate(n => getComputedStyle(n).color);
  const [r, g, b] = (color.match(/\d+/g) ?? []).map(Number);
  return (r + g + b) / 3 > 128 ? 'light' : 'dark';
}

test.describe('the run view’s artifact browser', () => {
  test.use({ autoGoto: true });

  test('a tree of logged files, each previewed, in both themes', async ({
    page,
    request,
    tmpPath
  }) => {
    test.setTimeout(300000);
    const runId = await trackNotebook(
      page,
      request,
      `${tmpPath}/${RUN}.ipynb`,
      CELLS,
      RUN
    );
    await execute(page, 'jupyter-mm:open-run', { runId });
    const view = page.locator(`#jupyter-mm-run-${runId}`);
    await expect(view.locator('.jp-mm-view-title')).toHaveText(RUN);
    await view.locator('.jp-mm-artifacts').scrollIntoViewIfNeeded();

    await test.step('the tree: folders first, nested ones open by click and keyboard', async () => {
      await expect(item(view, 'data/')).toHaveAttribute(
        'aria-expanded',
        'false'
      );
      await expect(item(view, 'table.csv')).toHaveCount(0);
      await item(view, 'data/').click();
      await expect(item(view, 'data/')).toHaveAttribute(
        'aria-expanded',
        'true'
      );
      // Keyboard: down to data/deep, Right opens it.
      await item(view, 'data/').press('ArrowDown');
      await expect(item(view, 'deep/')).toBeFocused();
      await item(view, 'deep/').press('ArrowRight');
      await expect(item(view, 'deep/')).toHaveAttribute(
        'aria-expanded',
        'true'
      );
      await expect(item(view, 'table.csv')).toHaveAttribute(
        'aria-level',
        '3'
      );
      await expect(item(view, 'rows.parquet')).toBeVisible();
      // A folder's size is the sum of its files'.
      await expect(
        item(view, 'deep/').locator('.jp-mm-artifact-size')
      ).not.toHaveText('0 B');
      await item(view, 'models/').click();
      await item(view, 'clf/').click();
      await expect(item(view, 'MLmodel')).toBeVisible();
      await item(view, 'plots/').click();
    });

    for (const theme of ['light', 'dark'] as const) {
      await test.step(`${theme} theme: every kind of file previews`, async () => {
        await setTheme(page, theme);
        const textInk = theme === 'dark' ? 'light' : 'dark';

        // mm.log_model's MLmodel previews as text (it said "No preview").
        let pane = await preview(view, 'MLmodel', 'text');
        await expect(pane.locator('pre')).toContainText('flavors:');
        await expect(pane.locator('pre')).toContainText('python_function');
        await expect(pane).not.toContainText('No preview');
        expect(await ink(pane.locator('pre'))).toBe(textInk);

        pane = await preview(view, 'red.png', 'image');
        const img = pane.locator('img.jp-mm-preview-image');
        await expect(img).toHaveAttribute('src', /^blob:/);
        await expect
          .poll(() => img.evaluate((n: HTMLImageElement) => n.naturalWidth))
          .toBe(24);

        pane = await preview(view, 'table.csv', 'csv');
        await expect(pane.locator('th')).toHaveText(['name', 'value']);
        await expect(pane.locator('td').first()).toHaveText('<b>bold</b>');
        await expect(pane.locator('td b')).toHaveCount(0);
        expect(await ink(pane.locator('td').first())).toBe(textInk);

        pane = await preview(view, 'rows.parquet', 'parquet');
        await expect(pane.locator('th')).toHaveText(['id', 'label']);
        await expect(pane.locator('tbody tr')).toHaveCount(3);
        await expect(pane.locator('tbody tr').first()).toContainText('7');
        await expect(pane.locator('td').nth(1)).toHaveText('<i>x</i>');
        await expect(pane).toContainText('First 3 of 3 rows');

        pane = await preview(view, 'meta.json', 'json');
        await expect(pane.locator('pre')).toHaveText(
          JSON.stringify({ alpha: [1, 2], beta: { c: true } }, null, 2)
        );

        pane = await preview(view, 'config.yaml', 'text');
        await expect(pane.locator('pre')).toHaveText(
          'learning_rate: 0.1\nlayers: [2, 3]\n'
        );

        pane = await preview(view, 'report.ipynb', 'notebook');
        await expect(pane.locator('.jp-mm-nbcell')).toHaveCount(2);
        await expect(pane.locator('h1')).toHaveText(/Hello notebook/);
        await expect(pane).toContainText('forty-two');
        // The HTML output went through JupyterLab's sanitiser: no script, no handler.
        await expect(pane.locator('script')).toHaveCount(0);
        await expect(pane.locator('[onerror]')).toHaveCount(0);

        pane = await preview(view, 'evil.txt', 'text');
        await expect(pane.locator('pre')).toHaveText(EVIL);
        await expect(pane.locator('img, script')).toHaveCount(0);
        expect(await page.title()).not.toBe('pwned');

        // Anything else: no preview, but a download.
        pane = await preview(view, 'model.skops', 'none');
        await expect(pane).toContainText('No preview for this kind of file.');
        await expect(
          pane.getByRole('button', { name: 'Download' })
        ).toBeVisible();
      });
    }
    await setTheme(page, 'light');
    expect(await page.title()).not.toBe('pwned');
  });
});
