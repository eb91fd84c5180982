/**
 * The version view's Try it section, its logic: the example request (the
 * model's `serving_input_example.json`, else one built from its signature),
 * the `curl` commands for both protocols, and the calls that serve the
 * version (`jupyter-mm/api/serve`) and POST to its `/invocations`.
 *
 * Everything here is plain data; the section renders it as text only.
 */

import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { requestAPI } from '../request';

/**
 * A model served by the Jupyter server (`jupyter-mm/api/serve`); URLs are
 * paths on that server.
 */
export interface IServed {
  name: string;
  model_uri: string;
  model_name: string;
  version: string;
  digest: string;
  url: string;
  invocations_url: string;
  oip_infer_url: string;
  ready: boolean;
}

/**
 * One answer of `/invocations`, as the section shows it.
 */
export interface ITryResult {
  status: number;
  requestId: string;
  modelVersion: string;
  latencyMs: number;
  body: string;
}

interface ISignatureColumn {
  name?: string;
  type?: string;
}

const SAMPLE: Record<string, unknown> = {
  double: 0.0,
  float: 0.0,
  long: 0,
  integer: 0,
  boolean: false,
  string: '',
  binary: '',
  datetime: '1970-01-01T00:00:00'
};

/**
 * The `runs:/RUN_ID/PATH` parts of a version's source, or null.
 */
export function runArtifactPath(
  source: string
): { runId: string; path: string } | null {
  const m = /^runs:\/([^/]+)\/(.+?)\/*$/.exec(source);
  return m ? { runId: m[1], path: m[2] } : null;
}

/**
 * The signature's input columns from an `MLmodel` file's text (its
 * `signature.inputs` is a JSON string in the YAML), or null.
 */
export function signatureInputs(mlmodel: string): ISignatureColumn[] | null {
  const m = /^\s+inputs:\s*'(.*)'\s*$/m.exec(mlmodel);
  if (!m) {
    return null;
  }
  try {
    const cols = JSON.parse(m[1].replace(/''/g, "'"));
    return Array.isArray(cols) ? (cols as ISignatureColumn[]) : null;
  } catch {
    return null;
  }
}

/**
 * An `/invocations` body of one row, built from the signature's columns
 * (zeros, empty strings): what the box holds when the model has no
 * `serving_input_example.json`.
 */
export function exampleFromSignature(columns: ISignatureColumn[]): string {
  const named = columns.filter(c => typeof c.name === 'string');
  if (named.length === 0) {
    return JSON.stringify({ inputs: [[0]] }, null, 2);
  }
  return JSON.stringify(
    {
      dataframe_split: {
        columns: named.map(c => c.name),
        data: [named.map(c => SAMPLE[c.type ?? ''] ?? null)]
      }
    },
    null,
    2
  );
}

/**
 * The OIP v2 body equivalent to an MLflow `/invocations` JSON body (one
 * tensor per column), or null when it cannot say (another key, not JSON).
 */
export function oipBody(mlflowBody: string): Record<string, unknown> | null {
  let doc: any;
  try {
    doc = JSON.parse(mlflowBody);
  } catch {
    return null;
  }
  let columns: string[];
  let rows: unknown[][];
  if (doc && doc.dataframe_split && Array.isArray(doc.dataframe_split.data)) {
    columns = doc.dataframe_split.columns ?? [];
    rows = doc.dataframe_split.data;
  } else if (doc && Array.isArray(doc.dataframe_records)) {
    columns = Object.keys(doc.dataframe_records[0] ?? {});
    rows = doc.dataframe_records.map((r: Record<string, unknown>) =>
      columns.map(c => r[c])
    );
  } else {
    return null;
  }
  return {
    inputs: columns.map((name, i) => {
      const data = rows.map(r => r[i]);
      return { name, shape: [data.length], datatype: datatype(data), data };
    })
  };
}

function datatype(values: unknown[]): string {
  if (values.every(v => typeof v === 'boolean')) {
    return 'BOOL';
  }
  if (values.every(v => typeof v === 'number')) {
    return values.every(v => Number.isInteger(v)) ? 'INT64' : 'FP64';
  }
  return 'BYTES';
}

/**
 * `s` quoted for a POSIX shell (single quotes; a quote inside as `'\''`).
 */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, "'\\''")}'`;
}

/**
 * Copyable `curl` commands for both protocols. The token is left as
 * `$JUPYTER_TOKEN` (never written into the page).
 */
export function curlCommands(
  origin: string,
  served: Pick<IServed, 'invocations_url' | 'oip_infer_url'>,
  body: string
): { mlflow: string; oip: string | null } {
  const auth = '-H "Authorization: token $JUPYTER_TOKEN"';
  const compact = (text: string): string => {
    try {
      return JSON.stringify(JSON.parse(text));
    } catch {
      return text;
    }
  };
  const mlflow =
    `curl -s ${shellQuote(origin + served.invocations_url)} ${auth} \\\n` +
    `  -H 'Content-Type: application/json' \\\n  -d ${shellQuote(compact(body))}`;
  const oip = oipBody(body);
  return {
    mlflow,
    oip:
      oip === null
        ? null
        : `curl -s ${shellQuote(origin + served.oip_infer_url)} ${auth} \\\n` +
          `  -H 'Content-Type: application/json' \\\n  -d ${shellQuote(JSON.stringify(oip))}`
  };
}

/**
 * The served name of a version in the Try it section: its own, so serving
 * it never replaces what serves the model by alias.
 */
export function tryName(model: string, version: number): string {
  return `${model}-v${version}`;
}

/**
 * The Jupyter server's serving calls.
 */
export class ServeAPI {
  constructor(readonly serverSettings: ServerConnection.ISettings) {}

  /**
   * Serve `models:/NAME/VERSION` (or return what already serves it).
   */
  start(model: string, version: number): Promise<IServed> {
    return requestAPI<IServed>('serve', this.serverSettings, {
      method: 'POST',
      body: JSON.stringify({
        model_uri: `models:/${model}/${version}`,
        name: tryName(model, version)
      })
    });
  }

  /**
   * A run artifact's text (the model's example, its MLmodel).
   */
  artifactText(runId: string, path: string): Promise<string> {
    return requestAPI<unknown>(
      `runs/${encodeURIComponent(runId)}/artifacts/${path
        .split('/')
        .map(encodeURIComponent)
        .join('/')}`,
      this.serverSettings
    ).then(body => (typeof body === 'string' ? body : JSON.stringify(body)));
  }

  /**
   * POST `body` to the served model's `/invocations`.
   */
  async invoke(served: IServed, body: string): Promise<ITryResult> {
    const url = URLExt.join(
      this.serverSettings.baseUrl,
      served.invocations_url.slice(
        served.invocations_url.indexOf('jupyter-mm/serve/')
      )
    );
    const t0 = performance.now();
    const response = await ServerConnection.makeRequest(
      url,
      {
        method: 'POST',
        body,
        headers: { 'Content-Type': 'application/json' }
      },
      this.serverSettings
    );
    const text = await response.text();
    return {
      status: response.status,
      requestId: response.headers.get('X-Request-Id') ?? '',
      modelVersion: response.headers.get('X-MM-Model-Version') ?? '',
      latencyMs: performance.now() - t0,
      body: prettyJson(text)
    };
  }
}

/**
 * `text` re-indented when it is JSON, else as it is.
 */
export function prettyJson(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}
