import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGatehouse, openDatabase, type Database, type Gatehouse } from '../src/index.js';
import { freePort, startDemo, stopDemo, type DemoInstance } from './support/demo-process.js';
import { freshPostgres, hasPostgres, hasRedis, REDIS_URL } from './services.js';

/**
 * Two demo servers (A and B) on one PostgreSQL schema and one Redis, as behind a load
 * balancer. Every change made through A must bind B on its very next request: no
 * instance may keep its own idea of who is signed in, what role they hold, or how many
 * requests a client has left.
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const IP = '127.0.0.1';
/** rate-limiter-flexible stores `<keyPrefix>:<key>`; the key is `ip:<client ip>`. */
const SESSION_LIMIT_KEY = `gatehouse:rl:session:ip:${IP}`;
const SESSION_LIMIT = 600;





/** A same-origin browser request: Fetch Metadata passes the CSRF check, bodies are JSON. */
function call(instance: DemoInstance, path: string, options: { method?: string; cookie?: string; json?: unknown } = {}): Promise<Response> {
  const headers = new Headers({ 'sec-fetch-site': 'same-origin' });
  if (options.cookie !== undefined) headers.set('cookie', options.cookie);
  if (options.json !== undefined) headers.set('content-type', 'application/json');
  const body = options.json === undefined ? undefined : JSON.stringify(options.json);
  return fetch(`${instance.base}${path}`, { method: options.method ?? 'GET', headers, body });
}

async function status(response: Promise<Response>): Promise<number> {
  const res = await response;
  await res.arrayBuffer();
  return res.status;
}

