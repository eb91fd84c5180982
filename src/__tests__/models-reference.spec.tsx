/**
 * The version view's "Reference profile" section against a fake registry
 * server: read from `GET .../versions/{v}/reference` only when the version is
 * tagged with a profile; rows, digests, each feature's kind, null rate and
 * quantiles (or top levels) and the score distribution, all as text (feature
 * names and levels are user data, never HTML); a refusal shown in place.
 */

import { RegistryAPI } from '../models/api';
import { featureSummary, quantileAt } from '../models/reference';
import { VersionViewModel } from '../models/versionview';
import {
  EVIL,
  ICall,
  fakeVersion,
  mountEachTest,
  routedServer,
  showVersionView
} from './utils';

const BOLD = '<b>N</b>';
const DIGEST = 'f'.repeat(64);
const DATA_DIGEST = 'd'.repeat(64);
const LEVELS = [0, 0.245, 0.255, 0.495, 0.505, 0.745, 0.755, 1];

const PROFILE = {
  schema: 'jupyter-mm.reference-profile',
  schema_version: 1,
  created: '2026-01-01T00:00:00Z',
  rows: 2000,
  data_digest: DATA_DIGEST,
  options: { quantile_levels: LEVELS, max_categories: 50 },
  features: {
    [EVIL]: {
      kind: 'numeric',
      count: 2000,
      nulls: 50,
      null_rate: 0.025,
      quantiles: [1, 2, 4, 10, 12, 20, 22, 100]
    },
    region: {
      kind: 'categorical',
      count: 2000,
      nulls: 0,
      null_rate: 0,
      categories: {
        levels: [BOLD, 'S', 'E', 'W'],
        counts: [800, 600, 400, 195],
        proportions: [0.4, 0.3, 0.2, 0.0975],
        other: 5
      }
    },
    empty: { kind: 'numeric', count: 2000, nulls: 2000, null_rate: 1 }
  },
  score: {
    kind: 'numeric',
    count: 2000,
    mean: 0.31234,
    quantiles: [0.01, 0.1, 0.12, 0.3, 0.32, 0.5, 0.52, 0.99]
  },
  performance: {
    auc: 0.81234,
    bad_rate: 0.2,
    calibration: { calibrated: true }
  }
};

function server(reference: () => { status?: number; body: unknown }): {
  api: RegistryAPI;
  calls: ICall[];
} {
  const tagged = fakeVersion({ tags: { 'mm.reference': DIGEST } });
  const { settings, calls } = routedServer((method, path) => {
    if (path === 'registry/models/credit-risk/versions/1') {
      return { body: tagged };
    }
    if (path === 'registry/models/credit-risk/versions/2') {
      return { body: fakeVersion({ version: 2 }) };
    }
    if (path === 'registry/models/credit-risk/versions/1/reference') {
      return reference();
    }
    return undefined;
  });
  return { api: new RegistryAPI(settings), calls };
}

function section(host: HTMLElement, version = 1): Element {
  return host.querySelector(
    `section[aria-labelledby="jp-mm-version-credit-risk-${version}-reference"]`
  )!;
}

describe('The reference profile in the version view', () => {
  let host: HTMLDivElement;
  let root: import('react-dom/client').Root;
  mountEachTest(mounted => ({ host, root } = mounted));

  async function show(
    api: RegistryAPI,
    version = 1
  ): Promise<VersionViewModel> {
    return showVersionView(
      root,
      new VersionViewModel(api, 'credit-risk', version)
    );
  }

  it('shows the facts, each feature and the score as text', async () => {
    const { api, calls } = server(() => ({
      body: {
        name: 'credit-risk',
        version: 1,
        digest: DIGEST,
        profile: PROFILE
      }
    }));
    await show(api);
    const asked = calls.filter(c => c.url.includes('/reference'));
    expect(asked.map(c => [c.method, c.url])).toEqual([
      [
        'GET',
        'http://localhost:8888/jupyter-mm/api/registry/models/credit-risk/versions/1/reference'
      ]
    ]);
    const s = section(host);
    expect(s.querySelector('h2')?.textContent).toBe('Reference profile');
    const facts = Array.from(s.querySelectorAll('.jp-mm-kv dt')).map(dt => [
      dt.textContent,
      dt.nextElementSibling?.textContent
    ]);
    expect(facts).toEqual([
      ['Rows', '2000'],
      ['Data digest', 'dddddddddddd…'],
      ['Profile digest', 'ffffffffffff…'],
      ['Computed', '2026-01-01T00:00:00Z'],
      [
        'Score',
        '2000 scores · mean 0.312 · min 0.01 · p25 0.11 · median 0.31 · p75 0.51 · max 0.99'
      ],
      ['Performance', 'AUC 0.812 · bad rate 0.2 · calibrated']
    ]);
    expect(s.querySelectorAll('.jp-mm-digest')[1].getAttribute('title')).toBe(
      DIGEST
    );
    const rows = Array.from(
      s.querySelectorAll('.jp-mm-reference-features tbody tr')
    ).map(r => Array.from(r.querySelectorAll('td')).map(td => td.textContent));
    expect(rows).toEqual([
      [EVIL, 'numeric', '2.5%', 'min 1 · p25 3 · median 11 · p75 21 · max 100'],
      [
        'region',
        'categorical',
        '0%',
        `${BOLD} 40% · S 30% · E 20% · 1 more · other 5`
      ],
      ['empty', 'numeric', '100%', 'no non-null values']
    ]);
    // user text stayed text
    expect(host.querySelector('img')).toBeNull();
    expect(s.querySelector('b')).toBeNull();
    expect((window as any).__pwned).toBeUndefined();
  });

  it('does not ask for a version without a profile, and says how to get one', async () => {
    const { api, calls } = server(() => ({ body: {} }));
    await show(api, 2);
    expect(calls.some(c => c.url.includes('/reference'))).toBe(false);
    expect(section(host, 2).textContent).toContain(
      'No reference profile: mm.set_reference(name, version, data) freezes one'
    );
  });

  it('shows a refusal in place', async () => {
    const { api } = server(() => ({
      status: 403,
      body: { error_code: 'PERMISSION_DENIED', message: 'not yours' }
    }));
    const model = await show(api);
    expect(model.errors.reference).toBe('Refused (403): not yours');
    expect(section(host).querySelector('.jp-mm-error')?.textContent).toBe(
      'Refused (403): not yours'
    );
    expect(section(host).querySelector('table')).toBeNull();
  });

  it('reads quantiles off the frozen grid', () => {
    const q = [1, 2, 4, 10, 12, 20, 22, 100];
    expect(quantileAt(LEVELS, q, 0)).toBe(1);
    expect(quantileAt(LEVELS, q, 0.25)).toBeCloseTo(3);
    expect(quantileAt(LEVELS, q, 1)).toBe(100);
    expect(quantileAt([], [], 0.5)).toBeNull();
    expect(featureSummary({ kind: 'numeric', quantiles: [] }, LEVELS)).toBe(
      'no non-null values'
    );
  });
});
