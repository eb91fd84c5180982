/**
 * The artifact browser: a run's files with a preview of the selected one. It takes the run's id
 * and artifact list, not a view model, so any view that lists a run's artifacts can use it.
 */

import * as React from 'react';

import { IRenderMimeRegistry } from '@jupyterlab/rendermime';

import { PREVIEW_BYTES, ViewsAPI } from '../api';
import {
  formatBytes,
  imageType,
  parseCSV,
  previewKind,
  PreviewKind
} from '../artifacts';
import { renderNotebook } from '../render';
import { IArtifact } from '../../schema';
import { WidgetHost } from '../widgets';
import { errorText } from '../../format';

/**
 * A run's files (folders left out) as a list; the selected one is previewed.
 */
export function ArtifactBrowser(props: {
  api: ViewsAPI;
  runId: string;
  artifacts: IArtifact[];
  rendermime: IRenderMimeRegistry;
}): JSX.Element {
  const files = props.artifacts.filter(a => !a.is_dir);
  const [selected, setSelected] = React.useState<string | null>(null);
  const current = files.find(a => a.path === selected) ?? null;
  if (!files.length) {
    return <p className="jp-mm-empty">No artifacts.</p>;
  }
  return (
    <div className="jp-mm-artifacts">
      <ul className="jp-mm-artifact-list" aria-label="Artifacts">
        {files.map(a => (
          <li key={a.path}>
            <button
              className={
                'jp-mm-artifact' +
                (a.path === selected ? ' jp-mm-artifact-selected' : '')
              }
              aria-pressed={a.path === selected}
              onClick={() => setSelected(a.path)}
              title={`${a.path} (${a.media_type})`}
            >
              <span className="jp-mm-artifact-path">{a.path}</span>
              <span className="jp-mm-artifact-size">{formatBytes(a.size)}</span>
            </button>
          </li>
        ))}
      </ul>
      <div className="jp-mm-artifact-preview" aria-live="polite">
        {current ? (
          <ArtifactPreview
            key={current.path}
            api={props.api}
            runId={props.runId}
            artifact={current}
            rendermime={props.rendermime}
          />
        ) : (
          <p className="jp-mm-empty">Select a file to preview it.</p>
        )}
      </div>
    </div>
  );
}

/**
 * Largest image, JSON or notebook previewed (these are read whole; text and
 * CSV previews read only the first PREVIEW_BYTES).
 */
const MAX_WHOLE_PREVIEW = 20 * 1024 * 1024;

type PreviewState =
  | { state: 'loading' }
  | { state: 'error'; message: string }
  | { state: 'none' }
  | { state: 'image'; url: string }
  | { state: 'text'; text: string; truncated: boolean }
  | { state: 'table'; rows: string[][]; truncated: boolean }
  | { state: 'html'; html: string; truncated: boolean }
  | { state: 'notebook'; notebook: any };

/**
 * A preview of one artifact: images as images, CSV as a table, JSON pretty
 * printed, notebooks rendered, HTML in a sandboxed iframe (no scripts, no
 * same origin), other text as text.
 */
