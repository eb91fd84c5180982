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
  /**
   * Null when the store cannot be opened; `error` then says why.
   */
  counts: IStoreCounts | null;
  /**
   * Why the store could not be read (the API still answers 200 so the
   * sidebar can say which store is failing).
   */
  error?: IErrorReply;
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
