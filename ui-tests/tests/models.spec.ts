/**
 * The model registry's approval flow in the UI, end to end, as the bank's
 * credit-scoring team does it: a real kernel trains and logs a scikit-learn
 * model in a `%%track` cell (real store, real `mm.log_model`); alice
 * registers it in the Models panel and asks for approval; approving her own
 * request is refused (four eyes, 403); bob, in his own browser session,
 * approves it; alice sets `champion`; the version view shows the audit
 * timeline, the lineage (run, notebook snapshot, execution log, dataset
 * digest, environment) and the model card, whose fields she then fills in.
 * Alice's panel and version view follow bob's changes (his approval, an alias
 * and a version he registers over REST) by themselves, through the registry
 * events, without a click on Refresh.
 *
 * Two identities: the test server (jupyter_server_test_config.py) maps the
 * header `Authorization: token mm-ui-<name>` to the user <name>; each browser
 * context sends its own user's header with every request.
 */
import { expect, test } from '@jupyterlab/galata';
import type { Locator, Page } from '@playwright/test';
import {
  ALICE,
  API,
  BOB,
  dialog,
  execute,
  fillForm,
  trackNotebook
} from './helpers';

const MODEL = 'credit-risk';

const CELLS = [
  'import jupyter_mm as mm',
  [
    '%%track credit-logit',
    'import numpy as np',
    'from sklearn.linear_model import LogisticRegression',
    'rng = np.random.default_rng(0)',
    'X = rng.normal(size=(200, 3))',
    'y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)',
    "mm.log_dataset(X, 'applications')",
    "mm.log_param('C', 0.5)",
    'clf = LogisticRegression(C=0.5).fit(X, y)',
    "mm.log_metric('accuracy', float(clf.score(X, y)))",
    "mm.log_model(clf, 'pd', input_example=X[:2])",
    "print('logged')"
  ].join('\n')
];

async function answer(
  page: Page,
  fields: Record<string, string>,
  accept: string
): Promise<void> {
  await fillForm(page, fields, accept);
  // The form is gone (an error dialog may follow it).
  await expect(page.locator('.jp-mm-form')).toHaveCount(0);
}

function versionRow(page: Page, version: number): Locator {
  return page.locator(
    `#jupyter-mm-models .jp-mm-versions-table tr[data-version="${version}"]`
  );
}

test.describe.configure({ mode: 'serial' });

