/**
 * The registry sidebar and the model-version compare view: the comparison
 * table's rows and differences (params, metrics, signature, requirements,
 * datasets), the notebook-diff pairs, the compare command's arguments, the
 * compare view's rendering (user text as text) and the sidebar model's
 * reload, versions, selection and renames.
 */

import * as React from 'react';
import { act } from 'react';
import { Root } from 'react-dom/client';

import { EVIL, flush, mountEachTest } from './utils';
import type {
  ILineage,
  IModelVersion,
  IRegisteredModel,
  IRegistryApi
} from '../models/api';
import { ModelsSidebarModel, ModelsSidebarView } from '../models/sidebar';
import {
  diffPairs,
  IVersionColumn,
  parseRequirements,
  splitRequirement,
  versionCompareRows,
  versionRefs
} from '../models/versioncompare';
import {
  VersionCompareModel,
  VersionCompareView
} from '../models/versioncompareview';

const RUN_A = 'a'.repeat(32);
const RUN_B = 'b'.repeat(32);

function lineage(
  runId: string,
  params: Record<string, string>,
  metrics: Record<string, number>,
  outputs: string,
  digest: string
): ILineage {
  return {
    model: {} as IModelVersion,
    run: {
      id: runId,
      name: `run-${runId[0]}`,
      status: 'FINISHED',
      user: 'alice',
      start_time: 0,
      end_time: 1,
      params,
      metrics,
      notebook_path: null
    },
    model_files: {
      path: 'models/pd',
      files: 3,
      size: 10,
      mlmodel_digest: null,
      flavors: ['sklearn'],
      signature: { inputs: '[{"type": "double"}]', outputs }
    },
    notebook: { snapshot: null, cell: null },
    execution_log: null,
    datasets: [{ name: 'train', digest, context: 'training' }],
    environment: null,
    git: null,
    missing: []
  };
}

function column(
  version: number,
  l: ILineage | null,
  requirements: string[] | null
): IVersionColumn {
  return { name: 'credit', version, lineage: l, requirements, error: null };
}

const V1 = column(
  1,
  lineage(RUN_A, { C: '0.5', seed: '0' }, { accuracy: 0.9 }, '[long]', 'd1'),
  ['scikit-learn==1.5.2', 'numpy==2.1.0', 'mlflow-skinny']
);
const V2 = column(
  2,
  lineage(RUN_B, { C: '2.0', seed: '0' }, { accuracy: 0.95 }, '[long]', 'd2'),
  ['Scikit_Learn==1.6.0', 'numpy==2.1.0']
);

describe('versionCompareRows', () => {
  it('rows every section, marking the keys whose values differ', () => {
    const rows = versionCompareRows([V1, V2]);
    const view = rows.map(r => [r.section, r.key, r.values, r.differs]);
    expect(view).toEqual([
      ['params', 'C', ['0.5', '2.0'], true],
      ['params', 'seed', ['0', '0'], false],
      ['metrics', 'accuracy', ['0.9', '0.95'], true],
      [
        'signature',
        'inputs',
        ['[{"type": "double"}]', '[{"type": "double"}]'],
        false
      ],
      ['signature', 'outputs', ['[long]', '[long]'], false],
      ['requirements', 'mlflow-skinny', ['unpinned', null], true],
      ['requirements', 'numpy', ['==2.1.0', '==2.1.0'], false],
      ['requirements', 'scikit-learn', ['==1.5.2', '==1.6.0'], true],
      ['datasets', 'train (training)', ['d1', 'd2'], true]
    ]);
  });

  it('shows a version that failed to load as missing values', () => {
    const rows = versionCompareRows([V1, column(3, null, null)]);
    const c = rows.find(r => r.key === 'C');
    expect(c?.values).toEqual(['0.5', null]);
    expect(c?.differs).toBe(true);
    expect(rows.filter(r => r.section === 'requirements')).toHaveLength(3);
    expect(
      rows.filter(r => r.section === 'requirements').every(r => r.differs)
    ).toBe(true);
  });

  it('parses requirements as pip does', () => {
    expect(
      parseRequirements('# pinned\nnumpy==2.1.0  # why\n\n-r base.txt\nscipy\n')
    ).toEqual(['numpy==2.1.0', 'scipy']);
    expect(splitRequirement('Foo.Bar_baz[extra] >=1,<2')).toEqual({
      name: 'foo-bar-baz[extra]',
      pin: '>=1,<2'
    });
  });

  it('pairs the first source run with each other one for the notebook diff', () => {
    const same = column(4, V1.lineage, null);
    expect(diffPairs([V1, V2, same, column(5, null, null)])).toEqual([
      { base: RUN_A, other: RUN_B, label: 'credit v1 → credit v2' }
    ]);
    expect(diffPairs([column(5, null, null), V1])).toEqual([]);
  });

  it('reads the compare command’s versions, splitting at the last slash', () => {
    expect(versionRefs(['team/credit/1', 'credit/12'])).toEqual([
      { name: 'team/credit', version: 1 },
      { name: 'credit', version: 12 }
    ]);
    expect(versionRefs(['credit/0'])).toBeNull();
    expect(versionRefs(['credit'])).toBeNull();
    expect(versionRefs('credit/1')).toBeNull();
  });
});

