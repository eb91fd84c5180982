/**
 * Shapes of the jupyter-mm REST API replies used by the frontend.
 */

/**
 * Which store the server extension uses.
 */
export interface IStoreInfo {
  /**
   * Tracking URI with any password masked.
   */
  uri: string;
  /**
   * Store backend: `sqlite` or `postgresql`.
   */
  kind: string;
}

/**
 * How many objects the store holds.
 */
export interface IStoreCounts {
  experiments: number;
  runs: number;
}

/**
 * Reply of `GET jupyter-mm/api/status`.
 */
export interface IStatusReply {
  /**
   * Version of the jupyter-mm Python package serving the API.
   */
  version: string;
  store: IStoreInfo;
  counts: IStoreCounts;
  /**
   * Echo of the `version` query parameter, when one was sent.
   */
  frontend_version?: string;
  /**
   * Whether the frontend version sent matches the server version.
   */
  version_match?: boolean;
}

/**
 * JSON error body of the jupyter-mm REST API.
 */
export interface IErrorReply {
  error_code: string;
  message: string;
}
