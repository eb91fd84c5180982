/**
 * The artifact browser: a run's files with a preview of the selected one. It takes the run's id
 * and artifact list, not a view model, so any view that lists a run's artifacts can use it.
 */

import * as React from 'react';

import { IRenderMimeRegistry } from '@jupyterlab/rendermime';

import { PREVIEW_BYTES, ViewsAPI } from '../api';
import {
  buildTree,
  formatBytes,
  IArtifactNode,
  imageType,
  parentPath,
  parseCSV,
  previewKind,
  PreviewKind,
  visibleNodes
} from '../artifacts';
import { renderNotebook } from '../render';
import { IArtifact } from '../../schema';
import { WidgetHost } from '../widgets';
import { errorText } from '../../format';

/**
 * A run's files as a collapsible tree (an ARIA tree: arrow keys move, Right
 * opens a folder, Left closes it or goes to its parent, Enter or Space opens a
 * file) with sizes; the selected file is previewed beside it.
 */
export function ArtifactBrowser(props: {
  api: ViewsAPI;
  runId: string;
  artifacts: IArtifact[];
  rendermime: IRenderMimeRegistry;
}): JSX.Element {
  const tree = React.useMemo(
    () => buildTree(props.artifacts),
    [props.artifacts]
  );
  const [expanded, setExpanded] = React.useState<ReadonlySet<string>>(
    () => new Set()
  );
  const [selected, setSelected] = React.useState<string | null>(null);
  const [focused, setFocused] = React.useState<string | null>(null);
  const rows = visibleNodes(tree, expanded);
  const treeRef = React.useRef<HTMLUListElement>(null);
  const current =
    props.artifacts.find(a => !a.is_dir && a.path === selected) ?? null;
  if (!rows.length) {
    return <p className="jp-mm-empty">No artifacts.</p>;
  }
  const focusPath =
    rows.find(r => r.node.path === focused)?.node.path ?? rows[0].node.path;

  const toggle = (path: string, open?: boolean) =>
    setExpanded(old => {
      const next = new Set(old);
      if (open ?? !old.has(path)) {
        next.add(path);
      } else {
        next.delete(path);
      }
      return next;
    });
  const moveTo = (path: string) => {
    setFocused(path);
    const items =
      treeRef.current?.querySelectorAll<HTMLElement>('[role="treeitem"]');
    Array.from(items ?? [])
      .find(item => item.dataset.path === path)
      ?.focus();
  };
  const activate = (node: IArtifactNode) => {
    setFocused(node.path);
    if (node.isDir) {
      toggle(node.path);
    } else {
      setSelected(node.path);
    }
  };
  const onKeyDown = (event: React.KeyboardEvent, index: number) => {
    const { node } = rows[index];
    let handled = true;
    switch (event.key) {
      case 'ArrowDown':
        moveTo(rows[Math.min(index + 1, rows.length - 1)].node.path);
        break;
      case 'ArrowUp':
        moveTo(rows[Math.max(index - 1, 0)].node.path);
        break;
      case 'Home':
        moveTo(rows[0].node.path);
        break;
      case 'End':
        moveTo(rows[rows.length - 1].node.path);
        break;
      case 'ArrowRight':
        if (node.isDir && !expanded.has(node.path)) {
          toggle(node.path, true);
        } else if (node.isDir && node.children.length) {
          moveTo(node.children[0].path);
        }
        break;
      case 'ArrowLeft':
        if (node.isDir && expanded.has(node.path)) {
          toggle(node.path, false);
        } else if (parentPath(node.path)) {
          moveTo(parentPath(node.path));
        }
        break;
      case 'Enter':
      case ' ':
        activate(node);
        break;
      default:
        handled = false;
    }
    if (handled) {
      event.preventDefault();
      event.stopPropagation();
    }
  };

  return (
    <div className="jp-mm-artifacts">
      <ul
        className="jp-mm-artifact-tree"
        role="tree"
        aria-label="Artifacts"
        ref={treeRef}
      >
        {rows.map(({ node, depth }, i) => {
          const open = node.isDir && expanded.has(node.path);
          return (
            <li
              key={node.path}
              role="treeitem"
              data-path={node.path}
              aria-level={depth}
              aria-expanded={node.isDir ? open : undefined}
              aria-selected={!node.isDir && node.path === selected}
              tabIndex={node.path === focusPath ? 0 : -1}
              className={
                'jp-mm-artifact' +
                (node.isDir ? ' jp-mm-artifact-dir' : '') +
                (node.path === selected ? ' jp-mm-artifact-selected' : '')
              }
              style={{ paddingLeft: `${(depth - 1) * 16 + 4}px` }}
              title={
                node.artifact
                  ? `${node.path} (${node.artifact.media_type})`
                  : node.path
              }
              onClick={() => activate(node)}
              onKeyDown={e => onKeyDown(e, i)}
            >
              <span className="jp-mm-artifact-twisty" aria-hidden="true">
                {node.isDir ? (open ? '▾' : '▸') : ''}
              </span>
              <span className="jp-mm-artifact-path">
                {node.name + (node.isDir ? '/' : '')}
              </span>
              <span className="jp-mm-artifact-size">
                {formatBytes(node.size)}
              </span>
            </li>
          );
        })}
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
  | { state: 'table'; rows: string[][]; truncated: boolean; note?: string }
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
      if (kind === 'parquet') {
        const reply = await api.artifactRows(runId, artifact.path, 100);
        return {
          state: 'table',
          rows: [
            reply.columns,
            ...reply.rows.map(r => r.map(c => (c === null ? '' : c)))
          ],
          truncated: reply.truncated,
          note: `First ${reply.rows.length} of ${reply.total_rows} rows, ${reply.columns.length} of ${reply.total_columns} columns.`
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
          {preview.note && <p className="jp-mm-empty">{preview.note}</p>}
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