describe('VersionCompareView', () => {
  let mounted: { host: HTMLDivElement; root: Root };
  mountEachTest(m => (mounted = m));

  it('loads each version, renders user text as text and opens the diff', async () => {
    const evil = lineage(RUN_B, { C: EVIL }, { accuracy: 1 }, '[long]', 'd2');
    const api = {
      lineage: async (name: string, version: number) => {
        if (version === 3) {
          throw new Error('no such version');
        }
        return version === 1 ? V1.lineage : evil;
      }
    } as unknown as IRegistryApi;
    const read: string[] = [];
    const model = new VersionCompareModel(
      api,
      async (runId, path) => {
        read.push(`${runId}:${path}`);
        return runId === RUN_A ? 'numpy==2.1.0\n' : null;
      },
      [
        { name: 'credit', version: 1 },
        { name: 'credit', version: 2 },
        { name: 'credit', version: 3 }
      ]
    );
    const diffs: string[][] = [];
    await act(async () =>
      mounted.root.render(
        <VersionCompareView
          model={model}
          actions={{
            openVersion: () => undefined,
            openRun: () => undefined,
            openDiff: (a, b) => diffs.push([a, b])
          }}
        />
      )
    );
    await act(() => model.load());
    await flush();
    expect(read).toEqual([
      `${RUN_A}:models/pd/requirements.txt`,
      `${RUN_B}:models/pd/requirements.txt`
    ]);
    const host = mounted.host;
    expect(host.querySelector('img')).toBeNull();
    const c = host.querySelector(
      'tbody[data-section="params"] tr[data-key="C"]'
    );
    expect(c?.classList.contains('jp-mm-differs')).toBe(true);
    expect(c?.textContent).toContain(EVIL);
    expect(host.querySelector('[role="alert"]')?.textContent).toBe(
      'no such version'
    );
    const numpy = host.querySelector('tr[data-key="numpy"]');
    expect(numpy?.textContent).toBe('numpy==2.1.0——');
    const button = Array.from(host.querySelectorAll('button')).find(b =>
      b.textContent?.startsWith('Diff notebooks')
    ) as HTMLButtonElement;
    act(() => button.click());
    expect(diffs).toEqual([[RUN_A, RUN_B]]);
  });
});

