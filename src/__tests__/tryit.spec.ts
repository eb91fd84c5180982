import {
  curlCommands,
  exampleFromSignature,
  oipBody,
  runArtifactPath,
  shellQuote,
  signatureInputs,
  tryName
} from '../models/tryit';
import { loadExample } from '../models/tryit-view';

const MLMODEL = `artifact_path: credit
flavors:
  sklearn:
    serialization_format: skops
signature:
  inputs: '[{"type": "double", "name": "income", "required": true}, {"type": "long",
    "name": "age", "required": true}]'
  outputs: '[{"type": "long", "required": true}]'
`;

const ONE_LINE = `signature:
  inputs: '[{"type": "double", "name": "income"}, {"type": "long", "name": "it''s"}, {"type": "string", "name": "city"}]'
`;

describe('Try it: example requests', () => {
  it('reads the run and path of a runs:/ source', () => {
    expect(runArtifactPath('runs:/abc123/models/credit')).toEqual({
      runId: 'abc123',
      path: 'models/credit'
    });
    expect(runArtifactPath('runs:/abc123/m/')).toEqual({
      runId: 'abc123',
      path: 'm'
    });
    expect(runArtifactPath('s3://bucket/model')).toBeNull();
  });

  it('reads the signature inputs of an MLmodel, quotes unescaped', () => {
    expect(signatureInputs(ONE_LINE)).toEqual([
      { type: 'double', name: 'income' },
      { type: 'long', name: "it's" },
      { type: 'string', name: 'city' }
    ]);
    // YAML folds long strings over lines: not read, never a wrong guess
    expect(signatureInputs(MLMODEL)).toBeNull();
    expect(signatureInputs('flavors: {}')).toBeNull();
  });

  it('builds one row from the signature, typed', () => {
    const body = JSON.parse(exampleFromSignature(signatureInputs(ONE_LINE)!));
    expect(body).toEqual({
      dataframe_split: {
        columns: ['income', "it's", 'city'],
        data: [[0, 0, '']]
      }
    });
  });

  it('prefers the serving_input_example.json, then the signature', async () => {
    const files: Record<string, string> = {
      'r1:m/serving_input_example.json':
        '{"dataframe_split":{"columns":["a"],"data":[[1]]}}',
      'r2:m/MLmodel': ONE_LINE
    };
    const api = {
      artifactText: async (run: string, path: string) => {
        const text = files[`${run}:${path}`];
        if (text === undefined) {
          throw new Error('404');
        }
        return text;
      }
    };
    expect(JSON.parse(await loadExample(api, 'runs:/r1/m'))).toEqual({
      dataframe_split: { columns: ['a'], data: [[1]] }
    });
    expect(
      JSON.parse(await loadExample(api, 'runs:/r2/m')).dataframe_split.columns
    ).toEqual(['income', "it's", 'city']);
    expect(JSON.parse(await loadExample(api, 'runs:/r3/m'))).toEqual({
      dataframe_split: { columns: [], data: [[]] }
    });
  });
});

describe('Try it: curl commands', () => {
  const served = {
    invocations_url: '/base/jupyter-mm/serve/credit-v1/invocations',
    oip_infer_url: '/base/jupyter-mm/serve/credit-v1/v2/models/credit-v1/infer'
  };

  it('quotes for a POSIX shell', () => {
    expect(shellQuote("it's $HOME `x`")).toBe("'it'\\''s $HOME `x`'");
  });

  it('turns a dataframe_split body into one OIP tensor per column', () => {
    expect(
      oipBody(
        '{"dataframe_split": {"columns": ["income", "age", "city", "ok"], "data": [[52000.5, 41, "x", true], [1, 2, "y", false]]}}'
      )
    ).toEqual({
      inputs: [
        { name: 'income', shape: [2], datatype: 'FP64', data: [52000.5, 1] },
        { name: 'age', shape: [2], datatype: 'INT64', data: [41, 2] },
        { name: 'city', shape: [2], datatype: 'BYTES', data: ['x', 'y'] },
        { name: 'ok', shape: [2], datatype: 'BOOL', data: [true, false] }
      ]
    });
    expect(oipBody('{"dataframe_records": [{"a": 1}, {"a": 2}]}')).toEqual({
      inputs: [{ name: 'a', shape: [2], datatype: 'INT64', data: [1, 2] }]
    });
    expect(oipBody('{"instances": [[1]]}')).toBeNull();
    expect(oipBody('not json')).toBeNull();
  });

  it('writes both commands, the token as a variable, user text quoted', () => {
    const body = '{"dataframe_split": {"columns": ["it\'s"], "data": [[1]]}}';
    const curl = curlCommands('http://127.0.0.1:8888', served, body);
    expect(curl.mlflow).toBe(
      "curl -s 'http://127.0.0.1:8888/base/jupyter-mm/serve/credit-v1/invocations' " +
        '-H "Authorization: token $JUPYTER_TOKEN" \\\n' +
        "  -H 'Content-Type: application/json' \\\n" +
        `  -d '{"dataframe_split":{"columns":["it'\\''s"],"data":[[1]]}}'`
    );
    expect(curl.oip).toContain(
      "'http://127.0.0.1:8888/base/jupyter-mm/serve/credit-v1/v2/models/credit-v1/infer'"
    );
    expect(curl.oip).toContain('"datatype":"INT64"');
    // a body that is not JSON is sent as typed, and has no OIP form
    const raw = curlCommands('http://h', served, 'a,b\n1,2');
    expect(raw.mlflow).toContain("-d 'a,b\n1,2'");
    expect(raw.oip).toBeNull();
  });

  it('serves a version under its own name', () => {
    expect(tryName('credit risk', 3)).toBe('credit risk-v3');
  });
});
