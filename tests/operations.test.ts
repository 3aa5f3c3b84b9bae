import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGatehouse, oidcProvider, openDatabase } from '../src/index.js';
import { createSoftwareAuthenticator } from '../src/testing/index.js';
import { createDemoApp, type AccessLogEntry } from '../demo/app.js';
import { demoAuthz } from '../demo/authz.js';
import { createPostsStore } from '../demo/posts.js';
import { getTestInstance, ORIGIN } from './helpers.js';
import { startHostileIdp, type HostileIdp } from './support/hostile-idp.js';

/** Health, readiness, metrics and logs (docs/operations.md). */

describe('readiness', () => {
  it('is ready on a migrated database, and says which check failed otherwise', async () => {
    const database = await openDatabase('sqlite::memory:');
    const auth = createGatehouse({ database, origin: ORIGIN, logger: { warn() {}, error() {} } });
    try {
      const before = await auth.readiness();
      expect(before.ready).toBe(false);
      expect(before.checks.find((c) => c.name === 'migrations')).toMatchObject({ ok: false, detail: expect.stringMatching(/pending: 0001_foundation.*run gatehouse migrate/) });
      await auth.migrate();
      expect(await auth.readiness()).toEqual({
        ready: true,
        checks: [
          { name: 'database', ok: true, detail: 'sqlite reachable' },
          { name: 'migrations', ok: true, detail: 'all applied' },
        ],
      });
    } finally {
      await auth.close();
      await database.close();
    }
  });

  it('an unreachable PostgreSQL or Redis makes the instance not ready, without leaking the connection string', async () => {
    const auth = createGatehouse({
      database: 'postgres://gatehouse:s3cret-password@127.0.0.1:1/nowhere',
      origin: ORIGIN,
      rateLimit: { redis: 'redis://:redis-password@127.0.0.1:1' },
      logger: { warn() {}, error() {} },
    });
    try {
      const report = await auth.readiness();
      expect(report.ready).toBe(false);
      expect(report.checks.map((c) => [c.name, c.ok])).toEqual([
        ['database', false],
        ['migrations', false],
        ['redis', false],
      ]);
      const text = JSON.stringify(report);
      expect(text).not.toMatch(/s3cret|redis-password|127\.0\.0\.1|ECONNREFUSED/);
    } finally {
      await auth.close();
    }
  });

  it('the demo answers /healthz 200 and /readyz 200 with the checks', async () => {
    const t = await getTestInstance({ authz: demoAuthz });
    try {
      const posts = createPostsStore(t.database);
      await posts.migrate();
      const app = createDemoApp(t.auth, posts);
      expect(await (await app.fetch(new Request(`${ORIGIN}/healthz`))).json()).toEqual({ status: 'ok' });
      const ready = await app.fetch(new Request(`${ORIGIN}/readyz`));
      expect(ready.status).toBe(200);
      expect(((await ready.json()) as { ready: boolean }).ready).toBe(true);
    } finally {
      await t.close();
    }
  });
});

describe('metrics', () => {
  it('are off by default: 404 in the error shape', async () => {
    const t = await getTestInstance();
    try {
      const res = await t.auth.metrics();
      expect(res.status).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
    } finally {
      await t.close();
    }
  });

  it('count requests by route template, sign-ins, 429s, CSRF refusals and session validations', async () => {
    const t = await getTestInstance({ metrics: true, rateLimit: { limits: { session: { points: 3, durationSeconds: 60 } } } });
    try {
      const { cookie } = await t.signIn('ada@example.com');
      await t.request('/auth/session', { cookie });
      await t.request('/auth/passkeys/some-credential-id', { method: 'DELETE', cookie, ip: '198.51.100.1' });
      await t.request('/auth/sign-out', { method: 'POST', headers: { 'sec-fetch-site': 'cross-site' } });
      for (let i = 0; i < 4; i++) await t.request('/auth/session', { ip: '198.51.100.9' });
      const res = await t.auth.metrics();
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      const text = await res.text();
      expect(text).toContain('gatehouse_http_requests_total{route="/session",method="GET",status="200"} 1');
      expect(text).toContain('gatehouse_http_requests_total{route="/passkeys/:id",method="DELETE",status="404"} 1');
      expect(text).toContain('gatehouse_http_requests_total{route="/session",method="GET",status="429"} 1');
      expect(text).toContain('gatehouse_sign_ins_total{method="test",result="success"} 1');
      expect(text).toContain('gatehouse_rate_limited_total{limit="session"} 1');
      expect(text).toContain('gatehouse_csrf_refused_total 1');
      expect(text).toMatch(/gatehouse_session_validation_seconds_count\{result="valid"\} [1-9]/);
      // No ids, emails or IPs as label values.
      expect(text).not.toMatch(/some-credential-id|ada@example\.com|198\.51\.100/);
    } finally {
      await t.close();
    }
  });
});

