/**
 * Monitoring in the Models panel and the version view, end to end: a real
 * kernel registers a model with a reference profile, logs two windows of
 * predictions (one like the reference, one whose income moved by a standard
 * deviation), defines a monitor and evaluates it twice (real store, real
 * prediction log, the bank preset; the monitor's period is claimed first, so
 * the server's own scheduler does not add a third evaluation). The Models panel then shows each
 * version's monitoring status (drift for the watched version, no data for the
 * other), and the version view's Monitoring section shows the latest verdict
 * table and the history, newest first.
 */
import { expect, test } from '@jupyterlab/galata';
import type { Locator, Page } from '@playwright/test';
import {
  API,
  execute,
  monitoredModelSetup,
  openNotebook,
  uploadNotebook
} from './helpers';

const ALICE = { Authorization: 'token mm-ui-alice' };
const MODEL = 'scorecard-monitored';

const CELLS = [
  [
    ...monitoredModelSetup(MODEL, 'monitoring-ui'),
    'for _ in range(2):',
    `    store.create_model_version('${MODEL}', f'runs:/{run.id}/model', actor='alice')`,
    `store.set_registered_model_alias('${MODEL}', 'champion', 1, actor='alice')`,
    `store.set_reference_profile('${MODEL}', 1, build_profile(features(2000, 0, 0)).doc, actor='alice')`,
    'now = time.time()',
    'for at, shift, seed in ((now - 9000, 0.0, 1), (now - 1800, 1.0, 2)):',
    '    X = features(1000, shift, seed)',
    `    mm.log_predictions('${MODEL}', 1, X, np.full(len(X), 0.5), at=at)`,
    '# claimed first, so the server’s scheduler leaves it to this cell for an hour',
    'from jupyter_mm.monitoring import monitors, schedule',
    `assert schedule.claim(store, monitors.Monitor('${MODEL}', 'champion', every='1h'), now)`,
    `mm.monitor('${MODEL}', window='1h', every='1h', min_rows=200)`,
    `first = mm.evaluate_monitor('${MODEL}', now=now - 7200)`,
    `second = mm.evaluate_monitor('${MODEL}', now=now)`,
    'print(first.status, second.status)'
  ].join('\n')
];

function versionRow(page: Page, version: number): Locator {
  return page.locator(
    `#jupyter-mm-models .jp-mm-versions-table tr[data-version="${version}"]`
  );
}

test.describe('monitoring status and report', () => {
  test.use({ autoGoto: true, extraHTTPHeaders: ALICE });

  test('the panel badge and the version view’s Monitoring section', async ({
    page,
    request,
    tmpPath
  }) => {
    test.setTimeout(240000);

    await test.step('a kernel registers, logs and evaluates', async () => {
      await uploadNotebook(page, `${tmpPath}/monitor.ipynb`, CELLS);
      await openNotebook(page, `${tmpPath}/monitor.ipynb`);
      await page.notebook.run();
      await expect(
        page.locator('.jp-OutputArea-output').filter({ hasText: 'ok drift' })
      ).toBeVisible({ timeout: 120000 });
      const reply = await request.get(
        `${API}/registry/models/${MODEL}/monitoring`,
        { headers: ALICE }
      );
      expect(reply.ok()).toBe(true);
      const body = await reply.json();
      expect(
        body.versions.map((v: any) => [v.version, v.status, v.evaluations])
      ).toEqual([
        [2, 'no-data', 0],
        [1, 'drift', 2]
      ]);
      await page.notebook.close(true);
    });

    const panel = page.locator('#jupyter-mm-models');

    await test.step('the Models panel shows a status per version', async () => {
      await execute(page, 'jupyter-mm:open-models');
      await panel
        .locator('.jp-mm-models-item')
        .filter({ hasText: MODEL })
        .click();
      await expect(panel.locator('.jp-mm-models-name')).toHaveText(MODEL);
      const drift = versionRow(page, 1).locator('.jp-mm-monitoring');
      await expect(drift).toHaveText('drift');
      await expect(drift).toHaveClass(/jp-mm-monitoring-drift/);
      await expect(drift).toHaveAttribute('aria-label', 'Monitoring: drift');
      const none = versionRow(page, 2).locator('.jp-mm-monitoring');
      await expect(none).toHaveText('no data');
      await expect(none).toHaveClass(/jp-mm-monitoring-no-data/);
    });

    await test.step('the version view shows the latest report and its history', async () => {
      await versionRow(page, 1)
        .getByRole('button', { name: 'v1', exact: true })
        .click();
      const section = page.getByRole('region', { name: 'Monitoring' });
      await expect(section).toBeVisible();
      await expect(section.locator('.jp-mm-kv .jp-mm-monitoring')).toHaveText(
        'drift'
      );
      await expect(section).toContainText('champion');
      await expect(section.locator('.jp-mm-monitoring-latest')).toContainText(
        'evaluation 2 · 1000 rows · drift'
      );
      const income = section.locator(
        '.jp-mm-verdicts tr[data-feature="income"]'
      );
      await expect(income.locator('td').nth(1)).toHaveText('psi');
      await expect(income.locator('td').nth(5)).toHaveText('drift');
      await expect(income.locator('td').nth(6)).toHaveText('2000 / 1000');
      await expect(
        section.locator('.jp-mm-verdicts tr[data-feature="region"] td').nth(5)
      ).toHaveText('ok');
      const history = section.locator('.jp-mm-monitoring-history tbody tr');
      await expect(history).toHaveCount(2);
      await expect(history.nth(0).locator('td').nth(2)).toHaveText('2');
      await expect(history.nth(0).locator('.jp-mm-monitoring')).toHaveText(
        'drift'
      );
      await expect(history.nth(1).locator('td').nth(2)).toHaveText('1');
      await expect(history.nth(1).locator('.jp-mm-monitoring')).toHaveText(
        'OK'
      );
    });
  });
});
