/**
 * Notebook capture: comm message handling and snapshot requests, with a fake
 * notebook model, fake kernels and a fake server.
 */

import { ServerConnection } from '@jupyterlab/services';
import { Signal } from '@lumino/signaling';

import {
  COMM_TARGET,
  ISnapshotModel,
  ISnapshotPost,
  METADATA_KEY,
  SnapshotManager,
  apiSender,
  buildSnapshotPost,
  ensureNotebookId,
  handleCommData,
  newNotebookId,
  parseRunEvent,
  snapshotEndpoint
} from '../snapshot';

const RUN = '0123456789abcdef0123456789abcdef';

class FakeModel implements ISnapshotModel {
  constructor(metadata: { [key: string]: any } = {}) {
    this.metadata = { ...metadata };
  }
  toJSON(): any {
    return {
      nbformat: 4,
      nbformat_minor: 5,
      metadata: JSON.parse(JSON.stringify(this.metadata)),
      cells: this.cells.map(c => ({ ...c }))
    };
  }
  getMetadata(key: string): any {
    return this.metadata[key];
  }
  setMetadata(key: string, value: any): void {
    this.metadata[key] = value;
    this.dirty = true;
  }
  metadata: { [key: string]: any };
  dirty = false;
  cells: any[] = [
    {
      id: 'c1',
      cell_type: 'code',
      source: 'x = 1  # unsaved edit',
      metadata: {},
      outputs: [],
      execution_count: null
    }
  ];
}

function event(type: string, extra: { [key: string]: any } = {}) {
  return { type, protocol: 1, run_id: RUN, cell_id: 'c1', ...extra };
}

describe('parseRunEvent', () => {
  it('accepts run_started and run_finished of protocol 1', () => {
    expect(parseRunEvent(event('run_started'))?.run_id).toBe(RUN);
    expect(
      parseRunEvent(event('run_finished', { status: 'FINISHED' }))?.type
    ).toBe('run_finished');
  });

  it.each([
    null,
    undefined,
    'run_started',
    [1],
    { type: 'hello', protocol: 1 },
    event('run_started', { protocol: 2 }),
    event('run_started', { protocol: '1' }),
    event('something_else'),
    event('run_started', { run_id: 'not-a-run' }),
    event('run_started', { run_id: RUN.toUpperCase() }),
    event('toString')
  ])('ignores %p', data => {
    expect(parseRunEvent(data)).toBeNull();
  });
});

describe('ensureNotebookId', () => {
  it('creates the id once, keeping other jupyter-mm metadata', () => {
    const model = new FakeModel({ [METADATA_KEY]: { other: 1 } });
    const id = ensureNotebookId(model, () => 'fixed-id');
    expect(id).toBe('fixed-id');
    expect(model.dirty).toBe(true);
    expect(model.metadata[METADATA_KEY]).toEqual({
      other: 1,
      notebook_id: 'fixed-id'
    });
    model.dirty = false;
    expect(ensureNotebookId(model, () => 'another')).toBe('fixed-id');
    expect(model.dirty).toBe(false);
  });

  it('replaces malformed metadata', () => {
    const model = new FakeModel({ [METADATA_KEY]: 'garbage' });
    expect(ensureNotebookId(model, () => 'id-2')).toBe('id-2');
    expect(model.metadata[METADATA_KEY]).toEqual({ notebook_id: 'id-2' });
  });

  it('generates UUIDs', () => {
    const a = newNotebookId();
    expect(a).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
    );
    expect(newNotebookId()).not.toBe(a);
  });
});

describe('buildSnapshotPost', () => {
  it('posts the live document with its id, path and cell', () => {
    const model = new FakeModel();
    const post = buildSnapshotPost(
      parseRunEvent(event('run_started'))!,
      model,
      'dir/analysis.ipynb',
      () => 'nb-1'
    );
    expect(post.runId).toBe(RUN);
    expect(post.body).toEqual({
      phase: 'start',
      notebook: model.toJSON(),
      path: 'dir/analysis.ipynb',
      notebook_id: 'nb-1',
      cell_id: 'c1'
    });
    // The id is in the posted document itself.
    expect(post.body.notebook.metadata[METADATA_KEY].notebook_id).toBe('nb-1');
    expect(post.body.notebook.cells[0].source).toBe('x = 1  # unsaved edit');
  });

  it('maps run_finished to the end phase', () => {
    const post = buildSnapshotPost(
      parseRunEvent(event('run_finished', { cell_id: undefined }))!,
      new FakeModel(),
      'a.ipynb'
    );
    expect(post.body.phase).toBe('end');
    expect(post.body.cell_id).toBeNull();
  });

  it('builds the endpoint', () => {
    expect(snapshotEndpoint(RUN)).toBe(`runs/${RUN}/snapshot`);
  });
});

