import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { Kernel, KernelMessage, ServerConnection } from '@jupyterlab/services';

import { requestAPI } from './request';

/**
 * Notebook capture: the kernel announces `run_started` / `run_finished` on the
 * `jupyter_mm` comm while a `%%track` cell runs; this module answers by
 * posting the live notebook document (unsaved edits and outputs included) to
 * the server extension. It never replies to the kernel, which is busy running
 * the cell. See docs/notebook-comm.md.
 */

/**
 * Comm target name the kernel opens (`jupyter_mm.notebook.frontend_comm`).
 */
export const COMM_TARGET = 'jupyter_mm';

/**
 * Run silently in Python kernels so `%%track` works with no setup; harmless
 * when jupyter-mm is not installed in the kernel's environment.
 */
export const LOAD_MAGICS_CODE = [
  'try:',
  '    import jupyter_mm as _jupyter_mm',
  'except ImportError:',
  '    pass',
  'else:',
  "    get_ipython().run_line_magic('load_ext', 'jupyter_mm')",
  '    del _jupyter_mm'
].join('\n');

/**
 * Version of the comm message format this frontend understands.
 */
export const PROTOCOL_VERSION = 1;

/**
 * Notebook metadata key holding jupyter-mm's data (`notebook_id`).
 */
export const METADATA_KEY = 'jupyter_mm';

/**
 * Snapshot phase posted for each announced event.
 */
export const PHASE_OF_EVENT: { [event: string]: SnapshotPhase } = {
  run_started: 'start',
  run_finished: 'end'
};

export type SnapshotPhase = 'start' | 'end';

/**
 * An announcement from the kernel, as far as this frontend needs it.
 */
export interface IRunEvent {
  type: string;
  protocol: number;
  run_id: string;
  cell_id?: string | null;
  execution_count?: number | null;
  tracking_uri?: string | null;
  status?: string | null;
}

/**
 * Body of `POST jupyter-mm/api/runs/{run_id}/snapshot`.
 */
export interface ISnapshotRequest {
  phase: SnapshotPhase;
  notebook: any;
  path: string;
  notebook_id: string;
  cell_id: string | null;
}

/**
 * What this module needs from a notebook model (a subset of INotebookModel,
 * so tests can pass a fake).
 */
export interface ISnapshotModel {
  toJSON(): any;
  getMetadata(key: string): any;
  setMetadata(key: string, value: any): void;
}

/**
 * A snapshot request ready to send.
 */
export interface ISnapshotPost {
  runId: string;
  body: ISnapshotRequest;
}

const RUN_ID = /^[0-9a-f]{32}$/;

/**
 * The run event carried by comm data, or null when the data is not an event
 * this frontend acts on (other types, other protocol versions, bad run ids).
 */
export function parseRunEvent(data: unknown): IRunEvent | null {
  if (!data || typeof data !== 'object' || Array.isArray(data)) {
    return null;
  }
  const event = data as { [key: string]: unknown };
  if (event.protocol !== PROTOCOL_VERSION) {
    return null;
  }
  if (
    typeof event.type !== 'string' ||
    !Object.prototype.hasOwnProperty.call(PHASE_OF_EVENT, event.type)
  ) {
    return null;
  }
  if (typeof event.run_id !== 'string' || !RUN_ID.test(event.run_id)) {
    return null;
  }
  return event as unknown as IRunEvent;
}

/**
 * A fresh random UUID (v4).
 */
export function newNotebookId(): string {
  const cryptoObj: Crypto | undefined = (globalThis as any).crypto;
  if (cryptoObj && typeof cryptoObj.randomUUID === 'function') {
    return cryptoObj.randomUUID();
  }
  const bytes = new Uint8Array(16);
  if (cryptoObj && typeof cryptoObj.getRandomValues === 'function') {
    cryptoObj.getRandomValues(bytes);
  } else {
    for (let i = 0; i < bytes.length; i++) {
      bytes[i] = Math.floor(Math.random() * 256);
    }
  }
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, b => b.toString(16).padStart(2, '0')).join('');
  return (
    `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-` +
    `${hex.slice(16, 20)}-${hex.slice(20)}`
  );
}

