const path = require('path');
const jestJupyterLab = require('@jupyterlab/testutils/lib/jest-config');

const esModules = [
  '@codemirror',
  '@jupyter/ydoc',
  '@jupyter/react-components',
  '@jupyter/web-components',
  '@microsoft/fast-',
  '@jupyterlab/',
  'exenv-es6',
  'lib0',
  'nanoid',
  'vscode-ws-jsonrpc',
  'y-protocols',
  'y-websocket',
  'yjs'
].join('|');

const baseConfig = jestJupyterLab(__dirname);

// src/openapi.ts is generated from the contract and not committed: make it before any spec compiles,
// so a bare `jlpm jest` works on a clean clone and never type-checks against an older copy.
require('child_process').execFileSync(
  process.execPath,
  [
    path.join(__dirname, 'node_modules/openapi-typescript/bin/cli.js'),
    'jupyter_mm/server/openapi.yaml',
    '-o',
    'src/openapi.ts'
  ],
  { cwd: __dirname, stdio: 'ignore' }
);

module.exports = {
  ...baseConfig,
  automock: false,
  collectCoverageFrom: [
    'src/**/*.{ts,tsx}',
    '!src/**/*.d.ts',
    '!src/**/.ipynb_checkpoints/*'
  ],
  coverageReporters: ['lcov', 'text'],
  reporters: ['default'],
  testRegex: 'src/.*/.*.spec.ts[x]?$',
  transformIgnorePatterns: [`/node_modules/(?!${esModules}).+`]
};