describe.runIf(hasPostgres && hasRedis)('several instances on one PostgreSQL and one Redis', () => {
  let a!: DemoInstance;
  let b!: DemoInstance;
  let pgdb: Awaited<ReturnType<typeof freshPostgres>> | undefined;
  let database: Database | undefined;
  let auth: Gatehouse;
  let redis: Redis;
  let adminCookie: string;
  let emails = 0;

  const clearLimits = async (): Promise<void> => {
    const keys = await redis.keys(`gatehouse:rl:*:ip:${IP}`);
    if (keys.length > 0) await redis.del(...keys);
  };

  /** Creates a user directly in the shared database and signs them in; returns the Cookie header and ids. */
  async function signIn(role: string, userId?: string): Promise<{ cookie: string; userId: string; sessionId: string }> {
    const id = userId ?? (await auth.users.create({ email: `user${++emails}@example.com`, role })).id;
    const { session, headers } = await auth.createSession(id, new Request('http://localhost/x', { method: 'POST' }), { method: 'test' });
    return { cookie: (headers.get('set-cookie') ?? '').split(';')[0]!, userId: id, sessionId: session.id };
  }

  beforeAll(async () => {
    try {
      execFileSync(process.execPath, ['scripts/build.mjs', '--if-needed'], { cwd: ROOT, encoding: 'utf8', stdio: 'pipe' });
    } catch (error) {
      const output = typeof error === 'object' && error !== null && 'stdout' in error ? String(error.stdout) : '';
      throw new Error(`the demo build failed:\n${output}`, { cause: error });
    }
    // demo/authz.ts imports "gatehouse/authz", which may resolve to dist/: load it after the build.
    const { demoAuthz } = await import('../demo/authz.js');
    redis = new Redis(REDIS_URL);
    await clearLimits();
    pgdb = await freshPostgres();
    const portA = await freePort();
    let portB = await freePort();
    while (portB === portA) portB = await freePort();
    const env = { DATABASE_URL: pgdb.url, REDIS_URL, GATEHOUSE_ORIGIN: `http://localhost:${portA}` };
    database = await openDatabase(pgdb.url);
    // Started at the same moment on a fresh schema, as a deploy would: both migrate at once
    // (regression: the demo's CREATE TABLE IF NOT EXISTS raced on PostgreSQL's pg_type key).
    [a, b] = await Promise.all([startDemo(portA, env), startDemo(portB, env)]);
    auth = createGatehouse({ database, origin: env.GATEHOUSE_ORIGIN, authz: demoAuthz, logger: { warn: () => {}, error: () => {} } });
    adminCookie = (await signIn('admin')).cookie;
  });

  afterAll(async () => {
    await Promise.all([stopDemo(a), stopDemo(b)]);
    await auth?.close();
    await database?.close();
    await pgdb?.drop();
    if (redis !== undefined) {
      await clearLimits();
      redis.disconnect();
    }
  });

  it('a session ended through A is refused by B on the next request', async () => {
    const phone = await signIn('member');
    const laptop = await signIn('member', phone.userId);
    expect(await status(call(b, '/auth/session', { cookie: laptop.cookie }))).toBe(200);

    // The user ends the laptop's session from the phone, through A.
    expect(await status(call(a, `/auth/sessions/${laptop.sessionId}`, { method: 'DELETE', cookie: phone.cookie }))).toBe(204);
    expect(await status(call(b, '/auth/session', { cookie: laptop.cookie }))).toBe(401);
    expect(await status(call(b, '/api/posts', { cookie: laptop.cookie }))).toBe(401);
    expect(await status(call(b, '/auth/session', { cookie: phone.cookie }))).toBe(200);

    // An admin ends every session of the user, through A.
    const revoked = await call(a, `/auth/admin/users/${phone.userId}/revoke-sessions`, { method: 'POST', cookie: adminCookie });
    expect(revoked.status).toBe(200);
    expect(await revoked.json()).toEqual({ revoked: 1 });
    expect(await status(call(b, '/auth/session', { cookie: phone.cookie }))).toBe(401);
    expect(await status(call(b, '/api/posts', { cookie: phone.cookie }))).toBe(401);
  });

  it('a demotion through A takes the right away on B at once, keeping the session', async () => {
    const editor = await signIn('editor');
    const post = { json: { title: 'Hello', body: 'From B' }, method: 'POST', cookie: editor.cookie };
    expect(await status(call(b, '/api/posts', post))).toBe(201);

    const patched = await call(a, `/auth/admin/users/${editor.userId}`, { method: 'PATCH', cookie: adminCookie, json: { role: 'member' } });
    expect(patched.status).toBe(200);
    expect(await status(call(b, '/api/posts', post))).toBe(403);
    const session = await call(b, '/auth/session', { cookie: editor.cookie });
    expect(session.status).toBe(200);
    expect(await session.json()).toMatchObject({ user: { id: editor.userId, role: 'member' } });
  });

  it('a promotion through A ends the old session on B; only a fresh one gets the new right', async () => {
    const member = await signIn('member');
    const post = { json: { title: 'Hello', body: 'From B' }, method: 'POST' };
    expect(await status(call(b, '/api/posts', { ...post, cookie: member.cookie }))).toBe(403);

    const patched = await call(a, `/auth/admin/users/${member.userId}`, { method: 'PATCH', cookie: adminCookie, json: { role: 'editor' } });
    expect(patched.status).toBe(200);
    expect(await status(call(b, '/api/posts', { ...post, cookie: member.cookie }))).toBe(401);
    expect(await status(call(b, '/auth/session', { cookie: member.cookie }))).toBe(401);

    const fresh = await signIn('editor', member.userId);
    expect(await status(call(b, '/api/posts', { ...post, cookie: fresh.cookie }))).toBe(201);
  });

  it('disabling a user through A signs them out on B at once, and enabling does not revive the session', async () => {
    const user = await signIn('member');
    expect(await status(call(b, '/api/posts', { cookie: user.cookie }))).toBe(200);

    const disable = { method: 'PATCH', cookie: adminCookie, json: { disabled: true } };
    expect(await status(call(a, `/auth/admin/users/${user.userId}`, disable))).toBe(200);
    expect(await status(call(b, '/auth/session', { cookie: user.cookie }))).toBe(401);
    expect(await status(call(b, '/api/posts', { cookie: user.cookie }))).toBe(401);

    const enable = { method: 'PATCH', cookie: adminCookie, json: { disabled: false } };
    expect(await status(call(a, `/auth/admin/users/${user.userId}`, enable))).toBe(200);
    expect(await status(call(b, '/auth/session', { cookie: user.cookie }))).toBe(401);
  });

  it('the session rate limit is one budget in Redis, shared by A and B', async () => {
    // Each demo opens its Redis connection on its first limited request, and requests made
    // before that connection is ready fall to the per-instance in-memory fallback (a bug in
    // src/protect/rate-limit.ts). Wait until each instance's requests land in Redis.
    for (const instance of [a, b]) {
      for (let attempt = 0; ; attempt++) {
        const before = Number((await redis.get(SESSION_LIMIT_KEY)) ?? 0);
        await status(call(instance, '/auth/session'));
        if (Number((await redis.get(SESSION_LIMIT_KEY)) ?? 0) === before + 1) break;
        if (attempt > 50) throw new Error(`${instance.base} never counted a request in Redis:\n${instance.output()}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
    await clearLimits();

    // 700 requests alternating A, B, A, ... 20 at a time. Per-instance counters would
    // let all 700 through; one shared counter lets exactly 600 through.
    const total = 700;
    const fromA: number[] = [];
    const fromB: number[] = [];
    let limited: Response | undefined;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < total) {
        const toA = next++ % 2 === 0;
        const res = await call(toA ? a : b, '/auth/session');
        (toA ? fromA : fromB).push(res.status);
        if (res.status === 429) limited ??= res.clone();
        await res.arrayBuffer();
      }
    };
    await Promise.all(Array.from({ length: 20 }, worker));

    const all = [...fromA, ...fromB];
    expect(all.filter((s) => s === 401)).toHaveLength(SESSION_LIMIT);
    expect(all.filter((s) => s === 429)).toHaveLength(total - SESSION_LIMIT);
    // Both instances refuse: each one saw the other's spending.
    expect(fromA).toContain(429);
    expect(fromB).toContain(429);

    expect(limited).toBeDefined();
    const retryAfter = Number(limited!.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    const body: unknown = await limited!.json();
    expect(body).toEqual({ error: { code: 'RATE_LIMITED', message: expect.any(String) } });

    // The demo's own /api routes spend the same budget: a signed-in reader is refused on B too.
    const reader = await signIn('member');
    expect(await status(call(b, '/api/posts', { cookie: reader.cookie }))).toBe(429);
    expect(await status(call(a, '/api/posts', { cookie: reader.cookie }))).toBe(429);
  });
});
