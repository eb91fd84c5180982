/**
 * Rendering tests of the sidebar view and end-to-end tests of the handshake
 * against a fake server (a `fetch` stub in the server settings).
 */

import * as React from 'react';
import { act } from 'react';
import { Root } from 'react-dom/client';
import { mountEachTest } from './utils';

import { ServerConnection } from '@jupyterlab/services';

import { checkServerExtension } from '../handshake';
import { requestAPI } from '../request';
import { StoreStatusModel } from '../model';
import { MMSidebar, SIDEBAR_ID, StoreStatusView } from '../sidebar';
import { ReactWidget } from '@jupyterlab/ui-components';
import { MessageLoop } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

function settingsWith(
  handler: (url: string, init?: RequestInit) => Response
): ServerConnection.ISettings {
  return ServerConnection.makeSettings({
    baseUrl: 'http://localhost:8888/a%40b/',
    fetch: ((input: RequestInfo, init?: RequestInit) =>
      Promise.resolve(
        handler(typeof input === 'string' ? input : input.url, init)
      )) as typeof fetch
  });
}

function jsonResponse(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json' }
  });
}

describe('StoreStatusView', () => {
  let host: HTMLDivElement;
  let root: Root;

  mountEachTest(m => ({ host, root } = m));

  const state = (
    overrides: Partial<StoreStatusModel.IState>
  ): StoreStatusModel.IState => ({
    status: null,
    error: null,
    loading: false,
    updated: null,
    ...overrides
  });

  /** The view of the state with these `overrides`, rendered. */
  const show = (overrides: Partial<StoreStatusModel.IState>) =>
    act(() => root.render(<StoreStatusView state={state(overrides)} />));

  it('shows the store, its kind and its counts', () => {
    show({
      status: {
        version: '0.1.0',
        store: {
          uri: 'postgresql://mm:***@db/mm',
          kind: 'postgresql'
        },
        counts: { experiments: 1, runs: 12345 }
      },
      updated: new Date(2026, 0, 1, 9, 5, 0)
    });
    expect(host.querySelector('.jp-mm-status-uri')?.textContent).toBe(
      'postgresql://mm:***@db/mm'
    );
    expect(host.querySelector('.jp-mm-status-kind')?.textContent).toBe(
      'PostgreSQL'
    );
    expect(host.querySelector('.jp-mm-status-experiments')?.textContent).toBe(
      '1 experiment'
    );
    expect(host.querySelector('.jp-mm-status-runs')?.textContent).toBe(
      '12,345 runs'
    );
    expect(host.querySelector('.jp-mm-status-footer')?.textContent).toBe(
      'Updated 09:05:00 · server 0.1.0'
    );
    expect(host.querySelector('.jp-mm-status-error')).toBeNull();
  });

  it('renders server text as text, never as HTML', () => {
    const evil = '<img src=x onerror="window.__pwned=1">';
    show({
      status: {
        version: '0.1.0',
        store: { uri: evil, kind: evil },
        counts: { experiments: 0, runs: 0 }
      },
      error: evil
    });
    expect(host.querySelector('img')).toBeNull();
    expect(host.querySelector('.jp-mm-status-uri')?.textContent).toBe(evil);
    expect(host.querySelector('.jp-mm-status-error')?.textContent).toBe(evil);
    expect((window as any).__pwned).toBeUndefined();
  });

  it("shows the server's store error", () => {
    show({
      status: {
        version: '0.1.0',
        store: { uri: 'postgresql://mm:***@db/mm', kind: 'postgresql' },
        counts: null,
        error: {
          error_code: 'TEMPORARILY_UNAVAILABLE',
          message: 'cannot open the store: connection refused'
        }
      }
    });
    expect(host.querySelector('.jp-mm-status-error')?.textContent).toBe(
      'cannot open the store: connection refused'
    );
    expect(host.querySelector('.jp-mm-status-runs')?.textContent).toBe(
      '— runs'
    );
  });

  it('shows progress while loading', () => {
    show({ loading: true });
    expect(host.querySelector('.jp-mm-status-footer')?.textContent).toBe(
      'Refreshing…'
    );
  });
});