/**
 * The notebook's stable id (`metadata.jupyter_mm.notebook_id`), created once.
 *
 * Setting it marks the notebook dirty; it is saved with the next save, so
 * later runs of the same notebook share the id even after a rename.
 */
export function ensureNotebookId(
  model: ISnapshotModel,
  createId: () => string = newNotebookId
): string {
  const current = model.getMetadata(METADATA_KEY);
  const section =
    current && typeof current === 'object' && !Array.isArray(current)
      ? (current as { [key: string]: unknown })
      : {};
  const existing = section.notebook_id;
  if (typeof existing === 'string' && existing.length > 0) {
    return existing;
  }
  const id = createId();
  model.setMetadata(METADATA_KEY, { ...section, notebook_id: id });
  return id;
}

/**
 * Build the snapshot request for a run event: the live document (after
 * making sure it carries its notebook id), its path and the run's cell.
 */
export function buildSnapshotPost(
  event: IRunEvent,
  model: ISnapshotModel,
  path: string,
  createId: () => string = newNotebookId
): ISnapshotPost {
  const notebookId = ensureNotebookId(model, createId);
  return {
    runId: event.run_id,
    body: {
      phase: PHASE_OF_EVENT[event.type],
      notebook: model.toJSON(),
      path,
      notebook_id: notebookId,
      cell_id: typeof event.cell_id === 'string' ? event.cell_id : null
    }
  };
}

/**
 * API endpoint (below `jupyter-mm/api/`) of a run's snapshot.
 */
export function snapshotEndpoint(runId: string): string {
  return `runs/${encodeURIComponent(runId)}/snapshot`;
}

/**
 * Where a snapshot goes: `requestAPI` in the app, a fake in tests.
 */
export type SnapshotSender = (post: ISnapshotPost) => Promise<unknown>;

/**
 * Send snapshots with `requestAPI` (XSRF, token and base URL handled).
 */
export function apiSender(
  serverSettings: ServerConnection.ISettings
): SnapshotSender {
  return (post: ISnapshotPost) =>
    requestAPI<unknown>(snapshotEndpoint(post.runId), serverSettings, {
      method: 'POST',
      body: JSON.stringify(post.body)
    });
}

/**
 * The notebook a comm belongs to: its model and its current path.
 */
export interface ISnapshotSource {
  model: ISnapshotModel | null;
  path: string;
}

/**
 * Handle one comm message: when it is a run event, snapshot the notebook and
 * send it. Resolves to whether a snapshot was sent; never rejects (failures
 * are logged quietly through `log`).
 */
export async function handleCommData(
  data: unknown,
  source: () => ISnapshotSource | null,
  send: SnapshotSender,
  log: (message: string, error?: unknown) => void = quietLog
): Promise<boolean> {
  const event = parseRunEvent(data);
  if (!event) {
    return false;
  }
  let post: ISnapshotPost;
  try {
    const current = source();
    if (!current || !current.model) {
      return false;
    }
    post = buildSnapshotPost(event, current.model, current.path);
  } catch (error) {
    log(`jupyter-mm: could not snapshot the notebook for ${event.type}`, error);
    return false;
  }
  try {
    await send(post);
    return true;
  } catch (error) {
    log(
      `jupyter-mm: could not store the ${post.body.phase} snapshot of run ${post.runId}`,
      error
    );
    return false;
  }
}

function quietLog(message: string, error?: unknown): void {
  // No dialog: a missing snapshot must never interrupt the user's work.
  // eslint-disable-next-line no-console
  console.warn(message, error);
}

/**
 * Registers the `jupyter_mm` comm target on the kernel of every notebook and
 * posts snapshots when the kernel announces a run.
 */