describe('logs', () => {
  let idp: HostileIdp;
  beforeAll(async () => {
    idp = await startHostileIdp();
  });
  afterAll(async () => {
    await idp.close();
  });

  it('a full sign-up, sign-in, recovery, provider sign-in and sign-out leaves no secret in the access or library logs', async () => {
    const lines: string[] = [];
    const t = await getTestInstance({
      authz: demoAuthz,
      oauth: { providers: [oidcProvider({ id: 'idp', name: 'IdP', issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret })] },
      logger: { warn: (m, d) => lines.push(JSON.stringify({ m, d })), error: (m, d) => lines.push(JSON.stringify({ m, d })) },
    });
    const entries: AccessLogEntry[] = [];
    const secrets = new Set<string>();
    try {
      const posts = createPostsStore(t.database);
      await posts.migrate();
      const app = createDemoApp(t.auth, posts, { accessLog: (entry) => entries.push(entry) });
      const jar = new Map<string, string>();
      const send = async (path: string, init: { method?: string; json?: unknown; site?: string } = {}) => {
        const headers = new Headers({ 'sec-fetch-site': init.site ?? 'same-origin', accept: 'application/json' });
        if (jar.size > 0) headers.set('cookie', [...jar].map(([k, v]) => `${k}=${v}`).join('; '));
        if (init.json !== undefined) headers.set('content-type', 'application/json');
        const res = await app.fetch(new Request(`${ORIGIN}${path}`, { method: init.method ?? 'GET', headers, body: init.json === undefined ? undefined : JSON.stringify(init.json) }));
        for (const line of res.headers.getSetCookie()) {
          const pair = line.split(';')[0]!;
          const [name, value] = [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)];
          if (value !== '') secrets.add(value);
          if (/Max-Age=0/.test(line)) jar.delete(name);
          else jar.set(name, value);
        }
        return res;
      };
      const authenticator = createSoftwareAuthenticator({ origin: ORIGIN });
      const reg = (await (await send('/auth/passkeys/register/options', { method: 'POST', json: { email: 'log@example.com', name: 'Log' } })).json()) as { challenge: string };
      secrets.add(reg.challenge);
      await send('/auth/passkeys/register/verify', { method: 'POST', json: { response: authenticator.register(reg as never) } });
      const codes = (await (await send('/auth/recovery-codes', { method: 'POST', json: {} })).json()) as { codes: string[] };
      for (const code of codes.codes) secrets.add(code);
      await send('/auth/sign-out', { method: 'POST' });
      const login = (await (await send('/auth/passkeys/login/options', { method: 'POST', json: {} })).json()) as { challenge: string };
      secrets.add(login.challenge);
      await send('/auth/passkeys/login/verify', { method: 'POST', json: { response: authenticator.authenticate(login as never) } });
      await send('/auth/sign-out', { method: 'POST' });
      await send('/auth/recovery/sign-in', { method: 'POST', json: { email: 'log@example.com', code: codes.codes[0] } });
      await send('/auth/sign-out', { method: 'POST' });
      // A provider sign-in: the callback's query carries the code and state.
      const start = await send('/auth/oauth/idp');
      const authorize = await fetch(start.headers.get('location')!, { redirect: 'manual' });
      const callback = new URL(authorize.headers.get('location')!);
      secrets.add(callback.searchParams.get('code')!);
      secrets.add(callback.searchParams.get('state')!);
      await send(`${callback.pathname}${callback.search}`, { site: 'cross-site' });
      await send('/auth/sign-out', { method: 'POST' });

      expect(entries.length).toBeGreaterThan(10);
      expect(entries.map((e) => e.path)).toContain('/auth/oauth/idp/callback');
      expect(secrets.size).toBeGreaterThan(15);
      const logged = JSON.stringify(entries) + lines.join('\n');
      for (const secret of secrets) expect(logged, `secret ${secret.slice(0, 6)}... in the logs`).not.toContain(secret);
      // Access-log entries carry exactly the fixed fields.
      for (const entry of entries) expect(Object.keys(entry).sort()).toEqual(['ip', 'method', 'ms', 'path', 'requestId', 'status']);
    } finally {
      await t.close();
    }
  });
});
