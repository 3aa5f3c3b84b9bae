import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGatehouse, oidcProvider, openDatabase, type Gatehouse } from '../src/index.js';
import { ORIGIN, getTestInstance } from './helpers.js';
import { errorCode, OAuthBrowser } from './oauth-helpers.js';
import { startHostileIdp } from './support/hostile-idp.js';
import { privatePostgresUnavailable, startPrivatePostgres, startPrivateRedis, type PrivateService } from './support/private-services.js';

/**
 * ERR-02 with the dependency brought down FOR REAL: a private PostgreSQL and a private Redis,
 * killed with SIGKILL mid-test and started again on the same port (docs/operations.md).
 */
const postgresMissing = privatePostgresUnavailable();
if (postgresMissing !== null) {
  if (process.env.GATEHOUSE_REQUIRE_SERVICES === '1') throw new Error(`private PostgreSQL: ${postgresMissing} (required: GATEHOUSE_REQUIRE_SERVICES=1)`);
  console.warn(`[skip] private PostgreSQL: ${postgresMissing}; the database failure tests are skipped.`);
}

const quiet = { warn() {}, error() {} };

async function until<T>(probe: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (ok(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.runIf(postgresMissing === null)('PostgreSQL dies and comes back', () => {
  let pg: PrivateService;
  let auth: Gatehouse;
  beforeAll(async () => {
    pg = await startPrivatePostgres();
    const database = await openDatabase(pg.url);
    auth = createGatehouse({ database, origin: ORIGIN, logger: quiet });
    await auth.migrate();
  }, 60_000);
  afterAll(async () => {
    await auth?.close();
    await pg?.close();
  });

  const session = (cookie: string) => auth.handler(new Request(`${ORIGIN}/auth/session`, { headers: { cookie } }), { ip: '203.0.113.1' });

  it('fails closed while it is down (503, never authenticated), stays up, and recovers by itself', async () => {
    const user = await auth.users.create({ email: 'pg@example.com', name: 'PG' });
    const { headers } = await auth.createSession(user.id, new Request(ORIGIN), { method: 'test' });
    const cookie = headers.get('set-cookie')!.split(';')[0]!;
    expect((await session(cookie)).status).toBe(200);

    await pg.kill();
    const down = await session(cookie);
    expect(down.status).toBe(503);
    expect(await down.json()).toEqual({ error: { code: 'SERVICE_UNAVAILABLE', message: expect.any(String) } });
    expect(await auth.getSession(new Request(ORIGIN, { headers: { cookie } })).catch((e: unknown) => e)).toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
    const signUp = await auth.handler(
      new Request(`${ORIGIN}/auth/passkeys/register/options`, { method: 'POST', headers: { 'content-type': 'application/json', 'sec-fetch-site': 'same-origin' }, body: JSON.stringify({ email: 'x@example.com', name: 'X' }) }),
      { ip: '203.0.113.1' },
    );
    expect(signUp.status).toBe(503);
    expect((await auth.readiness()).ready).toBe(false);

    await pg.start();
    // The pool drops its dead connections and opens new ones: no restart of the app needed.
    const back = await until(() => session(cookie), (res) => res.status === 200);
    expect(back.status).toBe(200);
    expect((await auth.readiness()).ready).toBe(true);
  }, 60_000);
});

describe('Redis dies and comes back (rate limits)', () => {
  let redis: PrivateService;
  beforeAll(async () => {
    redis = await startPrivateRedis();
  });
  afterAll(async () => {
    await redis?.close();
  });

  it('shares limits across instances, falls back to per-instance limits (never unlimited) while down, and shares again after', async () => {
    const limits = { session: { points: 3, durationSeconds: 60 } };
    const a = await getTestInstance({ rateLimit: { redis: redis.url, limits } });
    const b = await getTestInstance({ rateLimit: { redis: redis.url, limits } });
    const hit = (t: typeof a, ip: string) => t.request('/auth/session', { ip }).then((r) => r.status);
    try {
      // Shared: 3 points for one IP across both instances.
      expect([await hit(a, '198.51.100.1'), await hit(b, '198.51.100.1'), await hit(a, '198.51.100.1'), await hit(b, '198.51.100.1')]).toEqual([401, 401, 401, 429]);

      await redis.kill();
      const during = [];
      for (let i = 0; i < 5; i++) during.push(await hit(a, '198.51.100.2'));
      // Each instance's insurance limiter still refuses after its own 3 points.
      expect(during).toEqual([401, 401, 401, 429, 429]);
      expect((await a.auth.readiness()).checks.find((c) => c.name === 'redis')).toMatchObject({ ok: false, detail: 'Redis unreachable' });

      await redis.start();
      const ready = await until(() => a.auth.readiness(), (r) => r.ready);
      expect(ready.ready).toBe(true);
      // Back to shared counters (Redis restarted empty): 3 points across both instances again.
      // Each attempt uses a fresh client IP, so a retry while the limiter reconnects spends nothing the next attempt counts.
      let attempt = 0;
      const after = await until(
        async () => {
          const ip = `198.51.100.${10 + attempt++}`;
          return [await hit(a, ip), await hit(b, ip), await hit(a, ip), await hit(b, ip)];
        },
        (statuses) => statuses[3] === 429,
      );
      expect(after).toEqual([401, 401, 401, 429]);
    } finally {
      await a.close();
      await b.close();
    }
  }, 60_000);
});

describe('OpenID Provider hangs', () => {
  it('a token endpoint that never answers is cut off at httpTimeoutSeconds: error page, no session', async () => {
    const idp = await startHostileIdp();
    const t = await getTestInstance({
      oauth: { httpTimeoutSeconds: 1, providers: [oidcProvider({ id: 'slow', name: 'Slow', issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret })] },
    });
    try {
      const browser = new OAuthBrowser(t);
      const callback = await browser.authorize(await browser.start('slow'));
      idp.defect = 'token-hangs';
      const started = Date.now();
      const res = await browser.callback(callback);
      expect(errorCode(res)).toBe('OAUTH_PROVIDER_UNAVAILABLE');
      expect(Date.now() - started).toBeLessThan(5000);
      expect(browser.has('__Host-gatehouse-session')).toBe(false);
    } finally {
      await t.close();
      await idp.close();
    }
  });
});
