/**
 * The version view's Try it section: the model's example request in an
 * editable box, Send (serving the version through the Jupyter server first
 * if needed), the answer with its request id and latency, and `curl`
 * commands for both protocols. All text is rendered as React text nodes.
 */

import * as React from 'react';

import { ServerConnection } from '@jupyterlab/services';

import { errorText, IModelVersion } from './api';
import { ErrorAlert } from './components';
import {
  curlCommands,
  exampleFromSignature,
  IServed,
  ITryResult,
  prettyJson,
  runArtifactPath,
  ServeAPI,
  signatureInputs
} from './tryit';

/**
 * The example request of a version: its `serving_input_example.json`, else
 * one row built from the signature, else a placeholder.
 */
export async function loadExample(
  api: Pick<ServeAPI, 'artifactText'>,
  source: string
): Promise<string> {
  const where = runArtifactPath(source);
  if (!where) {
    return '{"dataframe_split": {"columns": [], "data": [[]]}}';
  }
  try {
    return prettyJson(
      await api.artifactText(
        where.runId,
        `${where.path}/serving_input_example.json`
      )
    );
  } catch {
    // no example: build one from the signature
  }
  try {
    const cols = signatureInputs(
      await api.artifactText(where.runId, `${where.path}/MLmodel`)
    );
    if (cols) {
      return exampleFromSignature(cols);
    }
  } catch {
    // no MLmodel either
  }
  return '{"dataframe_split": {"columns": [], "data": [[]]}}';
}

export function TryIt(props: {
  serverSettings: ServerConnection.ISettings;
  version: IModelVersion;
}): JSX.Element {
  const { version } = props;
  const api = React.useMemo(
    () => new ServeAPI(props.serverSettings),
    [props.serverSettings]
  );
  const [body, setBody] = React.useState<string | null>(null);
  const [served, setServed] = React.useState<IServed | null>(null);
  const [result, setResult] = React.useState<ITryResult | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  const [busy, setBusy] = React.useState(false);

  React.useEffect(() => {
    let live = true;
    void loadExample(api, version.source).then(text => {
      if (live) {
        setBody(text);
      }
    });
    return () => {
      live = false;
    };
  }, [api, version.source]);

  const send = async (): Promise<void> => {
    setBusy(true);
    setError(null);
    try {
      const s = served ?? (await api.start(version.name, version.version));
      setServed(s);
      setResult(await api.invoke(s, body ?? ''));
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };

  const origin = new URL(props.serverSettings.baseUrl, window.location.href)
    .origin;
  const curl =
    served && body !== null ? curlCommands(origin, served, body) : null;
  return (
    <div className="jp-mm-tryit">
      <textarea
        className="jp-mm-tryit-body"
        aria-label="Request body"
        spellCheck={false}
        rows={8}
        value={body ?? ''}
        placeholder="Loading the model's example…"
        onChange={e => setBody(e.target.value)}
      />
      <div className="jp-mm-actions">
        <button
          className="jp-mm-button jp-mod-styled jp-mod-accept jp-mm-tryit-send"
          disabled={busy || body === null}
          onClick={() => void send()}
        >
          {served ? 'Send' : 'Serve and send'}
        </button>
        {served ? (
          <span className="jp-mm-dim jp-mm-tryit-served">
            {`Served as ${served.name} (version ${served.version})`}
          </span>
        ) : null}
      </div>
      <ErrorAlert message={error} />
      {result ? (
        <div className="jp-mm-tryit-result">
          <div className="jp-mm-dim">
            {`HTTP ${result.status} · request ${result.requestId} · version ${result.modelVersion} · ${result.latencyMs.toFixed(1)} ms`}
          </div>
          <pre className="jp-mm-tryit-response">{result.body}</pre>
        </div>
      ) : null}
      {curl ? (
        <details className="jp-mm-tryit-curl">
          <summary>curl</summary>
          <p className="jp-mm-dim">MLflow scoring protocol</p>
          <pre>{curl.mlflow}</pre>
          <button
            className="jp-mm-button jp-mod-styled"
            onClick={() => void navigator.clipboard?.writeText(curl.mlflow)}
          >
            Copy
          </button>
          {curl.oip ? (
            <>
              <p className="jp-mm-dim">Open Inference Protocol v2</p>
              <pre>{curl.oip}</pre>
              <button
                className="jp-mm-button jp-mod-styled"
                onClick={() => void navigator.clipboard?.writeText(curl.oip!)}
              >
                Copy
              </button>
            </>
          ) : null}
        </details>
      ) : null}
    </div>
  );
}
