import { execFileSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGatehouse, openDatabase, type Database, type Gatehouse } from '../src/index.js';
import { ACCESS, cookiesOf, JWT_SECRET, REFRESH } from './jwt-helpers.js';
import { freePort, startDemo, stopDemo, type DemoInstance } from './support/demo-process.js';
import { freshPostgres, hasPostgres, hasRedis, REDIS_URL, redisPrefix } from './services.js';

/**
 * Two demo servers in JWT mode (GATEHOUSE_SESSION_STRATEGY=jwt) on one PostgreSQL schema
 * and one Redis, as behind a load balancer. A revocation made through A refuses the old
 * access JWT on B's very next request, without B querying the database per request; the
 * propagation time is measured and printed.
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const HOST = '127.0.0.1';
// Our own client IP (through the trusted proxy header), so our rate-limit keys never meet another test's.
const CLIENT_IP = `198.51.100.${randomInt(1, 254)}`;





function call(instance: DemoInstance, path: string, options: { method?: string; cookie?: string; json?: unknown } = {}): Promise<Response> {
  const headers = new Headers({ 'sec-fetch-site': 'same-origin', 'x-forwarded-for': CLIENT_IP });
  if (options.cookie !== undefined) headers.set('cookie', options.cookie);
  if (options.json !== undefined) headers.set('content-type', 'application/json');
  return fetch(`${instance.base}${path}`, { method: options.method ?? 'GET', headers, body: options.json === undefined ? undefined : JSON.stringify(options.json) });
}

async function status(response: Promise<Response>): Promise<number> {
  const res = await response;
  await res.arrayBuffer();
  return res.status;
}

async function code(response: Promise<Response>): Promise<string> {
  const body = (await (await response).json()) as { error?: { code?: string } };
  return body.error?.code ?? '';
}

describe.runIf(hasPostgres && hasRedis)('JWT mode on two instances (PostgreSQL + Redis)', () => {
  let a!: DemoInstance;
  let b!: DemoInstance;
  let pgdb: Awaited<ReturnType<typeof freshPostgres>> | undefined;
  let database: Database | undefined;
  let auth: Gatehouse;
  let admin: { cookie: string };
  let emails = 0;
  const channel = `gh_${redisPrefix()}`;

  async function signIn(role: string, userId?: string): Promise<{ cookie: string; refresh: string; userId: string; sessionId: string }> {
    const id = userId ?? (await auth.users.create({ email: `jwt${++emails}@example.com`, role })).id;
    const { session, headers } = await auth.createSession(id, new Request('http://localhost/x', { method: 'POST' }), { method: 'test' });
    const { values } = cookiesOf(headers);
    return { cookie: `${ACCESS}=${values[ACCESS]!}`, refresh: values[REFRESH]!, userId: id, sessionId: session.id };
  }

  beforeAll(async () => {
    execFileSync(process.execPath, ['scripts/build.mjs', '--if-needed'], { cwd: ROOT, encoding: 'utf8', stdio: 'pipe' });
    const { demoAuthz } = await import('../demo/authz.js');
    pgdb = await freshPostgres();
    const [portA, portB] = [await freePort(), await freePort()];
    const env = {
      DATABASE_URL: pgdb.url,
      REDIS_URL,
      GATEHOUSE_ORIGIN: `http://localhost:${portA}`,
      GATEHOUSE_SESSION_STRATEGY: 'jwt',
      GATEHOUSE_JWT_SECRET: JWT_SECRET,
      GATEHOUSE_JWT_CHANNEL: channel,
      TRUSTED_PROXIES: HOST,
    };
    database = await openDatabase(pgdb.url);
    [a, b] = await Promise.all([startDemo(portA, env), startDemo(portB, env)]);
    auth = createGatehouse({
      database,
      origin: env.GATEHOUSE_ORIGIN,
      authz: demoAuthz,
      logger: { warn: () => {}, error: () => {} },
      session: { strategy: 'jwt' },
      jwt: { secret: JWT_SECRET, redis: REDIS_URL, channel },
    });
    admin = await signIn('admin');
    // Both instances load keys and join the feed on their first request.
    expect(await status(call(a, '/auth/session', { cookie: admin.cookie }))).toBe(200);
    expect(await status(call(b, '/auth/session', { cookie: admin.cookie }))).toBe(200);
  });

  afterAll(async () => {
    await Promise.all([stopDemo(a), stopDemo(b)]);
    await auth?.close();
    await database?.close();
    await pgdb?.drop();
  });

  it('a session ended through A is refused by B on the very next request; propagation is well under 1 s', async () => {
    const times: number[] = [];
    for (let round = 0; round < 5; round++) {
      const phone = await signIn('member');
      const laptop = await signIn('member', phone.userId);
      expect(await status(call(b, '/api/posts', { cookie: laptop.cookie }))).toBe(200);
      // B is asked continuously while A ends the laptop's session.
      const started = performance.now();
      let refusedAt: number | undefined;
      let stop = false;
      const watcher = (async () => {
        while (!stop) {
          if ((await status(call(b, '/api/posts', { cookie: laptop.cookie }))) === 401) {
            refusedAt = performance.now();
            return;
          }
        }
      })();
      expect(await status(call(a, `/auth/sessions/${laptop.sessionId}`, { method: 'DELETE', cookie: phone.cookie }))).toBe(204);
      const answeredAt = performance.now();
      // The very next request on B after A answered.
      expect(await status(call(b, '/api/posts', { cookie: laptop.cookie }))).toBe(401);
      await Promise.race([watcher, new Promise((resolve) => setTimeout(resolve, 2000))]);
      stop = true;
      expect(refusedAt).toBeDefined();
      times.push(refusedAt! - started);
      expect(refusedAt! - answeredAt).toBeLessThan(1000);
      expect(await status(call(b, '/api/posts', { cookie: phone.cookie }))).toBe(200);
    }
    console.log(`[jwt multi-instance] revoke request sent to A -> first refusal on B: ${times.map((t) => t.toFixed(1)).join(', ')} ms (max ${Math.max(...times).toFixed(1)} ms)`);
    expect(Math.max(...times)).toBeLessThan(1000);
  });

  it('AUTHZ-05/SESS-09: a demotion through A makes B refuse the old JWT (refresh on B gives the new role); disable and sign-out bind the other instance too', async () => {
    const boss = await signIn('admin');
    const editor = await signIn('editor');
    const post = { json: { title: 'Hi', body: 'From B' }, method: 'POST' };
    expect(await status(call(a, `/auth/admin/users/${editor.userId}`, { method: 'PATCH', cookie: boss.cookie, json: { role: 'member' } }))).toBe(200);
    const stale = call(b, '/api/posts', { ...post, cookie: editor.cookie });
    expect(await code(stale)).toBe('ACCESS_TOKEN_EXPIRED');
    const refreshed = await fetch(`${b.base}/auth/token/refresh`, { method: 'POST', headers: { cookie: `${REFRESH}=${editor.refresh}`, 'sec-fetch-site': 'same-origin', 'x-forwarded-for': CLIENT_IP } });
    expect(refreshed.status).toBe(200);
    const fresh = `${ACCESS}=${cookiesOf(refreshed.headers).values[ACCESS]!}`;
    expect(await status(call(b, '/api/posts', { ...post, cookie: fresh }))).toBe(403);
    expect(await status(call(a, '/api/posts', { cookie: fresh }))).toBe(200);

    const user = await signIn('member');
    expect(await status(call(a, `/auth/admin/users/${user.userId}`, { method: 'PATCH', cookie: boss.cookie, json: { disabled: true } }))).toBe(200);
    expect(await status(call(b, '/auth/session', { cookie: user.cookie }))).toBe(401);

    const other = await signIn('member');
    expect(await status(call(b, '/auth/sign-out', { method: 'POST', cookie: other.cookie }))).toBe(204);
    expect(await status(call(a, '/auth/session', { cookie: other.cookie }))).toBe(401);
  });

  it('RT-04 across instances: 50 parallel refreshes split over A and B yield one successor', async () => {
    const user = await signIn('member');
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        fetch(`${(i % 2 === 0 ? a : b).base}/auth/token/refresh`, { method: 'POST', headers: { cookie: `${REFRESH}=${user.refresh}`, 'sec-fetch-site': 'same-origin', 'x-forwarded-for': CLIENT_IP } }),
      ),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(50).fill(200));
    expect(new Set(responses.map((r) => cookiesOf(r.headers).values[REFRESH])).size).toBe(1);
    const rows = await database!.kysely.selectFrom('gatehouse_refresh_tokens').select('id').where('family_id', '=', user.sessionId).execute();
    expect(rows).toHaveLength(2);
  });
});
