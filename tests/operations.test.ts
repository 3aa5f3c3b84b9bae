import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGatehouse, oidcProvider, openDatabase } from '../src/index.js';
import { createSoftwareAuthenticator } from '../src/testing/index.js';
import { createDemoApp, type AccessLogEntry } from '../demo/app.js';
import { demoAuthz } from '../demo/authz.js';
import { createPostsStore } from '../demo/posts.js';
import { getTestInstance, ORIGIN } from './helpers.js';
import { ACCESS, cookiesOf, getJwtInstance, JWT_SECRET, jwtSignIn, refresh, REFRESH, REFRESHABLE } from './jwt-helpers.js';
import { freePort, startDemo, stopDemo, type DemoInstance } from './support/demo-process.js';
import { startHostileIdp, type HostileIdp } from './support/hostile-idp.js';
import { freshPostgres, hasPostgres } from './services.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

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

  it('an unreachable PostgreSQL makes the instance not ready, an unreachable Redis degraded, without leaking the connection strings', async () => {
    const auth = createGatehouse({
      database: 'postgres://gatehouse:s3cret-password@127.0.0.1:1/nowhere',
      origin: ORIGIN,
      rateLimit: { redis: 'redis://:redis-password@127.0.0.1:1' },
      logger: { warn() {}, error() {} },
    });
    try {
      const report = await auth.readiness();
      expect(report.ready).toBe(false);
      expect(report.checks.map((c) => [c.name, c.ok, c.degraded ?? false])).toEqual([
        ['database', false, false],
        ['migrations', false, false],
        ['redis', true, true],
      ]);
      const text = JSON.stringify(report);
      expect(text).not.toMatch(/s3cret|redis-password|127\.0\.0\.1|ECONNREFUSED/);
    } finally {
      await auth.close();
    }
  });

  it('JWT mode: signing keys loaded is a check; keys the configured secret cannot decrypt make the instance not ready, saying no more', async () => {
    const t = await getJwtInstance();
    const other = createGatehouse({ database: t.database, origin: ORIGIN, logger: { warn() {}, error() {} }, session: { strategy: 'jwt' }, jwt: { secret: 'another-secret-that-is-long-enough-0123456789' } });
    try {
      const report = await t.auth.readiness();
      expect(report.ready).toBe(true);
      expect(report.checks.find((c) => c.name === 'signing-keys')).toEqual({ name: 'signing-keys', ok: true, detail: '1 key(s) loaded; revocation feed up' });
      const wrong = await other.readiness();
      expect(wrong.ready).toBe(false);
      expect(wrong.checks.find((c) => c.name === 'signing-keys')).toEqual({ name: 'signing-keys', ok: false, detail: 'signing keys could not be loaded (check jwt.secret and the database)' });
      expect(JSON.stringify(wrong)).not.toMatch(/another-secret|jwt-test-secret/);
    } finally {
      await other.close();
      await t.close();
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

describe('startup', () => {
  it('the demo on a port in use says which variable to change and exits 1, without a stack trace', async () => {
    const { createServer } = await import('node:net');
    const holder = createServer();
    const port = await freePort();
    await new Promise<void>((resolve) => holder.listen(port, '127.0.0.1', resolve));
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-port-'));
    try {
      const { spawnSync } = await import('node:child_process');
      const run = spawnSync(process.execPath, ['dist/demo/server.js'], {
        cwd: ROOT,
        env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', GATEHOUSE_DEV_IDP: '0', DATABASE_URL: `sqlite:${join(dir, 'demo.db')}` },
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(run.status).toBe(1);
      expect(run.stderr).toContain(`Gatehouse demo: cannot serve the app: port ${port} is in use. Set PORT to a free port.`);
      expect(run.stderr).not.toMatch(/\n\s+at /);
    } finally {
      holder.close();
      rmSync(dir, { recursive: true, force: true });
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

describe('metrics in JWT mode and on PostgreSQL', () => {
  it('count refresh rotations, grace-window repeats, reuse detections and invalid tokens', async () => {
    const t = await getJwtInstance({ metrics: true });
    try {
      const user = await jwtSignIn(t, 'refresh@example.com');
      const first = await refresh(t, user.refresh);
      expect(first.status).toBe(200);
      const second = cookiesOf(first.headers).values[REFRESH]!;
      // The same token again inside the grace window: the same successor (RT-04).
      expect((await refresh(t, user.refresh)).status).toBe(200);
      const third = await refresh(t, second);
      expect(third.status).toBe(200);
      // The first token again, its successor rotated since: reuse, the family ends (RT-03).
      expect((await refresh(t, user.refresh)).status).toBe(401);
      // The family's live token went with it (no row: invalid), and garbage.
      expect((await refresh(t, cookiesOf(third.headers).values[REFRESH]!)).status).toBe(401);
      expect((await refresh(t, 'not-a-token')).status).toBe(401);
      const text = await (await t.auth.metrics()).text();
      expect(text).toContain('gatehouse_refresh_total{result="rotated"} 2');
      expect(text).toContain('gatehouse_refresh_total{result="grace"} 1');
      expect(text).toContain('gatehouse_refresh_total{result="reused"} 1');
      expect(text).toContain('gatehouse_refresh_total{result="invalid"} 2');
      expect(text).toContain('gatehouse_http_requests_total{route="/token/refresh",method="POST",status="401"} 3');
    } finally {
      await t.close();
    }
  });

  it.runIf(hasPostgres)('report the PostgreSQL pool: total, idle and waiting connections', async () => {
    const pg = await freshPostgres();
    const t = await getTestInstance({ databaseUrl: pg.url, metrics: true });
    try {
      const { cookie } = await t.signIn('pool@example.com');
      await Promise.all(Array.from({ length: 5 }, () => t.request('/auth/session', { cookie })));
      const text = await (await t.auth.metrics()).text();
      const gauge = (state: string) => Number(new RegExp(`gatehouse_db_pool_connections\\{state="${state}"\\} (\\d+)`).exec(text)?.[1] ?? -1);
      expect(gauge('total')).toBeGreaterThanOrEqual(1);
      expect(gauge('idle')).toBeGreaterThanOrEqual(0);
      expect(gauge('idle')).toBeLessThanOrEqual(gauge('total'));
      expect(gauge('waiting')).toBe(0);
    } finally {
      await t.close();
      await pg.drop();
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

  it('a 5xx is logged by the library with the request id of its access-log line (auth routes and the app\'s own)', async () => {
    const lines: Array<{ message: string; details: Record<string, unknown> | undefined }> = [];
    const t = await getTestInstance({ authz: demoAuthz, logger: { warn: (message, details) => lines.push({ message, details }), error: (message, details) => lines.push({ message, details }) } });
    const entries: AccessLogEntry[] = [];
    const posts = createPostsStore(t.database);
    await posts.migrate();
    const app = createDemoApp(t.auth, posts, { accessLog: (entry) => entries.push(entry) });
    const { cookie } = await t.signIn('five-hundred@example.com');
    // The database goes away under the app: every decision is a 503, each logged once.
    await t.database.close();
    try {
      const auth = await app.fetch(new Request(`${ORIGIN}/auth/session`, { headers: { cookie, 'x-request-id': 'req-5xx-auth' } }));
      const api = await app.fetch(new Request(`${ORIGIN}/api/posts`, { headers: { cookie, 'x-request-id': 'req-5xx-api', 'sec-fetch-site': 'same-origin' } }));
      expect([auth.status, api.status]).toEqual([503, 503]);
      expect(auth.headers.get('x-request-id')).toBe('req-5xx-auth');
      expect(entries.map((e) => [e.requestId, e.path, e.status])).toEqual([
        ['req-5xx-auth', '/auth/session', 503],
        ['req-5xx-api', '/api/posts', 503],
      ]);
      // (The session cache's own warning about the feed is about the instance, not a request.)
      expect(lines.filter((l) => l.message.startsWith('SERVICE_UNAVAILABLE')).map((l) => [l.message, l.details?.requestId])).toEqual([
        ['SERVICE_UNAVAILABLE: The service is temporarily unavailable. Try again shortly.', 'req-5xx-auth'],
        ['SERVICE_UNAVAILABLE: The service is temporarily unavailable. Try again shortly.', 'req-5xx-api'],
      ]);
    } finally {
      await t.auth.close();
    }
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

describe('logs in JWT mode: the demo process with LOG_FORMAT=json', () => {
  let idp: HostileIdp;
  let dir: string;
  let demo: DemoInstance | undefined;
  beforeAll(async () => {
    // The test runs the compiled demo: build it if the sources changed.
    execFileSync(process.execPath, ['scripts/build.mjs', '--if-needed'], { cwd: ROOT, encoding: 'utf8', stdio: 'pipe' });
    idp = await startHostileIdp();
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-logs-'));
  });
  afterAll(async () => {
    await stopDemo(demo);
    await idp?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('sign-up, refreshes, a reused refresh token, passkey and provider sign-ins, sign-outs: no access token, refresh token or cookie in the access, library or audit logs', async () => {
    const output = { stdout: '', stderr: '' };
    const databaseUrl = `sqlite:${join(dir, 'demo.db')}`;
    demo = await startDemo(
      await freePort(),
      {
        DATABASE_URL: databaseUrl,
        LOG_FORMAT: 'json',
        GATEHOUSE_SESSION_STRATEGY: 'jwt',
        GATEHOUSE_JWT_SECRET: JWT_SECRET,
        GATEHOUSE_ORIGIN: ORIGIN,
        OIDC_ISSUER: idp.issuer,
        OIDC_CLIENT_ID: idp.clientId,
        OIDC_CLIENT_SECRET: idp.clientSecret,
      },
      (text, stream) => (output[stream] += text),
    );
    const base = demo.base;
    const secrets = new Set<string>();
    const addSecret = (value: string | null | undefined) => {
      if (value !== null && value !== undefined && value !== '') secrets.add(value);
    };
    // A browser's cookie jar: the refresh cookie only travels to its own path.
    const jar = new Map<string, { value: string; path: string }>();
    let requests = 0;
    const send = async (path: string, init: { method?: string; json?: unknown; site?: string; headers?: Record<string, string>; cookie?: string } = {}) => {
      const headers = new Headers({ 'sec-fetch-site': init.site ?? 'same-origin', accept: 'application/json', ...init.headers });
      const pathname = new URL(path, ORIGIN).pathname;
      const cookie = init.cookie ?? [...jar].filter(([, c]) => pathname.startsWith(c.path)).map(([name, c]) => `${name}=${c.value}`).join('; ');
      if (cookie !== '') headers.set('cookie', cookie);
      if (init.json !== undefined) headers.set('content-type', 'application/json');
      const res = await fetch(`${base}${path}`, { method: init.method ?? 'GET', headers, body: init.json === undefined ? undefined : JSON.stringify(init.json), redirect: 'manual' });
      requests++;
      for (const line of res.headers.getSetCookie()) {
        const pair = line.split(';')[0]!;
        const name = pair.slice(0, pair.indexOf('='));
        const value = pair.slice(pair.indexOf('=') + 1);
        if (/Max-Age=0/i.test(line)) {
          jar.delete(name);
          continue;
        }
        jar.set(name, { value, path: /;\s*Path=([^;]+)/i.exec(line)?.[1] ?? '/' });
        // The "refreshable" marker is the constant 1, no secret; every other cookie value is one.
        if (name === REFRESHABLE) continue;
        addSecret(value);
        // Parts that would betray a token cut up or decoded by a logger: the JWT's signature, the refresh token's secret half.
        if (name === ACCESS) addSecret(value.split('.')[2]);
        if (name === REFRESH) addSecret(value.split('.')[1]);
      }
      return res;
    };
    const expectStatus = async (res: Promise<Response>, status: number) => {
      const answer = await res;
      expect(answer.status, await answer.clone().text()).toBe(status);
      return answer;
    };

    // A passkey sign-up: JWT cookies.
    const authenticator = createSoftwareAuthenticator({ origin: ORIGIN });
    const reg = (await (await expectStatus(send('/auth/passkeys/register/options', { method: 'POST', json: { email: 'jwt-log@example.com', name: 'Log' } }), 200)).json()) as PublicKeyCredentialCreationOptionsJSON;
    addSecret(reg.challenge);
    await expectStatus(send('/auth/passkeys/register/verify', { method: 'POST', json: { response: authenticator.register(reg) } }), 201);
    const access = jar.get(ACCESS)!.value;
    const firstRefresh = jar.get(REFRESH)!.value;
    // Clients that misbehave: the access token in an Authorization header and in a query string.
    await expectStatus(send('/auth/session', { headers: { authorization: `Bearer ${access}`, 'x-request-id': 'jwt-log-test-1' } }), 200);
    await expectStatus(send(`/auth/session?access_token=${access}&refresh_token=${firstRefresh}`), 200);
    const codes = (await (await expectStatus(send('/auth/recovery-codes', { method: 'POST', json: {} }), 201)).json()) as { codes: string[] };
    for (const code of codes.codes) addSecret(code);
    // New codes rotated the session (SESS-04): a new family, whose first refresh token this is.
    const familyRefresh = jar.get(REFRESH)!.value;
    expect(familyRefresh).not.toBe(firstRefresh);
    // Two refreshes; then the family's first refresh token again, whose successor was rotated since: reuse ends the family (RT-03).
    await expectStatus(send('/auth/token/refresh', { method: 'POST' }), 200);
    await expectStatus(send('/auth/token/refresh', { method: 'POST' }), 200);
    await expectStatus(send('/api/posts'), 200);
    const lastAccess = jar.get(ACCESS)!.value;
    await expectStatus(send('/auth/token/refresh', { method: 'POST', cookie: `${REFRESH}=${familyRefresh}` }), 401);
    await expectStatus(send('/auth/session', { cookie: `${ACCESS}=${lastAccess}` }), 401);
    // A passkey sign-in, a refresh, sign-out.
    const login = (await (await expectStatus(send('/auth/passkeys/login/options', { method: 'POST', json: {} }), 200)).json()) as PublicKeyCredentialRequestOptionsJSON;
    addSecret(login.challenge);
    await expectStatus(send('/auth/passkeys/login/verify', { method: 'POST', json: { response: authenticator.authenticate(login) } }), 200);
    await expectStatus(send('/auth/token/refresh', { method: 'POST' }), 200);
    await expectStatus(send('/auth/sign-out', { method: 'POST' }), 204);
    // A provider sign-in: the callback's query carries the code and state. Then a refresh and sign-out.
    const start = await expectStatus(send('/auth/oauth/oidc'), 302);
    const authorize = await fetch(start.headers.get('location')!, { redirect: 'manual' });
    const callback = new URL(authorize.headers.get('location')!);
    addSecret(callback.searchParams.get('code'));
    addSecret(callback.searchParams.get('state'));
    const signedIn = await send(`${callback.pathname}${callback.search}`, { site: 'cross-site' });
    expect(signedIn.status).toBeGreaterThanOrEqual(300);
    expect(jar.has(ACCESS)).toBe(true);
    await expectStatus(send('/auth/token/refresh', { method: 'POST' }), 200);
    await expectStatus(send('/auth/sign-out', { method: 'POST' }), 204);

    // Stop the process so every line is written out.
    await stopDemo(demo);
    expect(demo.child.exitCode).toBe(0);

    const entries = output.stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    // The audit log (in the database) saw the reuse.
    const database = await openDatabase(databaseUrl);
    const events = await database.kysely.selectFrom('gatehouse_auth_events').selectAll().execute();
    await database.close();
    expect(events.map((e) => e.type)).toContain('refresh_token.reused');

    expect(secrets.size).toBeGreaterThan(25);
    const logs = { 'access and library log (stdout)': output.stdout, stderr: output.stderr, 'audit log': JSON.stringify(events) };
    for (const [where, text] of Object.entries(logs)) {
      for (const secret of secrets) expect(text, `secret ${secret.slice(0, 6)}... in the ${where}`).not.toContain(secret);
    }
    // One access-log line per request, with exactly the fixed fields (plus pino's own), paths without their query.
    const accessLog = entries.filter((e) => e.msg === 'request');
    expect(accessLog).toHaveLength(requests);
    for (const entry of accessLog) expect(Object.keys(entry).sort()).toEqual(['ip', 'level', 'method', 'ms', 'msg', 'path', 'requestId', 'service', 'status', 'time']);
    expect(accessLog.filter((e) => String(e.path).includes('?'))).toEqual([]);
    expect(accessLog.find((e) => e.requestId === 'jwt-log-test-1')).toMatchObject({ path: '/auth/session', status: 200 });
    expect(accessLog.filter((e) => e.path === '/auth/token/refresh').map((e) => e.status)).toEqual([200, 200, 401, 200, 200]);
  }, 60_000);
});
