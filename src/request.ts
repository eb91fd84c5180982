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
 * @throws ServerConnection.ResponseError with the server's `message` on a non-2xx reply
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
    const message =
      data && typeof data === 'object' && typeof data.message === 'string'
        ? data.message
        : undefined;
    throw new ServerConnection.ResponseError(response, message);
  }

  return data as T;
}
