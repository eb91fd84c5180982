/**
 * Version of this frontend, read from package.json (the single version source)
 * when the extension is bundled.
 */

// Provided by the bundler (and by jest); the project does not load Node's types.
declare function require(id: string): unknown;

const packageData = require('../package.json') as { version: string };

export const FRONTEND_VERSION: string = packageData.version;
