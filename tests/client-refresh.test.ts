import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { TestInstance } from './helpers.js';
import { ACCESS, getJwtInstance, jwtSignIn, REFRESH, REFRESHABLE } from './jwt-helpers.js';

/**
 * gatehouse/client in JWT mode: `fetch` points at a real Gatehouse handler through a small
 * cookie jar that honours Path and Max-Age, like a browser (the refresh cookie only goes
 * to /auth/token/refresh).
 */
class Jar {
  cookies = new Map<string, { value: string; path: string }>();
  store(headers: Headers): void {
    for (const line of headers.getSetCookie()) {
      const [pair, ...attributes] = line.split('; ');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      const path = attributes.find((a) => a.startsWith('Path='))?.slice(5) ?? '/';
      if (attributes.includes('Max-Age=0')) this.cookies.delete(name);
      else this.cookies.set(name, { value: pair!.slice(eq + 1), path });
    }
  }
  header(path: string): string {
    return [...this.cookies].filter(([, c]) => path.startsWith(c.path)).map(([name, c]) => `${name}=${c.value}`).join('; ');
  }
}

let t: TestInstance;
let jar: Jar;
let sent: string[];

function browser(instance: TestInstance) {
  return async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const url = input instanceof Request ? new URL(input.url).pathname : String(input);
    sent.push(`${init.method ?? 'GET'} ${url}`);
    const res = await instance.request(url, { ...init, cookie: jar.header(url) });
    jar.store(res.headers);
    return res;
  };
}

beforeEach(async () => {
  vi.resetModules();
  t = await getJwtInstance();
  jar = new Jar();
  sent = [];
  vi.stubGlobal('fetch', browser(t));
});
afterEach(async () => {
  vi.unstubAllGlobals();
  await t.close();
});

async function signedIn(): Promise<void> {
  const s = await jwtSignIn(t, `c${Math.random()}@example.com`);
  jar.store(new Headers(s.setCookie.map((c) => ['set-cookie', c] as [string, string])));
}

describe('authFetch', () => {
  it('10 concurrent calls with an expired access token share ONE refresh, then all succeed', async () => {
    const { authFetch } = await import('../src/client/index.js');
    await signedIn();
    t.clock.advance(16 * 60_000);
    jar.cookies.delete(ACCESS); // the browser dropped it at Max-Age
    const responses = await Promise.all(Array.from({ length: 10 }, () => authFetch('/auth/session')));
    expect(responses.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(sent.filter((s) => s === 'POST /auth/token/refresh')).toHaveLength(1);
    expect(jar.cookies.has(ACCESS)).toBe(true);
  });

  it('a failed refresh returns the original 401 and signs the browser out; UNAUTHENTICATED never triggers a refresh', async () => {
    const { authFetch } = await import('../src/client/index.js');
    await signedIn();
    const refreshToken = jar.cookies.get(REFRESH)!.value;
    await (await t.auth.storage()).deleteSession((await t.auth.requireSession(new Request('http://localhost:3000/', { headers: { cookie: jar.header('/') } }))).session.id);
    jar.cookies.delete(ACCESS);
    expect(refreshToken).toMatch(/^[A-Za-z0-9_.-]{20,}$/);
    const res = await authFetch('/auth/session');
    expect(res.status).toBe(401);
    expect(sent.filter((s) => s.includes('/token/refresh'))).toHaveLength(1);
    expect(jar.cookies.has(REFRESHABLE)).toBe(false);
    sent = [];
    const again = await authFetch('/auth/session');
    expect(again.status).toBe(401);
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe('UNAUTHENTICATED');
    expect(sent).toEqual(['GET /auth/session']);
  });

  it('getSession() refreshes an expired access token once and answers the user; null once the session has ended', async () => {
    const { getSession } = await import('../src/client/index.js');
    await signedIn();
    t.clock.advance(16 * 60_000);
    jar.cookies.delete(ACCESS);
    expect(await getSession()).toMatchObject({ user: { role: 'member' } });
    expect(sent.filter((s) => s === 'POST /auth/token/refresh')).toHaveLength(1);
    const { session } = await t.auth.requireSession(new Request('http://localhost:3000/', { headers: { cookie: jar.header('/') } }));
    await (await t.auth.storage()).deleteSession(session.id);
    jar.cookies.delete(ACCESS);
    expect(await getSession()).toBeNull();
  });

  it('the passkey/management helpers refresh too (callApi)', async () => {
    const { listPasskeys } = await import('../src/client/index.js');
    await signedIn();
    t.clock.advance(16 * 60_000);
    expect(await listPasskeys()).toEqual([]);
    // With Web Locks (browsers; Node 24's navigator.locks) a tab that finds the lock free checks the session first.
    const probe = typeof navigator !== 'undefined' && 'locks' in navigator ? ['GET /auth/session'] : [];
    expect(sent).toEqual(['GET /auth/passkeys', ...probe, 'POST /auth/token/refresh', 'GET /auth/passkeys']);
  });

  it('two tabs: the second waits on the Web Lock, sees the first one refreshed (BroadcastChannel), and does not refresh again', async () => {
    // Two module instances = two tabs; one shared lock manager = the browser's.
    // A minimal Web Locks: one exclusive lock, FIFO, with `ifAvailable`.
    let tail: Promise<unknown> = Promise.resolve();
    let held = false;
    const lockManager = {
      request<T>(_name: string, ...args: unknown[]): Promise<T> {
        const callback = args.at(-1) as (lock: unknown) => Promise<T>;
        const ifAvailable = args.length === 2;
        if (ifAvailable && held) return callback(null);
        held = true;
        const run = tail.then(() => {
          held = true;
          return callback({});
        });
        tail = run.catch(() => {}).then(() => {
          held = false;
        });
        return run;
      },
    };
    vi.stubGlobal('navigator', { locks: lockManager });
    const tabA = await import('../src/client/refresh.js');
    vi.resetModules();
    const tabB = await import('../src/client/refresh.js');
    expect(tabA).not.toBe(tabB);
    await signedIn();
    t.clock.advance(16 * 60_000);
    jar.cookies.delete(ACCESS);
    const [a, b] = await Promise.all([tabA.authFetch('/auth/session'), tabB.authFetch('/auth/session')]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(sent.filter((s) => s === 'POST /auth/token/refresh')).toHaveLength(1);
  });
});