test.describe('model registry approval flow', () => {
  test.use({ autoGoto: true, extraHTTPHeaders: ALICE });

  test('register, four eyes, approve, champion, audit, lineage, card', async ({
    page,
    request,
    browser,
    baseURL,
    tmpPath
  }) => {
    test.setTimeout(300000);
    let runId = '';

    await test.step('train and log a model in a tracked cell', async () => {
      runId = await trackNotebook(
        page,
        request,
        `${tmpPath}/credit.ipynb`,
        CELLS,
        'credit-logit'
      );
    });

    const panel = page.locator('#jupyter-mm-models');

    await test.step('alice registers the run’s model in the UI', async () => {
      await execute(page, 'jupyter-mm:register-model', { runId });
      const d = dialog(page);
      // The path is offered from the run's logged models.
      await expect(d.locator('[name="path"]')).toHaveValue('models/pd');
      await answer(
        page,
        { name: MODEL, comment: 'best validation AUC' },
        'Register'
      );
      await expect(panel.locator('.jp-mm-models-name')).toHaveText(MODEL);
      const row = versionRow(page, 1);
      await expect(row).toContainText('not submitted');
      await expect(row).toContainText('by alice');
      // The source run by its name and key metric, not its hex id.
      await expect(row.locator('.jp-mm-runid')).toHaveText('credit-logit');
      await expect(row.locator('.jp-mm-source-run')).toContainText('accuracy');
    });

    await test.step('alice requests approval with evidence', async () => {
      await versionRow(page, 1)
        .getByRole('button', { name: 'Request approval' })
        .click();
      await answer(
        page,
        {
          comment: 'validated on the 2026Q3 holdout',
          evidence: 'https://reports.example/credit-risk/v1'
        },
        'Request'
      );
      await expect(versionRow(page, 1)).toContainText('pending approval');
      await expect(versionRow(page, 1)).toContainText('asked by alice');
    });

    await test.step('alice cannot approve her own request', async () => {
      // The panel says so before she types a reason: Approve is disabled.
      const approve = versionRow(page, 1).getByRole('button', {
        name: 'Approve'
      });
      await expect(approve).toBeDisabled();
      await expect(approve).toHaveAttribute(
        'title',
        /You \(alice\) requested this approval: under the four-eyes policy anyone but you must decide/
      );
      // The server refuses it anyway (the command, from the palette).
      await execute(page, 'jupyter-mm:approve-model-version', {
        name: MODEL,
        version: 1,
        comment: 'looks fine to me'
      });
      const refusal = dialog(page);
      await expect(refusal).toContainText('Approve version failed');
      await expect(refusal).toContainText('Refused (403)');
      await expect(refusal.locator('.jp-Dialog-content')).toHaveScreenshot(
        'four-eyes-refusal.png'
      );
      await refusal.getByRole('button', { name: 'Close' }).click();
      await expect(refusal).toHaveCount(0);
      // Nothing changed.
      await expect(versionRow(page, 1)).toContainText('pending approval');
    });

    await test.step('bob approves it in his own session', async () => {
      const context = await browser.newContext({
        baseURL,
        extraHTTPHeaders: BOB
      });
      try {
        const bob = await context.newPage();
        await bob.goto('/lab');
        await bob.waitForFunction(
          () =>
            !!(window as any).jupyterapp?.commands.hasCommand(
              'jupyter-mm:open-models'
            )
        );
        await bob.evaluate(async () => {
          const app = (window as any).jupyterapp;
          await app.restored;
          await app.commands.execute('jupyter-mm:open-models', {
            name: 'credit-risk'
          });
        });
        const row = versionRow(bob, 1);
        await expect(row).toContainText('pending approval');
        await row.getByRole('button', { name: 'Approve' }).click();
        await answer(bob, { comment: 'validation report reviewed' }, 'Approve');
        await expect(row).toContainText('approved');
        await expect(row).toContainText('by bob');
      } finally {
        await context.close();
      }
      // Alice's panel saw it by itself (a registry event), without a Refresh.
      await expect(versionRow(page, 1)).toContainText('approved');
      await expect(versionRow(page, 1)).toContainText('by bob');
      await expect(panel.locator('.jp-mm-models-name')).toHaveText(MODEL);
    });

    await test.step('alice sets champion in the UI', async () => {
      const row = versionRow(page, 1);
      await row.getByRole('button', { name: 'Set alias…' }).click();
      await expect(dialog(page).locator('[name="alias"]')).toHaveValue(
        'champion'
      );
      await answer(page, { comment: 'approved by validation' }, 'Set');
      await expect(row.locator('.jp-mm-alias-badge')).toHaveText('@champion');
      await expect(panel.locator('.jp-mm-models-meta')).toContainText(
        '@champion → v1'
      );
      await page.mouse.move(0, 0);
      await expect(panel.locator('.jp-mm-versions-table')).toHaveScreenshot(
        'versions-table.png',
        // the source run and the registration time differ from run to run
        { mask: [row.locator('td').nth(4), row.locator('td').nth(5)] }
      );
    });

    const view = page.locator(`#jupyter-mm-model-${MODEL}-1`);

    await test.step('the version view: overview and audit timeline', async () => {
      await versionRow(page, 1).getByRole('button', { name: 'v1' }).click();
      await expect(view.locator('.jp-mm-view-title')).toHaveText(`${MODEL} v1`);
      await expect(view.locator('.jp-mm-decision')).toContainText(
        'Approved on'
      );
      await expect(view.locator('.jp-mm-decision')).toContainText(
        'by bob — “validation report reviewed”'
      );
      await expect(view.locator('.jp-mm-kv').first()).toContainText(
        'https://reports.example/credit-risk/v1'
      );
      const timeline = view.locator('.jp-mm-timeline-entry');
      const rows = async () =>
        (await timeline.all()).map(async e => [
          await e.getAttribute('data-action'),
          await e.locator('.jp-mm-timeline-actor').textContent()
        ]);
      await expect
        .poll(async () => Promise.all(await rows()))
        .toEqual([
          ['model.created', 'alice'],
          ['version.created', 'alice'],
          ['approval.requested', 'alice'],
          ['approval.approved', 'bob'],
          ['alias.set', 'alice']
        ]);
      await expect(timeline.nth(3)).toContainText(
        'v1: PendingManualApproval → Approved'
      );
      await expect(timeline.nth(3)).toContainText(
        '“validation report reviewed”'
      );
      await expect(timeline.nth(4)).toContainText('v1 @champion: → v1');
      await page.mouse.move(0, 0);
      await expect(view.locator('.jp-mm-timeline')).toHaveScreenshot(
        'audit-timeline.png',
        { mask: [view.locator('.jp-mm-timeline-time')] }
      );
    });

    await test.step('Try it: serve the version and send its example', async () => {
      const tryit = view.locator('.jp-mm-tryit');
      const box = tryit.getByRole('textbox', { name: 'Request body' });
      // the model's serving_input_example.json (logged with input_example)
      await expect(box).toHaveValue(/"inputs"/);
      await tryit.getByRole('button', { name: 'Serve and send' }).click();
      const result = tryit.locator('.jp-mm-tryit-result');
      await expect(result).toContainText('HTTP 200');
      await expect(result).toContainText('version 1');
      await expect(result.locator('.jp-mm-tryit-response')).toContainText(
        '"predictions"'
      );
      await expect(tryit.locator('.jp-mm-tryit-served')).toContainText(
        `Served as ${MODEL}-v1`
      );
      // the same model answers the REST route the button used
      const served = await request.get(`${API}/serve`);
      expect(
        (await served.json()).served.map((s: { name: string }) => s.name)
      ).toEqual([`${MODEL}-v1`]);
      // a bad body: the serving layer's 400, shown as text
      await box.fill(
        '{"dataframe_split": {"columns": ["<b>x</b>"], "data": [[1]]}}'
      );
      await tryit.getByRole('button', { name: 'Send' }).click();
      await expect(result).toContainText('HTTP 400');
      await expect(result.locator('b')).toHaveCount(0);
      await tryit.locator('.jp-mm-tryit-curl summary').click();
      await expect(tryit.locator('.jp-mm-tryit-curl')).toContainText(
        `jupyter-mm/serve/${MODEL}-v1/invocations`
      );
      await request.delete(`${API}/serve/${MODEL}-v1`);
    });

    await test.step('the lineage view', async () => {
      const lineage = view.locator('.jp-mm-lineage');
      await expect(lineage.locator('[data-part="run"]')).toContainText(
        'credit-logit'
      );
      await expect(lineage.locator('[data-part="version"]')).toContainText(
        'python_function'
      );
      const notebook = lineage.locator('[data-part="notebook"]');
      await expect(notebook).toContainText('credit.ipynb');
      await expect(notebook).toContainText('snapshot (end');
      await expect(notebook).toContainText('out of order: no');
      await expect(notebook).toContainText('hidden state: no');
      await expect(lineage.locator('[data-part="datasets"]')).toContainText(
        'applications (training)'
      );
      await expect(
        lineage.locator('[data-part="datasets"] .jp-mm-digest')
      ).toHaveAttribute('title', /^[0-9a-f]{64}$/);
      await expect(lineage.locator('[data-part="environment"]')).toContainText(
        'scikit-learn'
      );
      await page.mouse.move(0, 0);
      await expect(lineage).toHaveScreenshot('lineage.png', {
        mask: [
          lineage.locator('.jp-mm-digest'),
          lineage.locator('.jp-mm-runid'),
          lineage.locator('[data-part="run"] .jp-mm-dim'),
          lineage.locator('[data-part="notebook"] code'),
          lineage.locator('[data-part="environment"] .jp-mm-lineage-body'),
          lineage.locator('[data-part="git"] .jp-mm-lineage-body')
        ]
      });
      // Opening the source run goes to the run view.
      await lineage
        .locator('[data-part="run"]')
        .getByRole('button', { name: 'credit-logit' })
        .click();
      await expect(page.locator(`#jupyter-mm-run-${runId}`)).toBeVisible();
      await view.evaluate(node =>
        (window as any).jupyterapp.shell.activateById(node.id)
      );
      await expect(view).toBeVisible();
    });

    await test.step('the model card, sandboxed, and its fields', async () => {
      const frame = view.locator('iframe.jp-mm-card-frame');
      await expect(frame).toHaveAttribute('sandbox', '');
      const card = view.frameLocator('iframe.jp-mm-card-frame');
      await expect(card.locator('h1')).toHaveText(
        `Model card: ${MODEL} version 1`
      );
      await expect(card.locator('body')).toContainText('Approved by bob');
      await view.getByRole('button', { name: 'Edit fields…' }).click();
      await view
        .locator('textarea[name="intended_use"]')
        .fill('Probability of default for <retail> applicants');
      await view
        .locator('textarea[name="limitations"]')
        .fill('Not validated for SME loans.');
      await view.locator('input[name="comment"]').fill('first draft');
      await view.getByRole('button', { name: 'Save card' }).click();
      await expect(view.locator('.jp-mm-card-form')).toHaveCount(0);
      // The server escaped the text; the iframe shows it as text.
      await expect(card.locator('body')).toContainText(
        'Probability of default for <retail> applicants'
      );
      await expect(card.locator('retail')).toHaveCount(0);
      // The edit is audited: a new timeline entry by alice, with the why.
      const last = view.locator('.jp-mm-timeline-entry').last();
      await expect(last).toContainText('first draft');
      await expect(last.locator('.jp-mm-timeline-actor')).toHaveText('alice');
      await view.getByRole('button', { name: 'Markdown' }).click();
      await expect(view.locator('.jp-mm-card-text')).toContainText(
        '# Model card'
      );
      await view.getByRole('button', { name: 'JSON' }).click();
      await expect(view.locator('.jp-mm-card-text')).toContainText(
        '"model_details"'
      );
    });

    await test.step('deleting the alias is audited too', async () => {
      await view.getByRole('button', { name: 'Delete alias champion' }).click();
      await answer(page, { comment: 'retired' }, 'Delete');
      await expect(
        view.locator('.jp-mm-view-header .jp-mm-alias-badge')
      ).toHaveCount(0);
      const last = view.locator('.jp-mm-timeline-entry').last();
      await expect(last).toHaveAttribute('data-action', 'alias.deleted');
      await expect(last).toContainText('@champion: v1 → ∅');
      await expect(last).toContainText('“retired”');
      // The panel followed.
      await expect(
        versionRow(page, 1).locator('.jp-mm-alias-badge')
      ).toHaveCount(0);
    });

    await test.step('changes made outside the UI appear by themselves', async () => {
      // Bob, over REST (as a script or another tool would): an alias on v1...
      const alias = await request.put(
        `${API}/registry/models/${MODEL}/aliases/challenger`,
        { headers: BOB, data: { version: 1, comment: 'shadow traffic' } }
      );
      expect(alias.ok()).toBe(true);
      // ...shows in alice's open version view, badge and timeline.
      await expect(
        view.locator('.jp-mm-view-header .jp-mm-alias-badge')
      ).toHaveText('@challenger');
      const last = view.locator('.jp-mm-timeline-entry').last();
      await expect(last).toHaveAttribute('data-action', 'alias.set');
      await expect(last.locator('.jp-mm-timeline-actor')).toHaveText('bob');
      await expect(last).toContainText('“shadow traffic”');

      // A new version he registers appears in her Models panel.
      const registered = await request.post(
        `${API}/registry/models/${MODEL}/versions`,
        {
          headers: BOB,
          data: { run_id: runId, path: 'models/pd', comment: 'retrained' }
        }
      );
      expect(registered.status()).toBe(201);
      await execute(page, 'jupyter-mm:open-models', {});
      await expect(panel).toBeVisible();
      const row = versionRow(page, 2);
      await expect(row).toContainText('not submitted');
      await expect(row).toContainText('by bob');
      await expect(
        versionRow(page, 1).locator('.jp-mm-alias-badge')
      ).toHaveText('@challenger');
      await expect(
        panel.locator('.jp-mm-models-item', { hasText: MODEL })
      ).toContainText('v2 · @challenger');
      // Her selection stayed where it was.
      await expect(panel.locator('.jp-mm-models-name')).toHaveText(MODEL);
    });
  });
});
