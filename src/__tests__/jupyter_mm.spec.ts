/**
 * Unit tests of the sidebar's pure helpers, its model and the version handshake.
 */

import { ServerConnection } from '@jupyterlab/services';
import { Poll } from '@lumino/polling';

import {
  UNKNOWN,
  describeKind,
  errorText,
  formatCount,
  formatTime,
  maskUri,
  pluralize,
  summarizeStatus
} from '../format';
import { interpretHandshake, versionsMatch } from '../handshake';
import { StoreStatusModel } from '../model';
import { IStatusReply } from '../tokens';
import { FRONTEND_VERSION } from '../version';

function statusReply(overrides: Partial<IStatusReply> = {}): IStatusReply {
  return {
    version: '0.1.0',
    store: { uri: 'sqlite:////home/me/.mm/mm.db', kind: 'sqlite' },
    counts: { experiments: 2, runs: 1234 },
    ...overrides
  };
}

describe('formatCount', () => {
  it.each([
    [0, '0'],
    [7, '7'],
    [999, '999'],
    [1000, '1,000'],
    [1234567, '1,234,567'],
    [-4200, '-4,200'],
    [12.9, '12']
  ])('formats %p as %p', (value, expected) => {
    expect(formatCount(value)).toBe(expected);
  });

  it('shows a placeholder for missing or non-finite values', () => {
    expect(formatCount(undefined)).toBe(UNKNOWN);
    expect(formatCount(null)).toBe(UNKNOWN);
    expect(formatCount(NaN)).toBe(UNKNOWN);
    expect(formatCount(Infinity)).toBe(UNKNOWN);
  });
});

describe('pluralize', () => {
  it('uses the singular only for exactly one', () => {
    expect(pluralize(1, 'run')).toBe('1 run');
    expect(pluralize(0, 'run')).toBe('0 runs');
    expect(pluralize(2048, 'experiment')).toBe('2,048 experiments');
    expect(pluralize(3, 'entry', 'entries')).toBe('3 entries');
    expect(pluralize(undefined, 'run')).toBe(`${UNKNOWN} runs`);
  });
});

describe('describeKind', () => {
  it('names known store kinds and passes others through', () => {
    expect(describeKind('sqlite')).toBe('SQLite (embedded)');
    expect(describeKind('postgresql')).toBe('PostgreSQL');
    expect(describeKind('mysql')).toBe('mysql');
    expect(describeKind('')).toBe(UNKNOWN);
    expect(describeKind(undefined)).toBe(UNKNOWN);
  });
});

describe('maskUri', () => {
  it('masks the password of a URI with credentials', () => {
    expect(maskUri('postgresql://alice:s3cr%40t@db.example:5432/mm')).toBe(
      'postgresql://alice:***@db.example:5432/mm'
    );
    expect(maskUri('postgresql+psycopg://bob:pw@localhost/mm')).toBe(
      'postgresql+psycopg://bob:***@localhost/mm'
    );
  });

  it('leaves URIs without a password alone', () => {
    expect(maskUri('postgresql://alice@db/mm')).toBe(
      'postgresql://alice@db/mm'
    );
    expect(maskUri('sqlite:////tmp/a:b/mm.db')).toBe(
      'sqlite:////tmp/a:b/mm.db'
    );
    expect(maskUri('/home/me/project/.mm')).toBe('/home/me/project/.mm');
    expect(maskUri('postgresql://alice:***@db/mm')).toBe(
      'postgresql://alice:***@db/mm'
    );
  });

  it('shows a placeholder for no URI', () => {
    expect(maskUri('')).toBe(UNKNOWN);
    expect(maskUri(null)).toBe(UNKNOWN);
  });
});

describe('formatTime', () => {
  it('pads hours, minutes and seconds', () => {
    expect(formatTime(new Date(2026, 0, 2, 3, 4, 5))).toBe('03:04:05');
    expect(formatTime(new Date(2026, 0, 2, 23, 59, 0))).toBe('23:59:00');
    expect(formatTime(null)).toBe(UNKNOWN);
  });
});

describe('summarizeStatus', () => {
  it('summarizes a status reply as text', () => {
    expect(summarizeStatus(statusReply())).toEqual({
      uri: 'sqlite:////home/me/.mm/mm.db',
      kind: 'SQLite (embedded)',
      experiments: '2 experiments',
      runs: '1,234 runs',
      version: '0.1.0',
      storeError: null
    });
  });

  it('masks a password even if the server did not', () => {
    const summary = summarizeStatus(
      statusReply({
        store: { uri: 'postgresql://u:hunter2@h/db', kind: 'postgresql' }
      })
    );
    expect(summary.uri).toBe('postgresql://u:***@h/db');
    expect(summary.uri).not.toContain('hunter2');
    expect(summary.kind).toBe('PostgreSQL');
  });

  it('shows placeholders before the first answer', () => {
    expect(summarizeStatus(null)).toEqual({
      uri: UNKNOWN,
      kind: UNKNOWN,
      experiments: `${UNKNOWN} experiments`,
      runs: `${UNKNOWN} runs`,
      version: UNKNOWN,
      storeError: null
    });
  });

  it('reports a store that cannot be read', () => {
    const summary = summarizeStatus(
      statusReply({
        counts: null,
        error: {
          error_code: 'TEMPORARILY_UNAVAILABLE',
          message: 'cannot open the store'
        }
      })
    );
    expect(summary.runs).toBe(`${UNKNOWN} runs`);
    expect(summary.storeError).toBe('cannot open the store');
  });

  it('keeps markup as plain text', () => {
    const uri = '/tmp/<img src=x onerror=alert(1)>/.mm';
    expect(
      summarizeStatus(statusReply({ store: { uri, kind: 'sqlite' } })).uri
    ).toBe(uri);
  });
});