describe('requestAPI', () => {
  it('calls the jupyter-mm namespace under the base URL', async () => {
    const urls: string[] = [];
    const settings = settingsWith(url => {
      urls.push(url);
      return jsonResponse({ ok: true });
    });
    const reply = await requestAPI<{ ok: boolean }>(
      'status',
      settings,
      {},
      { version: '1.2.3' }
    );
    expect(reply).toEqual({ ok: true });
    expect(urls).toHaveLength(1);
    // makeRequest appends a cache-busting timestamp to GET requests.
    expect(urls[0].replace(/&\d+$/, '')).toBe(
      'http://localhost:8888/a%40b/jupyter-mm/api/status?version=1.2.3'
    );
  });

  it('throws the server message on an error reply', async () => {
    const settings = settingsWith(() =>
      jsonResponse(
        { error_code: 'TEMPORARILY_UNAVAILABLE', message: 'store is locked' },
        503
      )
    );
    await expect(requestAPI('status', settings)).rejects.toThrow(
      'store is locked'
    );
  });
});

describe('checkServerExtension', () => {
  const status = {
    version: '0.1.0',
    store: { uri: '/srv/.mm', kind: 'sqlite' },
    counts: { experiments: 0, runs: 0 }
  };

  it('stays quiet when versions match', async () => {
    const notify = jest.fn(() => Promise.resolve());
    const result = await checkServerExtension(
      settingsWith(() =>
        jsonResponse({
          ...status,
          frontend_version: '0.1.0',
          version_match: true
        })
      ),
      '0.1.0',
      notify
    );
    expect(result.outcome).toBe('ok');
    expect(notify).not.toHaveBeenCalled();
  });

  it('warns the user about a version mismatch', async () => {
    const notify = jest.fn(() => Promise.resolve());
    const result = await checkServerExtension(
      settingsWith(() =>
        jsonResponse({ ...status, version: '0.2.0', version_match: false })
      ),
      '0.1.0',
      notify
    );
    expect(result.outcome).toBe('mismatch');
    expect(notify).toHaveBeenCalledWith(
      'jupyter-mm version mismatch',
      expect.stringContaining('0.2.0')
    );
  });

  it('tells the user the server extension is missing on 404', async () => {
    const notify = jest.fn(() => Promise.resolve());
    const result = await checkServerExtension(
      settingsWith(() => new Response('Not Found', { status: 404 })),
      '0.1.0',
      notify
    );
    expect(result.outcome).toBe('missing');
    expect(notify).toHaveBeenCalledWith(
      'jupyter-mm server extension not found',
      expect.stringContaining('not installed')
    );
  });
});

describe('MMSidebar', () => {
  it('refreshes when shown and disposes its model with itself', async () => {
    let calls = 0;
    const model = new StoreStatusModel({
      fetchStatus: () => {
        calls += 1;
        return Promise.resolve({
          version: '0.1.0',
          store: { uri: '/srv/.mm', kind: 'sqlite' },
          counts: { experiments: 3, runs: 4 }
        });
      },
      refreshInterval: 0
    });
    const sidebar = new MMSidebar({ model });
    expect(sidebar.id).toBe(SIDEBAR_ID);
    expect(sidebar.title.caption).toContain('jupyter-mm');
    expect(sidebar.hasClass('jp-mm-sidebar')).toBe(true);

    await act(async () => {
      Widget.attach(sidebar, document.body);
      // Process the pending update-request so the React view mounts.
      MessageLoop.flush();
      await model.refresh();
      await Promise.all(
        sidebar.widgets.map(w => (w as ReactWidget).renderPromise)
      );
    });
    expect(calls).toBeGreaterThanOrEqual(1);
    expect(sidebar.node.querySelector('.jp-mm-status-runs')?.textContent).toBe(
      '4 runs'
    );

    act(() => sidebar.dispose());
    expect(model.isDisposed).toBe(true);
  });
});