describe('handleCommData', () => {
  it('sends a snapshot for a run event', async () => {
    const sent: ISnapshotPost[] = [];
    const ok = await handleCommData(
      event('run_started'),
      () => ({ model: new FakeModel(), path: 'a.ipynb' }),
      async post => {
        sent.push(post);
      }
    );
    expect(ok).toBe(true);
    expect(sent).toHaveLength(1);
    expect(sent[0].body.phase).toBe('start');
  });

  it('ignores other messages and missing notebooks', async () => {
    const send = jest.fn(() => Promise.resolve());
    const source = () => ({ model: new FakeModel(), path: 'a.ipynb' });
    expect(
      await handleCommData({ type: 'hello', protocol: 1 }, source, send)
    ).toBe(false);
    expect(await handleCommData(event('run_started'), () => null, send)).toBe(
      false
    );
    expect(
      await handleCommData(
        event('run_started'),
        () => ({ model: null, path: 'a.ipynb' }),
        send
      )
    ).toBe(false);
    expect(send).not.toHaveBeenCalled();
  });

  it('logs failures quietly and never rejects', async () => {
    const log = jest.fn();
    const ok = await handleCommData(
      event('run_finished'),
      () => ({ model: new FakeModel(), path: 'a.ipynb' }),
      () => Promise.reject(new Error('store is locked')),
      log
    );
    expect(ok).toBe(false);
    expect(log).toHaveBeenCalledTimes(1);
    expect(log.mock.calls[0][0]).toContain(`end snapshot of run ${RUN}`);

    const broken = new FakeModel();
    broken.toJSON = () => {
      throw new Error('boom');
    };
    expect(
      await handleCommData(
        event('run_started'),
        () => ({ model: broken, path: 'a.ipynb' }),
        () => Promise.resolve(),
        log
      )
    ).toBe(false);
    expect(log).toHaveBeenCalledTimes(2);
  });
});

describe('apiSender', () => {
  it('POSTs the body to the run snapshot route through requestAPI', async () => {
    const calls: { url: string; method: string; body: string }[] = [];
    const settings = ServerConnection.makeSettings({
      baseUrl: 'http://localhost:8888/a%40b/',
      fetch: (async (input: RequestInfo, init?: RequestInit) => {
        const request = new Request(input, init);
        calls.push({
          url: request.url,
          method: request.method,
          body: await request.text()
        });
        return new Response(JSON.stringify({ phase: 'start' }), {
          status: 201
        });
      }) as typeof fetch
    });
    const post = buildSnapshotPost(
      parseRunEvent(event('run_started'))!,
      new FakeModel(),
      'a.ipynb',
      () => 'nb-1'
    );
    await expect(apiSender(settings)(post)).resolves.toEqual({
      phase: 'start'
    });
    expect(calls).toHaveLength(1);
    // makeRequest may append a cache-busting timestamp.
    expect(calls[0].url.replace(/\?\d+$/, '')).toBe(
      `http://localhost:8888/a%40b/jupyter-mm/api/runs/${RUN}/snapshot`
    );
    expect(calls[0].method).toBe('POST');
    expect(JSON.parse(calls[0].body)).toEqual(post.body);
  });

  it('rejects with the server message', async () => {
    const settings = ServerConnection.makeSettings({
      baseUrl: 'http://localhost:8888/',
      fetch: (() =>
        Promise.resolve(
          new Response(
            JSON.stringify({ error_code: 'X', message: 'invalid notebook: y' }),
            { status: 400 }
          )
        )) as typeof fetch
    });
    const post = buildSnapshotPost(
      parseRunEvent(event('run_started'))!,
      new FakeModel(),
      'a.ipynb'
    );
    await expect(apiSender(settings)(post)).rejects.toThrow(
      'invalid notebook: y'
    );
  });
});