describe('ModelsSidebarModel', () => {
  let mounted: { host: HTMLDivElement; root: Root };
  mountEachTest(m => (mounted = m));

  function registry(models: IRegisteredModel[]): IRegistryApi {
    const version = (name: string, v: number): IModelVersion =>
      ({
        name,
        version: v,
        approval: v === 2 ? { status: 'Approved' } : null,
        lifecycle: 'active'
      }) as unknown as IModelVersion;
    return {
      searchModels: async () => models,
      getVersion: async (name: string, v: number) => version(name, v),
      versions: async (name: string) => [version(name, 2), version(name, 1)]
    } as unknown as IRegistryApi;
  }

  const CREDIT = {
    name: 'credit',
    description: null,
    owner: null,
    creation_time: 1,
    last_update_time: 1,
    tags: {},
    aliases: { champion: 2 },
    last_version: 2
  };

  it('keeps a model expanded while a reload that started before ran', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>(r => (release = r));
    const api = registry([CREDIT]);
    const getVersion = api.getVersion;
    api.getVersion = async (name: string, v: number) => {
      await gate;
      return getVersion(name, v);
    };
    const model = new ModelsSidebarModel(api);
    const reload = model.refresh(); // a live event's reload, still reading
    await new Promise(r => setTimeout(r, 0)); // it has listed the models
    await model.toggle('credit'); // the user expands the model meanwhile
    release();
    await reload;
    expect(model.expanded['credit']?.map(v => v.version)).toEqual([2, 1]);
    // and one collapsed during a reload stays collapsed
    let release2: () => void = () => undefined;
    const gate2 = new Promise<void>(r => (release2 = r));
    api.getVersion = async (name: string, v: number) => {
      await gate2;
      return getVersion(name, v);
    };
    const again = model.refresh();
    await new Promise(r => setTimeout(r, 0));
    await model.toggle('credit');
    release2();
    await again;
    expect('credit' in model.expanded).toBe(false);
  });

  it('lists models with their latest version, aliases and badges; compares ticked versions', async () => {
    const model = new ModelsSidebarModel(registry([CREDIT]));
    const opened: string[] = [];
    const compared: string[][] = [];
    await act(async () =>
      mounted.root.render(
        <ModelsSidebarView
          model={model}
          actions={{
            openVersion: (n, v) => opened.push(`${n}/${v}`),
            openModels: () => undefined,
            compare: refs =>
              compared.push(refs.map(r => `${r.name}/${r.version}`)),
            register: () => undefined
          }}
        />
      )
    );
    await act(() => model.refresh());
    const host = mounted.host;
    const item = host.querySelector('[data-model="credit"]') as HTMLElement;
    expect(item.textContent).toContain('v2');
    expect(item.textContent).toContain('approved');
    expect(item.textContent).toContain('@champion → v2');
    act(() =>
      (
        item.querySelector('.jp-mm-models-sidebar-name') as HTMLButtonElement
      ).click()
    );
    expect(opened).toEqual(['credit/2']);

    const compare = Array.from(host.querySelectorAll('button')).find(b =>
      b.textContent?.startsWith('Compare')
    ) as HTMLButtonElement;
    expect(compare.disabled).toBe(true);
    await act(() => model.toggle('credit'));
    const boxes = item.querySelectorAll('input[type="checkbox"]');
    expect(boxes).toHaveLength(2);
    act(() => (boxes[1] as HTMLInputElement).click());
    act(() => (boxes[0] as HTMLInputElement).click());
    expect(compare.disabled).toBe(false);
    act(() => compare.click());
    expect(compared).toEqual([['credit/1', 'credit/2']]);
  });

  it('follows a rename of an expanded model and its selection', async () => {
    const models = [CREDIT];
    const model = new ModelsSidebarModel(registry(models));
    await model.refresh();
    await model.toggle('credit');
    model.setSelected({ name: 'credit', version: 1 }, true);
    models[0] = { ...CREDIT, name: 'credit-v2' };
    await model.update({
      renamed: new Map([['credit', 'credit-v2']])
    } as any);
    expect(Object.keys(model.expanded)).toEqual(['credit-v2']);
    expect(model.selected).toEqual([{ name: 'credit-v2', version: 1 }]);
  });
});