describe('errorText', () => {
  it('extracts a message from anything thrown', () => {
    expect(errorText(new Error('boom'))).toBe('boom');
    expect(errorText('plain')).toBe('plain');
    expect(errorText({ weird: true })).toBe('Unknown error');
  });
});

describe('StoreStatusModel', () => {
  it('starts empty', () => {
    const model = new StoreStatusModel({
      fetchStatus: () => Promise.resolve(statusReply())
    });
    expect(model.state).toEqual({
      status: null,
      error: null,
      loading: false,
      updated: null
    });
    model.dispose();
  });

  it('stores the fetched status and signals changes', async () => {
    const model = new StoreStatusModel({
      fetchStatus: () => Promise.resolve(statusReply())
    });
    const seen: StoreStatusModel.IState[] = [];
    model.stateChanged.connect((_, state) => seen.push(state));
    await model.refresh();
    expect(model.state.status?.counts?.runs).toBe(1234);
    expect(model.state.error).toBeNull();
    expect(model.state.loading).toBe(false);
    expect(model.state.updated).toBeInstanceOf(Date);
    expect(seen.map(s => s.loading)).toEqual([true, false]);
    model.dispose();
  });

  it('keeps the last status and records the error on failure', async () => {
    let fail = false;
    const model = new StoreStatusModel({
      fetchStatus: () =>
        fail
          ? Promise.reject(new Error('store unavailable'))
          : Promise.resolve(statusReply())
    });
    await model.refresh();
    fail = true;
    await expect(model.refresh()).resolves.toBeUndefined();
    expect(model.state.error).toBe('store unavailable');
    expect(model.state.status?.counts?.experiments).toBe(2);
    fail = false;
    await model.refresh();
    expect(model.state.error).toBeNull();
    model.dispose();
  });

  it('shares one request between concurrent refreshes', async () => {
    let calls = 0;
    let release: () => void = () => undefined;
    const gate = new Promise<void>(resolve => (release = resolve));
    const model = new StoreStatusModel({
      fetchStatus: async () => {
        calls += 1;
        await gate;
        return statusReply();
      }
    });
    const first = model.refresh();
    const second = model.refresh();
    release();
    await Promise.all([first, second]);
    expect(calls).toBe(1);
    model.dispose();
  });

  it('ignores updates after disposal', async () => {
    const model = new StoreStatusModel({
      fetchStatus: () => Promise.resolve(statusReply())
    });
    model.dispose();
    expect(model.isDisposed).toBe(true);
    await model.refresh();
    expect(model.state.status).toBeNull();
  });

  it('maps refresh intervals to poll frequencies', () => {
    expect(StoreStatusModel.frequency(5)).toEqual({
      interval: 5000,
      backoff: true,
      max: StoreStatusModel.MAX_BACKOFF
    });
    expect(StoreStatusModel.frequency(0).interval).toBe(Poll.NEVER);
    expect(StoreStatusModel.frequency(-1).interval).toBe(Poll.NEVER);
    expect(StoreStatusModel.frequency(600).max).toBe(600000);
  });

  it('accepts interval changes, including turning polling off', () => {
    const model = new StoreStatusModel({
      fetchStatus: () => Promise.resolve(statusReply()),
      refreshInterval: 1
    });
    expect(() => model.setRefreshInterval(0)).not.toThrow();
    expect(() => model.setRefreshInterval(30)).not.toThrow();
    model.dispose();
  });
});

describe('version handshake', () => {
  it('reads the frontend version from package.json', () => {
    expect(FRONTEND_VERSION).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('prefers the server verdict on version equality', () => {
    expect(
      versionsMatch(
        statusReply({ version: '0.1.0a1', version_match: true }),
        '0.1.0-alpha.1'
      )
    ).toBe(true);
    expect(versionsMatch(statusReply({ version: '0.1.0' }), '0.1.0')).toBe(
      true
    );
    expect(versionsMatch(statusReply({ version: '0.2.0' }), '0.1.0')).toBe(
      false
    );
  });

  it('accepts a matching server', () => {
    const result = interpretHandshake('0.1.0', { status: statusReply() });
    expect(result.outcome).toBe('ok');
    expect(result.message).toBe('');
  });

  it('reports a version mismatch with both versions', () => {
    const result = interpretHandshake('0.1.0', {
      status: statusReply({ version: '0.2.0', version_match: false })
    });
    expect(result.outcome).toBe('mismatch');
    expect(result.message).toContain('0.1.0');
    expect(result.message).toContain('0.2.0');
    expect(result.message).toContain('pip install');
  });

  it('explains a 404 as a missing server extension', () => {
    const error = new ServerConnection.ResponseError(
      new Response('', { status: 404 })
    );
    const result = interpretHandshake('0.1.0', { error });
    expect(result.outcome).toBe('missing');
    expect(result.message).toContain('server extension is not installed');
    expect(result.message).toContain('jupyter server extension list');
  });

  it('reports other failures without blaming the installation', () => {
    const error = new ServerConnection.ResponseError(
      new Response('', { status: 503 }),
      'store unavailable'
    );
    const result = interpretHandshake('0.1.0', { error });
    expect(result.outcome).toBe('error');
    expect(result.message).toContain('store unavailable');
  });
});