describe('SnapshotManager', () => {
  class FakeKernel {
    constructor(public language = 'python') {}
    registerCommTarget(name: string, cb: any): void {
      this.targets[name] = cb;
    }
    requestExecute(content: any): void {
      this.executed.push(content);
    }
    get info(): Promise<any> {
      return Promise.resolve({ language_info: { name: this.language } });
    }
    statusChanged = new Signal<any, string>(this);
    isDisposed = false;
    targets: { [name: string]: any } = {};
    executed: any[] = [];
  }

  class FakePanel {
    constructor(public kernel: FakeKernel | null) {}
    sessionContext = {
      session: { kernel: null as any },
      kernelChanged: new Signal<any, any>(this)
    };
    content = { model: new FakeModel() };
    context = { path: 'nb.ipynb' };
    disposed = new Signal<any, void>(this);
    isDisposed = false;
  }

  function setup() {
    const sent: ISnapshotPost[] = [];
    const tracker = {
      widgetAdded: new Signal<any, any>({}),
      forEach: (fn: (p: any) => void) => existing.forEach(fn)
    };
    const existing: FakePanel[] = [];
    const send = (post: ISnapshotPost) => {
      sent.push(post);
      return Promise.resolve();
    };
    return { sent, tracker, existing, send };
  }

  const flush = () => new Promise(resolve => setTimeout(resolve, 0));

  it('registers the target on each kernel and posts on run events', async () => {
    const { sent, tracker, existing, send } = setup();
    const kernel = new FakeKernel();
    const panel = new FakePanel(kernel);
    panel.sessionContext.session.kernel = kernel;
    existing.push(panel);
    new SnapshotManager(tracker as any, send);
    expect(Object.keys(kernel.targets)).toEqual([COMM_TARGET]);

    // The kernel opens the comm (hello), then announces a run.
    const comm: any = {};
    kernel.targets[COMM_TARGET](comm, {
      content: { data: { type: 'hello', protocol: 1 } }
    });
    expect(typeof comm.onMsg).toBe('function');
    // onMsg must not return the POST's promise (it would stall the kernel connection).
    expect(comm.onMsg({ content: { data: event('run_started') } })).toBe(
      undefined
    );
    panel.content.model.cells[0].source = 'edited during the run';
    comm.onMsg({ content: { data: event('run_finished') } });
    await flush();
    expect(sent.map(p => p.body.phase)).toEqual(['start', 'end']);
    expect(sent[0].body.notebook.cells[0].source).toBe('x = 1  # unsaved edit');
    expect(sent[1].body.notebook.cells[0].source).toBe('edited during the run');
    expect(sent[0].body.notebook_id).toBe(sent[1].body.notebook_id);
    expect(sent[0].body.path).toBe('nb.ipynb');
  });

  it('follows kernel changes and new panels', async () => {
    const { sent, tracker, send } = setup();
    new SnapshotManager(tracker as any, send);
    const panel = new FakePanel(null);
    tracker.widgetAdded.emit(panel);
    const kernel = new FakeKernel();
    panel.sessionContext.session.kernel = kernel;
    panel.sessionContext.kernelChanged.emit({});
    expect(kernel.targets[COMM_TARGET]).toBeDefined();

    const comm: any = {};
    kernel.targets[COMM_TARGET](comm, {
      content: { data: event('run_started') }
    });
    await flush();
    expect(sent).toHaveLength(1);

    panel.isDisposed = true;
    comm.onMsg({ content: { data: event('run_finished') } });
    await flush();
    expect(sent).toHaveLength(1);
  });
});

describe('loading the %%track magics', () => {
  const flush = () => new Promise(resolve => setTimeout(resolve, 0));

  function panelWith(kernel: any) {
    return {
      sessionContext: {
        session: { kernel },
        kernelChanged: new Signal<any, any>({})
      },
      content: { model: null },
      context: { path: 'nb.ipynb' },
      disposed: new Signal<any, void>({}),
      isDisposed: false
    };
  }

  function kernel(language: string) {
    return {
      language,
      executed: [] as any[],
      statusChanged: new Signal<any, string>({}),
      isDisposed: false,
      registerCommTarget: () => undefined,
      requestExecute(content: any) {
        this.executed.push(content);
      },
      get info() {
        return Promise.resolve({ language_info: { name: language } });
      }
    };
  }

  function manage(panel: any, load: () => boolean) {
    const tracker = {
      widgetAdded: new Signal<any, any>({}),
      forEach: (fn: (p: any) => void) => fn(panel)
    };
    return new SnapshotManager(tracker as any, async () => undefined, load);
  }

  it('loads them silently in Python kernels, again after a restart', async () => {
    const k = kernel('python');
    manage(panelWith(k), () => true);
    await flush();
    expect(k.executed).toHaveLength(1);
    expect(k.executed[0]).toMatchObject({ silent: true, store_history: false });
    expect(k.executed[0].code).toContain(
      "run_line_magic('load_ext', 'jupyter_mm')"
    );
    k.statusChanged.emit('restarting');
    k.statusChanged.emit('idle');
    await flush();
    expect(k.executed).toHaveLength(2);
  });

  it('leaves other kernels alone, and obeys the setting', async () => {
    const r = kernel('R');
    manage(panelWith(r), () => true);
    const off = kernel('python');
    manage(panelWith(off), () => false);
    await flush();
    expect(r.executed).toHaveLength(0);
    expect(off.executed).toHaveLength(0);
  });
});
