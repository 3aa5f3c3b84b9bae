import { afterEach, describe, expect, it, vi } from 'vitest';
import { deletePasskey, GatehouseClientError, generateRecoveryCodes, getSession, listPasskeys, signInWithPasskey, signInWithRecoveryCode, signOut } from '../src/client/index.js';
import { parseRetryAfter } from '../src/client/http.js';
import { autofillRenewalDelay } from '../src/client/ceremonies.js';
import { getTestInstance, ORIGIN, type TestInstance } from './helpers.js';

/**
 * gatehouse/client's HTTP side in Node: `fetch` is pointed at a real Gatehouse handler (or a
 * stub for failures the server never produces). The WebAuthn ceremonies themselves run in
 * tests/browser-passkeys.test.ts, in Chromium.
 */
let t: TestInstance | undefined;
afterEach(async () => {
  vi.unstubAllGlobals();
  await t?.close();
  t = undefined;
});

interface Sent {
  url: string;
  init: RequestInit;
}

/** A same-origin browser in front of the handler: relative URLs, one cookie, the headers a browser adds. */
function browserFetch(instance: TestInstance, cookie: string, sent: Sent[] = []) {
  return async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const url = String(input);
    sent.push({ url, init });
    return instance.request(url, { ...init, cookie });
  };
}

const failure = async (promise: Promise<unknown>): Promise<GatehouseClientError> => {
  const error: unknown = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(error instanceof GatehouseClientError)) throw new Error(`expected a GatehouseClientError, got ${String(error)}`);
  return error;
};

