import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/**
 * URL namespace of the jupyter-mm REST API, relative to the server base URL.
 */
export const API_NAMESPACE = 'jupyter-mm/api';

/**
 * Call the jupyter-mm server extension REST API.
 *
 * @param endPoint API path below `jupyter-mm/api`, e.g. `status`
 * @param serverSettings the application's server settings
 *   (`app.serviceManager.serverSettings`), so base URL, token and XSRF
 *   handling follow the running JupyterLab
 * @param init initial values for the request
 * @param query query parameters appended to the URL
 * @returns the response body, parsed as JSON when it is JSON
 * @throws ApiError (a ServerConnection.ResponseError) with the server's `message`,
 *   `error_code` and `details` on a non-2xx reply
 * @throws ServerConnection.NetworkError when the server cannot be reached
 */
export async function requestAPI<T>(
  endPoint: string,
  serverSettings: ServerConnection.ISettings,
  init: RequestInit = {},
  query: Record<string, string> = {}
): Promise<T> {
  let requestUrl = URLExt.join(serverSettings.baseUrl, API_NAMESPACE, endPoint);
  if (Object.keys(query).length > 0) {
    requestUrl += URLExt.objectToQueryString(query);
  }

  let response: Response;
  try {
    response = await ServerConnection.makeRequest(
      requestUrl,
      init,
      serverSettings
    );
  } catch (error) {
    throw new ServerConnection.NetworkError(error as TypeError);
  }

  const text = await response.text();
  let data: any = text;
  if (text.length > 0) {
    try {
      data = JSON.parse(text);
    } catch {
      // Not JSON: keep the raw text (e.g. an HTML error page from a proxy).
    }
  }

  if (!response.ok) {
    const reply = data && typeof data === 'object' ? data : {};
    throw new ApiError(
      response,
      typeof reply.message === 'string' ? reply.message : undefined,
      typeof reply.error_code === 'string' ? reply.error_code : null,
      reply.details && typeof reply.details === 'object' ? reply.details : null
    );
  }

  return data as T;
}

/**
 * `requestAPI` with a JSON body (when given) and a method.
 */
export function callAPI<T>(
  serverSettings: ServerConnection.ISettings,
  endPoint: string,
  method = 'GET',
  body?: unknown,
  query: Record<string, string> = {}
): Promise<T> {
  const init: RequestInit = { method };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
  }
  return requestAPI<T>(endPoint, serverSettings, init, query);
}

/**
 * What an error reply says besides its message: the `details` of the REST
 * API's error JSON. For a filter or order_by syntax error: the request field
 * at fault, the character offset and, for order_by, the clause's index.
 */
export interface IErrorDetails {
  field?: string;
  position?: number;
  item?: number;
}

/**
 * A non-2xx reply of the REST API, with its error code and details (a
 * `ResponseError`, so code that only wants the message need not know it).
 */
export class ApiError extends ServerConnection.ResponseError {
  constructor(
    response: Response,
    message: string | undefined,
    readonly errorCode: string | null,
    readonly details: IErrorDetails | null
  ) {
    super(response, message);
    this.name = 'ApiError';
  }
}