export class SnapshotManager {
  constructor(
    tracker: INotebookTracker,
    send: SnapshotSender,
    loadMagics: () => boolean = () => true
  ) {
    this._send = send;
    this._loadMagics = loadMagics;
    tracker.widgetAdded.connect((_, panel) => this.watch(panel), this);
    tracker.forEach(panel => this.watch(panel));
  }

  /**
   * Follow a notebook panel: register the comm target on its kernel now and
   * on every kernel change.
   */
  watch(panel: NotebookPanel): void {
    if (this._watched.has(panel)) {
      return;
    }
    this._watched.add(panel);
    const sessionContext = panel.sessionContext;
    const register = () => {
      const kernel = sessionContext.session?.kernel;
      if (kernel) {
        this._register(kernel, panel);
      }
    };
    sessionContext.kernelChanged.connect(register, this);
    panel.disposed.connect(() => {
      sessionContext.kernelChanged.disconnect(register, this);
    });
    register();
  }

  private _register(kernel: Kernel.IKernelConnection, panel: NotebookPanel) {
    if (this._registered.has(kernel)) {
      return;
    }
    this._registered.add(kernel);
    void this._loadExtension(kernel);
    let restarting = false;
    kernel.statusChanged.connect((_, status) => {
      if (status === 'restarting' || status === 'autorestarting') {
        restarting = true;
      } else if (status === 'idle' && restarting) {
        restarting = false;
        void this._loadExtension(kernel);
      }
    });
    kernel.registerCommTarget(
      COMM_TARGET,
      (comm: Kernel.IComm, msg: KernelMessage.ICommOpenMsg) => {
        const source = (): ISnapshotSource | null =>
          panel.isDisposed
            ? null
            : { model: panel.content.model, path: panel.context.path };
        void handleCommData(msg.content.data, source, this._send);
        // Do not return the promise: the kernel connection would wait for the
        // POST before handling the next message (outputs included).
        comm.onMsg = (m: KernelMessage.ICommMsgMsg) => {
          void handleCommData(m.content.data, source, this._send);
        };
      }
    );
  }

  /**
   * Make `%%track` available with no setup in Python kernels (setting
   * `loadMagics`); a kernel without jupyter-mm installed is left alone.
   */
  private async _loadExtension(kernel: Kernel.IKernelConnection) {
    if (!this._loadMagics()) {
      return;
    }
    try {
      const info = await kernel.info;
      if (info.language_info.name !== 'python' || kernel.isDisposed) {
        return;
      }
      kernel.requestExecute(
        { code: LOAD_MAGICS_CODE, silent: true, store_history: false },
        true
      );
    } catch (error) {
      quietLog('could not load the %%track magics', error);
    }
  }

  private _send: SnapshotSender;
  private _loadMagics: () => boolean;
  private _registered = new WeakSet<Kernel.IKernelConnection>();
  private _watched = new WeakSet<NotebookPanel>();
}

/**
 * Plugin id of notebook capture.
 */
export const SNAPSHOT_PLUGIN_ID = 'jupyter-mm:notebook-capture';

/**
 * The main plugin, whose settings (`schema/plugin.json`) hold `loadMagics`.
 */
const MAIN_PLUGIN_ID = 'jupyter-mm:plugin';

/**
 * Notebook capture: snapshots of the live notebook at the start and end of
 * every `%%track` run.
 */
export const snapshotPlugin: JupyterFrontEndPlugin<void> = {
  id: SNAPSHOT_PLUGIN_ID,
  description:
    'Records the live notebook (unsaved edits and outputs included) at the start and end of every %%track run.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ISettingRegistry],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    settingRegistry: ISettingRegistry | null
  ): void => {
    let loadMagics = true;
    if (settingRegistry) {
      void settingRegistry
        .load(MAIN_PLUGIN_ID)
        .then(settings => {
          const apply = () => {
            loadMagics = settings.get('loadMagics').composite !== false;
          };
          apply();
          settings.changed.connect(apply);
        })
        .catch(error => quietLog('could not read the settings', error));
    }
    new SnapshotManager(
      tracker,
      apiSender(app.serviceManager.serverSettings),
      () => loadMagics
    );
  }
};