describe('gatehouse/client over HTTP', () => {
  it('calls the API same-origin, as JSON, under the base path, and parses the answers', async () => {
    t = await getTestInstance();
    const { cookie, userId } = await t.signIn('ada@example.com');
    const sent: Sent[] = [];
    vi.stubGlobal('fetch', browserFetch(t, cookie, sent));

    expect(await listPasskeys()).toEqual([]);
    const codes = await generateRecoveryCodes();
    expect(codes).toHaveLength(10);
    expect(await (await t.auth.storage()).countRecoveryCodes(userId)).toBe(10);
    await signOut();
    expect(await t.auth.getSession(new Request(`${ORIGIN}/`, { headers: { cookie } }))).toBeNull();

    expect(sent.map((s) => `${s.init.method} ${s.url}`)).toEqual(['GET /auth/passkeys', 'POST /auth/recovery-codes', 'POST /auth/sign-out']);
    for (const { init } of sent) {
      expect(init.credentials).toBe('same-origin');
      const headers = new Headers(init.headers);
      expect(headers.get('accept')).toBe('application/json');
      if (init.method !== 'GET') expect(headers.get('content-type')).toBe('application/json');
    }
  });

  it('signs in with a recovery code and returns the user and what to do next, never a token', async () => {
    t = await getTestInstance();
    const { cookie } = await t.signIn('ada@example.com');
    vi.stubGlobal('fetch', browserFetch(t, cookie));
    const [code] = await generateRecoveryCodes();
    const result = await signInWithRecoveryCode({ email: 'ADA@example.com', code: code!.toLowerCase() });
    expect(result).toMatchObject({ user: { email: 'ada@example.com', role: 'member' }, next: 'register-passkey' });
    expect(JSON.stringify(result)).not.toMatch(/token/i);
  });

  it("turns the server's errors into GatehouseClientError with its code and message", async () => {
    t = await getTestInstance();
    vi.stubGlobal('fetch', browserFetch(t, ''));
    const error = await failure(listPasskeys());
    expect(error).toMatchObject({ code: 'UNAUTHENTICATED', status: 401, message: 'Sign in to continue.', retryAfterSeconds: undefined });

    const { cookie } = await t.signIn('ada@example.com');
    vi.stubGlobal('fetch', browserFetch(t, cookie));
    expect(await failure(deletePasskey({ id: 'nope' }))).toMatchObject({ code: 'NOT_FOUND', status: 404 });
    const bad = await failure(signInWithRecoveryCode({ email: 'ada@example.com', code: 'WRONG-CODE1' }));
    expect(bad).toMatchObject({ code: 'RECOVERY_FAILED', status: 401 });
  });

  it('429 carries retryAfterSeconds from the Retry-After header', async () => {
    t = await getTestInstance({ rateLimit: { limits: { credentialAccount: { points: 2, durationSeconds: 900 } } } });
    vi.stubGlobal('fetch', browserFetch(t, ''));
    for (let i = 0; i < 2; i++) await failure(signInWithRecoveryCode({ email: 'ada@example.com', code: `WRONG-${i}` }));
    const limited = await failure(signInWithRecoveryCode({ email: 'ada@example.com', code: 'WRONG-3' }));
    expect(limited.code).toBe('RATE_LIMITED');
    expect(limited.status).toBe(429);
    expect(limited.retryAfterSeconds).toBeGreaterThan(800);
    expect(limited.retryAfterSeconds).toBeLessThanOrEqual(900);
    expect(limited.message).toMatch(/^Too many requests\. Try again in \d+ seconds\.$/);
  });

  it('network failures, aborts, non-Gatehouse errors and malformed answers get their own codes', async () => {
    vi.stubGlobal('fetch', () => Promise.reject(new TypeError('Failed to fetch')));
    expect(await failure(listPasskeys())).toMatchObject({ code: 'NETWORK_ERROR', status: undefined });

    vi.stubGlobal('fetch', () => Promise.reject(new DOMException('aborted', 'AbortError')));
    expect(await failure(listPasskeys())).toMatchObject({ code: 'CANCELLED' });

    vi.stubGlobal('fetch', () => Promise.resolve(new Response('<html>Bad gateway</html>', { status: 502 })));
    expect(await failure(signOut())).toMatchObject({ code: 'HTTP_502', status: 502 });

    vi.stubGlobal('fetch', () => Promise.resolve(Response.json({ passkeys: [{ id: 1 }] })));
    expect(await failure(listPasskeys())).toMatchObject({ code: 'BAD_RESPONSE' });
    vi.stubGlobal('fetch', () => Promise.resolve(Response.json({ codes: 'ABCDE-FGHJK' }, { status: 201 })));
    expect(await failure(generateRecoveryCodes())).toMatchObject({ code: 'BAD_RESPONSE' });
  });

  it('getSession(): the user and session when signed in, null when signed out (even after signing out), and throws for other failures', async () => {
    t = await getTestInstance();
    const { cookie } = await t.signIn('session@example.com');
    vi.stubGlobal('fetch', browserFetch(t, cookie));
    const found = await getSession();
    expect(found).toEqual({
      user: expect.objectContaining({ email: 'session@example.com', role: 'member' }),
      session: { id: expect.any(String), createdAt: expect.any(String), expiresAt: expect.any(String) },
    });
    // Nothing else (no token) in what page scripts get.
    expect(Object.keys(found!)).toEqual(['user', 'session']);
    await signOut();
    expect(await getSession()).toBeNull();
    vi.stubGlobal('fetch', browserFetch(t, ''));
    expect(await getSession()).toBeNull();
    vi.stubGlobal('fetch', () => Promise.resolve(Response.json({ error: { code: 'SERVICE_UNAVAILABLE', message: 'down' } }, { status: 503 })));
    expect(await failure(getSession())).toMatchObject({ code: 'SERVICE_UNAVAILABLE', status: 503 });
  });

  it('a custom base path is used as is', async () => {
    const seen: string[] = [];
    vi.stubGlobal('fetch', (url: string) => {
      seen.push(url);
      return Promise.resolve(new Response(null, { status: 204 }));
    });
    await signOut({ basePath: '/api/auth/' });
    expect(seen).toEqual(['/api/auth/sign-out']);
  });

  it('says UNSUPPORTED before any request when the browser has no WebAuthn', async () => {
    const fetch = vi.fn();
    vi.stubGlobal('fetch', fetch);
    expect(await failure(signInWithPasskey())).toMatchObject({ code: 'UNSUPPORTED' });
    expect(await failure(signInWithPasskey({ autofill: true }))).toMatchObject({ code: 'UNSUPPORTED' });
    expect(fetch).not.toHaveBeenCalled();
  });

  it('renews an autofill request 30 s before its challenge expires (halfway for a short one)', () => {
    expect(autofillRenewalDelay(300_000)).toBe(270_000);
    expect(autofillRenewalDelay(30_000)).toBe(15_000);
    // No timeout in the options (another server): Gatehouse's default lifetime of 5 minutes.
    expect(autofillRenewalDelay(undefined)).toBe(270_000);
    expect(autofillRenewalDelay(0)).toBe(270_000);
    // Beyond what setTimeout takes (it would fire at once): capped.
    expect(autofillRenewalDelay(30 * 24 * 3_600_000)).toBe(2 ** 31 - 1);
  });

  it('parses Retry-After as seconds or as an HTTP date', () => {
    expect(parseRetryAfter('120')).toBe(120);
    expect(parseRetryAfter(new Date(Date.UTC(2030, 0, 1, 0, 2)).toUTCString(), Date.UTC(2030, 0, 1))).toBe(120);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
  });
});