export function ArtifactPreview(props: {
  api: ViewsAPI;
  runId: string;
  artifact: IArtifact;
  rendermime: IRenderMimeRegistry;
}): JSX.Element {
  const { api, runId, artifact } = props;
  const kind: PreviewKind = previewKind(artifact);
  const [preview, setPreview] = React.useState<PreviewState>({
    state: 'loading'
  });
  React.useEffect(() => {
    let cancelled = false;
    let url: string | null = null;
    const load = async (): Promise<PreviewState> => {
      if (kind === 'none') {
        return { state: 'none' };
      }
      const whole = kind === 'notebook' || kind === 'json' || kind === 'image';
      if (whole && artifact.size > MAX_WHOLE_PREVIEW) {
        return {
          state: 'error',
          message: `Too large to preview (${formatBytes(artifact.size)}); download it instead.`
        };
      }
      if (kind === 'image') {
        const { blob } = await api.download(runId, artifact.path);
        url = URL.createObjectURL(
          new Blob([blob], { type: imageType(artifact) })
        );
        return { state: 'image', url };
      }
      const { blob, truncated } = await api.download(
        runId,
        artifact.path,
        whole ? undefined : PREVIEW_BYTES
      );
      const text = await blob.text();
      switch (kind) {
        case 'csv': {
          const tsv = artifact.path.toLowerCase().endsWith('.tsv');
          return {
            state: 'table',
            rows: parseCSV(text, tsv ? '\t' : ',', 1001, !truncated),
            truncated
          };
        }
        case 'json':
          try {
            return {
              state: 'text',
              text: JSON.stringify(JSON.parse(text), null, 2),
              truncated
            };
          } catch {
            return { state: 'text', text, truncated };
          }
        case 'notebook':
          return { state: 'notebook', notebook: JSON.parse(text) };
        case 'html':
          return { state: 'html', html: text, truncated };
        default:
          return { state: 'text', text, truncated };
      }
    };
    load().then(
      p => {
        if (!cancelled) {
          setPreview(p);
        }
      },
      e => {
        if (!cancelled) {
          setPreview({ state: 'error', message: errorText(e) });
        }
      }
    );
    return () => {
      cancelled = true;
      if (url) {
        URL.revokeObjectURL(url);
      }
    };
  }, [runId, artifact.path, artifact.digest]);

  const download = async () => {
    const { blob } = await api.download(runId, artifact.path);
    const url = URL.createObjectURL(blob);
    const a = document.createElement('a');
    a.href = url;
    a.download = artifact.path.split('/').pop() ?? 'artifact';
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 0);
  };

  return (
    <div className="jp-mm-preview" data-kind={kind}>
      <div className="jp-mm-preview-header">
        <code>{artifact.path}</code>
        <span className="jp-mm-preview-meta">
          {artifact.media_type} · {formatBytes(artifact.size)}
        </span>
        <button
          className="jp-mm-button jp-mod-styled"
          onClick={() => void download()}
        >
          Download
        </button>
      </div>
      <PreviewBody preview={preview} rendermime={props.rendermime} />
    </div>
  );
}

function PreviewBody(props: {
  preview: PreviewState;
  rendermime: IRenderMimeRegistry;
}): JSX.Element {
  const { preview } = props;
  switch (preview.state) {
    case 'loading':
      return <p className="jp-mm-loading">Loading…</p>;
    case 'error':
      return (
        <p className="jp-mm-error" role="alert">
          {preview.message}
        </p>
      );
    case 'none':
      return <p className="jp-mm-empty">No preview for this kind of file.</p>;
    case 'image':
      return <img className="jp-mm-preview-image" src={preview.url} alt="" />;
    case 'text':
      return (
        <>
          <pre className="jp-mm-preview-text">{preview.text}</pre>
          {preview.truncated && <Truncated />}
        </>
      );
    case 'table': {
      const [header, ...rows] = preview.rows;
      return (
        <>
          <div className="jp-mm-preview-table">
            <table className="jp-mm-table">
              <thead>
                <tr>
                  {(header ?? []).map((h, i) => (
                    <th key={i} scope="col">
                      {h}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {rows.map((row, i) => (
                  <tr key={i}>
                    {row.map((c, j) => (
                      <td key={j}>{c}</td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {(preview.truncated || preview.rows.length > 1000) && <Truncated />}
        </>
      );
    }
    case 'html':
      return (
        <>
          <iframe
            className="jp-mm-preview-html"
            sandbox=""
            srcDoc={preview.html}
            title="HTML preview (sandboxed)"
          />
          {preview.truncated && <Truncated />}
        </>
      );
    case 'notebook':
      return (
        <WidgetHost
          className="jp-mm-preview-notebook"
          factory={() => renderNotebook(preview.notebook, props.rendermime)}
          deps={[preview.notebook]}
        />
      );
  }
}

function Truncated(): JSX.Element {
  return (
    <p className="jp-mm-empty">
      Preview cut short; download the file to see all of it.
    </p>
  );
}
