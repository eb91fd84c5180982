/**
 * Artifact previews: which kind of preview a file gets, and a CSV parser for
 * table previews. Pure functions.
 */

import { IArtifact } from '../schema';

/**
 * How an artifact is previewed.
 */
export type PreviewKind =
  'image' | 'csv' | 'parquet' | 'json' | 'text' | 'notebook' | 'html' | 'none';

/**
 * Files known by name that are text though they have no extension (MLflow's
 * model and project descriptors are YAML). Stores written before media types
 * were guessed from these names hold them as `application/octet-stream`.
 */
const TEXT_NAMES = new Set([
  'MLmodel',
  'MLproject',
  'Dockerfile',
  'LICENSE',
  'README'
]);

const TEXT_EXTENSIONS = new Set([
  'txt',
  'log',
  'md',
  'py',
  'yaml',
  'yml',
  'toml',
  'cfg',
  'ini',
  'sh',
  'r',
  'sql',
  'xml',
  'diff',
  'patch'
]);

const IMAGE_TYPES = new Set([
  'image/png',
  'image/jpeg',
  'image/gif',
  'image/webp',
  'image/bmp'
]);

/**
 * The preview of an artifact, from its media type and name. SVG is previewed
 * as an image (an `<img>` never runs its scripts); HTML only in a sandboxed
 * iframe.
 */
export function previewKind(artifact: IArtifact): PreviewKind {
  if (artifact.is_dir) {
    return 'none';
  }
  const type = (artifact.media_type || '').split(';')[0].trim().toLowerCase();
  const name = artifact.path.split('/').pop() ?? '';
  const ext = name.includes('.') ? name.split('.').pop()!.toLowerCase() : '';
  if (IMAGE_TYPES.has(type) || type === 'image/svg+xml') {
    return 'image';
  }
  if (['png', 'jpg', 'jpeg', 'gif', 'webp', 'bmp', 'svg'].includes(ext)) {
    return 'image';
  }
  if (type === 'application/x-ipynb+json' || ext === 'ipynb') {
    return 'notebook';
  }
  if (type === 'text/csv' || ext === 'csv' || ext === 'tsv') {
    return 'csv';
  }
  if (type === 'application/vnd.apache.parquet' || ext === 'parquet') {
    return 'parquet';
  }
  if (type === 'application/json' || type.endsWith('+json') || ext === 'json') {
    return 'json';
  }
  if (type === 'text/html' || ext === 'html' || ext === 'htm') {
    return 'html';
  }
  if (
    type.startsWith('text/') ||
    TEXT_EXTENSIONS.has(ext) ||
    TEXT_NAMES.has(name)
  ) {
    return 'text';
  }
  return 'none';
}

/**
 * The image media type to give a blob (the stored one, else from the name),
 * so `<img>` renders it.
 */
export function imageType(artifact: IArtifact): string {
  if (artifact.media_type.startsWith('image/')) {
    return artifact.media_type;
  }
  const ext = artifact.path.split('.').pop()?.toLowerCase() ?? '';
  const types: Record<string, string> = {
    svg: 'image/svg+xml',
    jpg: 'image/jpeg',
    jpeg: 'image/jpeg',
    gif: 'image/gif',
    webp: 'image/webp',
    bmp: 'image/bmp'
  };
  return types[ext] ?? 'image/png';
}

/**
 * Parse CSV (RFC 4180: quoted fields, doubled quotes, newlines inside quotes)
 * or, with `delimiter` `\t`, TSV.
 *
 * @param maxRows stop after this many rows (the header included)
 * @param complete false when the text was cut short: the last, possibly
 *   partial row is dropped
 */
export function parseCSV(
  text: string,
  delimiter = ',',
  maxRows = 1000,
  complete = true
): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  const n = text.length;
  const endRow = () => {
    row.push(field);
    rows.push(row);
    row = [];
    field = '';
  };
  while (i < n && rows.length < maxRows) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else {
        field += c;
      }
      i++;
      continue;
    }
    if (c === '"' && field === '') {
      quoted = true;
    } else if (c === delimiter) {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') {
        i++;
      }
      endRow();
    } else {
      field += c;
    }
    i++;
  }
  // A last row without a newline is whole unless the text was cut short.
  if (complete && rows.length < maxRows && (field !== '' || row.length > 0)) {
    endRow();
  }
  return rows;
}

/**
 * The folder path of an artifact path (`''` for the root).
 */
export function parentPath(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

/**
 * A byte count as `512 B`, `1.5 KiB`, `3.2 MiB`.
 */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) {
    return '—';
  }
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/**
 * A node of the artifact tree: a folder (with its children, sorted folders
 * first) or a file (with its artifact).
 */
export interface IArtifactNode {
  name: string;
  path: string;
  isDir: boolean;
  /** A file's size; a folder's, the sum of the files under it. */
  size: number;
  children: IArtifactNode[];
  artifact?: IArtifact;
}

/**
 * The tree of a recursive listing: folders come from the files' paths (and
 * from folder entries, for empty ones), sorted folders first, then by name.
 */
export function buildTree(
  artifacts: ReadonlyArray<IArtifact>
): IArtifactNode[] {
  const root: IArtifactNode = {
    name: '',
    path: '',
    isDir: true,
    size: 0,
    children: []
  };
  const folders = new Map<string, IArtifactNode>([['', root]]);
  const folder = (path: string): IArtifactNode => {
    let node = folders.get(path);
    if (!node) {
      const parent = folder(parentPath(path));
      node = {
        name: path.slice(path.lastIndexOf('/') + 1),
        path,
        isDir: true,
        size: 0,
        children: []
      };
      parent.children.push(node);
      folders.set(path, node);
    }
    return node;
  };
  for (const a of artifacts) {
    if (a.is_dir) {
      folder(a.path);
      continue;
    }
    folder(parentPath(a.path)).children.push({
      name: a.path.slice(a.path.lastIndexOf('/') + 1),
      path: a.path,
      isDir: false,
      size: a.size,
      children: [],
      artifact: a
    });
  }
  const finish = (node: IArtifactNode): number => {
    node.children.sort((x, y) =>
      x.isDir !== y.isDir
        ? x.isDir
          ? -1
          : 1
        : x.name < y.name
          ? -1
          : x.name > y.name
            ? 1
            : 0
    );
    if (node.isDir) {
      node.size = node.children.reduce((sum, c) => sum + finish(c), 0);
    }
    return node.size;
  };
  finish(root);
  return root.children;
}

/**
 * The rows a tree shows with the folders in `expanded` open, in order, with
 * their depth (1 for the top level), as keyboard navigation walks them.
 */
export function visibleNodes(
  nodes: ReadonlyArray<IArtifactNode>,
  expanded: ReadonlySet<string>,
  depth = 1
): { node: IArtifactNode; depth: number }[] {
  const out: { node: IArtifactNode; depth: number }[] = [];
  for (const node of nodes) {
    out.push({ node, depth });
    if (node.isDir && expanded.has(node.path)) {
      out.push(...visibleNodes(node.children, expanded, depth + 1));
    }
  }
  return out;
}
