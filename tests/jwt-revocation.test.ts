import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGatehouse, openDatabase, type Database, type Gatehouse, type SessionResult } from '../src/index.js';
import { ORIGIN, testAuthz, type TestInstance } from './helpers.js';
import { ACCESS, codeOf, cookiesOf, getJwtInstance, JWT_SECRET, jwtSignIn, refresh, REFRESH, REFRESHABLE, type JwtSignIn } from './jwt-helpers.js';
import { sql } from 'kysely';
import { freshPostgres, hasPostgres, hasRedis, PG_URL, REDIS_URL, redisPrefix } from './services.js';

/**
 * SESS-07, SESS-09, AUTHZ-05 in JWT mode: sign-out, session revocation, revoke-all, a role
 * change and a disable refuse the unexpired access JWT on the very next request, on every
 * instance, without a database query per request; when the feed is down, each request
 * checks the database instead (fail closed).
 */
const quiet = { warn: () => {}, error: (message: string, details?: unknown) => console.log('[gatehouse error]', message, details) };

describe('on one instance (SQLite, in-process feed)', () => {
  let t: TestInstance;
  let owner: JwtSignIn;
  beforeAll(async () => {
    t = await getJwtInstance();
    owner = await jwtSignIn(t, 'owner@example.com', 'owner');
  });
  afterAll(async () => {
    await t.close();
  });
  const session = (s: JwtSignIn) => t.request('/auth/session', { cookie: s.cookie });

  it('SESS-07 sign-out ends the session, the refresh family and the access JWT, and clears every cookie', async () => {
    const s = await jwtSignIn(t, 'out@example.com');
    expect((await session(s)).status).toBe(200);
    const res = await t.request('/auth/sign-out', { method: 'POST', cookie: s.cookie });
    expect(res.status).toBe(204);
    const { lines } = cookiesOf(res.headers);
    for (const name of [ACCESS, REFRESH, REFRESHABLE]) expect(lines[name]).toContain('Max-Age=0');
    expect(lines[REFRESH]).toContain('Path=/auth/token/refresh');
    expect(await t.database.kysely.selectFrom('gatehouse_sessions').select('id').where('id', '=', s.sessionId).executeTakeFirst()).toBeUndefined();
    expect(await t.database.kysely.selectFrom('gatehouse_refresh_tokens').select('id').where('family_id', '=', s.sessionId).execute()).toHaveLength(0);
    const after = await session(s);
    expect(after.status).toBe(401);
    expect(await codeOf(after)).toBe('UNAUTHENTICATED');
    expect((await refresh(t, s.refresh)).status).toBe(401);
  });

  it('SESS-07 sign-out with an expired access token still ends the session', async () => {
    const s = await jwtSignIn(t, 'late-out@example.com');
    t.clock.advance(20 * 60_000);
    try {
      expect(await codeOf(await session(s))).toBe('ACCESS_TOKEN_EXPIRED');
      expect((await t.request('/auth/sign-out', { method: 'POST', cookie: s.cookie })).status).toBe(204);
      expect(await t.database.kysely.selectFrom('gatehouse_sessions').select('id').where('id', '=', s.sessionId).executeTakeFirst()).toBeUndefined();
      expect((await refresh(t, s.refresh)).status).toBe(401);
    } finally {
      t.clock.advance(-20 * 60_000);
    }
  });

  it('SESS-07 sign-out after the browser dropped the expired access cookie: the browser marker still names the session', async () => {
    const s = await jwtSignIn(t, 'idle-out@example.com');
    const marker = cookiesOf(new Headers(s.setCookie.map((c) => ['set-cookie', c] as [string, string]))).values[REFRESHABLE]!;
    t.clock.advance(20 * 60_000);
    try {
      // What a browser sends to /auth/sign-out after 20 idle minutes: no access cookie (Max-Age ran out), no refresh cookie (its Path).
      expect((await t.request('/auth/sign-out', { method: 'POST', cookie: `${REFRESHABLE}=${marker}` })).status).toBe(204);
      expect(await t.database.kysely.selectFrom('gatehouse_sessions').select('id').where('id', '=', s.sessionId).executeTakeFirst()).toBeUndefined();
      expect((await refresh(t, s.refresh)).status).toBe(401);
      const [event] = await (await t.auth.storage()).listEvents({ limit: 1, type: 'session.signed_out' });
      expect(event).toMatchObject({ userId: s.userId, sessionId: s.sessionId });
    } finally {
      t.clock.advance(-20 * 60_000);
    }
  });

  it('SESS-08/09 ending one device from another refuses that device at once; revoke-all refuses all', async () => {
    const phone = await jwtSignIn(t, 'two@example.com');
    const laptop = await jwtSignIn(t, 'two@example.com');
    const list = await t.request('/auth/sessions', { cookie: phone.cookie });
    expect(list.status).toBe(200);
    expect(((await list.json()) as { sessions: unknown[] }).sessions).toHaveLength(2);
    expect((await t.request(`/auth/sessions/${laptop.sessionId}`, { method: 'DELETE', cookie: phone.cookie })).status).toBe(204);
    expect((await session(laptop)).status).toBe(401);
    expect((await session(phone)).status).toBe(200);
    const third = await jwtSignIn(t, 'two@example.com');
    const all = await t.request('/auth/sessions/revoke-all', { method: 'POST', cookie: third.cookie });
    expect(all.status).toBe(204);
    expect((await session(phone)).status).toBe(401);
    expect((await session(third)).status).toBe(401);
  });

  it('SESS-09 an admin disabling a user or ending their sessions refuses their access JWT on the next request', async () => {
    const a = await jwtSignIn(t, 'dis@example.com');
    const b = await jwtSignIn(t, 'rev@example.com');
    expect((await t.request(`/auth/admin/users/${a.userId}`, { method: 'PATCH', cookie: owner.cookie, body: JSON.stringify({ disabled: true }) })).status).toBe(200);
    expect((await session(a)).status).toBe(401);
    expect((await refresh(t, a.refresh)).status).toBe(401);
    expect((await t.request(`/auth/admin/users/${b.userId}/revoke-sessions`, { method: 'POST', cookie: owner.cookie })).status).toBe(200);
    expect((await session(b)).status).toBe(401);
    expect((await refresh(t, b.refresh)).status).toBe(401);
  });

  it('AUTHZ-05 a demoted admin is refused before the refresh, and the refreshed token carries the lower role', async () => {
    const admin = await jwtSignIn(t, 'demoted@example.com', 'admin');
    expect((await t.request('/auth/admin/users', { cookie: admin.cookie })).status).toBe(200);
    const patched = await t.request(`/auth/admin/users/${admin.userId}`, { method: 'PATCH', cookie: owner.cookie, body: JSON.stringify({ role: 'member' }) });
    expect(patched.status).toBe(200);
    // The unexpired JWT still says "admin": it is refused at once, as stale (refresh and retry).
    const stale = await t.request('/auth/admin/users', { cookie: admin.cookie });
    expect(stale.status).toBe(401);
    expect(await codeOf(stale)).toBe('ACCESS_TOKEN_EXPIRED');
    await expect(t.auth.requirePermission(new Request(`${ORIGIN}/api`, { headers: { cookie: admin.cookie } }), 'posts:write')).rejects.toMatchObject({ code: 'ACCESS_TOKEN_EXPIRED' });
    const refreshed = await refresh(t, admin.refresh);
    expect(refreshed.status).toBe(200);
    const cookie = `${ACCESS}=${cookiesOf(refreshed.headers).values[ACCESS]!}`;
    expect((await t.request('/auth/admin/users', { cookie })).status).toBe(403);
    const result: SessionResult = await t.auth.requireSession(new Request(`${ORIGIN}/api`, { headers: { cookie } }));
    expect(result.user.role).toBe('member');
  });

  it('AUTHZ-05 a demotion that lands while a refresh is between reading the user and signing: the new token carries the lower role', async () => {
    const admin = await jwtSignIn(t, 'raced@example.com', 'admin');
    const store = await t.auth.storage();
    const original = store.findUserRevokedAt.bind(store);
    let armed = true;
    // The refresh has read the session and the user ("admin"); the demotion commits right now, before the token is signed.
    store.findUserRevokedAt = async (userId, at) => {
      if (armed) {
        armed = false;
        await t.auth.users.setRole(userId, 'member', { userId: null, role: null });
      }
      return original(userId, at);
    };
    try {
      const refreshed = await refresh(t, admin.refresh);
      expect(refreshed.status).toBe(200);
      expect(((await refreshed.json()) as { user: { role: string } }).user.role).toBe('member');
      const cookie = `${ACCESS}=${cookiesOf(refreshed.headers).values[ACCESS]!}`;
      // Signed "admin" with an issue time after the demotion, the token passed every check for 15 minutes.
      expect((await t.request('/auth/admin/users', { cookie })).status).toBe(403);
    } finally {
      store.findUserRevokedAt = original;
    }
  });

  it('a promotion ends the sessions (SESS-04): the old JWT and refresh token are dead, a new sign-in gets the role', async () => {
    const member = await jwtSignIn(t, 'promoted@example.com', 'member');
    expect((await t.request(`/auth/admin/users/${member.userId}`, { method: 'PATCH', cookie: owner.cookie, body: JSON.stringify({ role: 'editor' }) })).status).toBe(200);
    expect((await session(member)).status).toBe(401);
    expect((await refresh(t, member.refresh)).status).toBe(401);
    const again = await jwtSignIn(t, 'promoted@example.com');
    expect(await (await session(again)).json()).toMatchObject({ user: { role: 'editor' } });
  });
});

/** Two Gatehouse instances on one database, as two processes would be. */
async function pair(databaseUrl: string, feed: { a?: string; b?: string; channel: string }): Promise<{ a: Gatehouse; b: Gatehouse; dbs: Database[] }> {
  const dbs = [await openDatabase(databaseUrl), await openDatabase(databaseUrl)];
  const make = (database: Database, redis?: string) =>
    createGatehouse({ database, origin: ORIGIN, authz: testAuthz, logger: quiet, session: { strategy: 'jwt' }, jwt: { secret: JWT_SECRET, redis, channel: feed.channel } });
  const a = make(dbs[0]!, feed.a);
  const b = make(dbs[1]!, feed.b);
  await a.migrate();
  return { a, b, dbs };
}

async function signInOn(auth: Gatehouse, email: string): Promise<{ cookie: string; sessionId: string; userId: string }> {
  const user = await auth.users.create({ email });
  const { session, headers } = await auth.createSession(user.id, new Request(`${ORIGIN}/x`, { method: 'POST' }), { method: 'test' });
  return { cookie: `${ACCESS}=${cookiesOf(headers).values[ACCESS]!}`, sessionId: session.id, userId: user.id };
}

const get = (auth: Gatehouse, cookie: string) =>
  auth.handler(new Request(`${ORIGIN}/auth/session`, { headers: { cookie, 'sec-fetch-site': 'same-origin' } }), { ip: '203.0.113.9' });

async function waitFor(check: () => boolean, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * Revokes on A, then asks B until it refuses; returns the milliseconds from the revoke call
 * to B's first refusal. Both instances share this process's event loop, so the loop yields
 * between requests: a request answered from memory alone would otherwise never let B read
 * its feed socket. (Separate processes: tests/multi-instance-jwt.test.ts.)
 */
async function propagation(a: Gatehouse, b: Gatehouse, who: { cookie: string; sessionId: string }): Promise<number> {
  expect((await get(b, who.cookie)).status).toBe(200);
  const started = performance.now();
  expect(await (await a.storage()).deleteSession(who.sessionId)).toBe(true);
  while ((await get(b, who.cookie)).status !== 401) {
    if (performance.now() - started > 5000) throw new Error('B never refused');
    await new Promise((resolve) => setImmediate(resolve));
  }
  return performance.now() - started;
}

/** B's answer once its feed had a chance to deliver (see propagation). */
async function settled(b: Gatehouse, cookie: string, expected: number): Promise<number> {
  const until = performance.now() + 2000;
  let status = (await get(b, cookie)).status;
  while (status !== expected && performance.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 5));
    status = (await get(b, cookie)).status;
  }
  return status;
}

describe('fail closed: an instance whose feed is down checks the database on every request', () => {
  let dir: string;
  let a: Gatehouse;
  let b: Gatehouse;
  let dbs: Database[] = [];
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-jwt-'));
    // A: in-process feed (SQLite). B: a Redis feed that can never connect.
    ({ a, b, dbs } = await pair(`sqlite:${join(dir, 'db.sqlite')}`, { b: 'redis://127.0.0.1:1', channel: `gh_${redisPrefix()}` }));
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    for (const db of dbs) await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('B never hears A, yet refuses the revoked token on the next request', async () => {
    const user = await signInOn(a, 'closed@example.com');
    expect((await get(b, user.cookie)).status).toBe(200);
    expect(b.jwt!.feedHealthy()).toBe(false);
    expect(a.jwt!.feedHealthy()).toBe(true);
    expect(await (await a.storage()).deleteSession(user.sessionId)).toBe(true);
    expect((await get(b, user.cookie)).status).toBe(401);
  });

  it('B sees a role change through the database as stale', async () => {
    const user = await signInOn(a, 'closed-role@example.com');
    expect((await get(b, user.cookie)).status).toBe(200);
    await a.users.setRole(user.userId, 'editor', { userId: null, role: null });
    const res = await get(b, user.cookie);
    expect(res.status).toBe(401);
    expect(await codeOf(res)).toBe('UNAUTHENTICATED'); // raising a role ends the sessions
  });

  it('a healthy instance does not query the database per request (a row deleted behind its back is not seen)', async () => {
    const user = await signInOn(a, 'healthy@example.com');
    expect((await get(a, user.cookie)).status).toBe(200);
    await dbs[0]!.kysely.deleteFrom('gatehouse_sessions').where('id', '=', user.sessionId).execute();
    // Only Gatehouse's own revocations count on the fast path; this is why every session end goes through the storage wrapper.
    expect((await get(a, user.cookie)).status).toBe(200);
    expect((await get(b, user.cookie)).status).toBe(401);
  });

  it('the database check fails closed: a broken database is 503 on B, never 200', async () => {
    const user = await signInOn(a, 'broken@example.com');
    expect((await get(b, user.cookie)).status).toBe(200);
    // B's database connection goes away (its last test: B is not used after this).
    await dbs[1]!.close();
    const res = await get(b, user.cookie);
    expect(res.status).toBe(503);
    expect(await codeOf(res)).toBe('SERVICE_UNAVAILABLE');
  });
});

const feeds = [
  { name: 'PostgreSQL LISTEN/NOTIFY', enabled: hasPostgres, redis: undefined },
  { name: 'Redis pub/sub', enabled: hasPostgres && hasRedis, redis: REDIS_URL },
];
for (const feed of feeds) {
  describe.runIf(feed.enabled)(`two instances on PostgreSQL, revocations through ${feed.name}`, () => {
    let a: Gatehouse;
    let b: Gatehouse;
    let dbs: Database[] = [];
    let drop: () => Promise<void>;
    const channel = `gh_${redisPrefix()}`;
    beforeAll(async () => {
      const pg = await freshPostgres();
      drop = pg.drop;
      ({ a, b, dbs } = await pair(pg.url, { a: feed.redis, b: feed.redis, channel }));
      await a.jwt!.ready();
      await b.jwt!.ready();
      await waitFor(() => a.jwt!.feedHealthy() && b.jwt!.feedHealthy());
    });
    afterAll(async () => {
      await a.close();
      await b.close();
      for (const db of dbs) await db.close();
      await drop();
    });

    it('a session ended on A is refused by B on the next request, in well under a second', async () => {
      const times: number[] = [];
      for (let i = 0; i < 5; i++) times.push(await propagation(a, b, await signInOn(a, `p${i}@example.com`)));
      console.log(`[jwt] ${feed.name}: revoke on A -> refused on B in ${times.map((t) => t.toFixed(1)).join(', ')} ms`);
      expect(Math.max(...times)).toBeLessThan(1000);
    });

    it('a role change on A makes B refuse the old token as stale', async () => {
      const user = await signInOn(a, 'demote@example.com');
      await a.users.setRole(user.userId, 'editor', { userId: null, role: null }); // promotion ends the session
      const again = await a.createSession(user.userId, new Request(`${ORIGIN}/x`, { method: 'POST' }), { method: 'test' });
      const cookie = `${ACCESS}=${cookiesOf(again.headers).values[ACCESS]!}`;
      expect((await get(b, cookie)).status).toBe(200);
      await a.users.setRole(user.userId, 'member', { userId: null, role: null });
      expect(await settled(b, cookie, 401)).toBe(401);
      expect(await codeOf(await get(b, cookie))).toBe('ACCESS_TOKEN_EXPIRED');
    });

    it.runIf(feed.redis !== undefined)('when B loses the feed it checks the database (fail closed), then catches up and trusts the feed again', async () => {
      const { Redis } = await import('ioredis');
      const admin = new Redis(REDIS_URL);
      try {
        const user = await signInOn(a, 'dropped@example.com');
        expect((await get(b, user.cookie)).status).toBe(200);
        // Kill only the feed connections of this test's channel (A's and B's subscribers).
        const list = String(await admin.client('LIST'));
        const ids = list.split('\n').filter((line) => line.includes(`name=gatehouse_feed_${channel} `)).map((line) => /id=(\d+)/.exec(line)?.[1]);
        expect(ids.length).toBe(2);
        for (const id of ids) await admin.client('KILL', 'ID', id!);
        await waitFor(() => !b.jwt!.feedHealthy());
        // Revoked on A while B hears nothing: B refuses through the database.
        expect(await (await a.storage()).deleteSession(user.sessionId)).toBe(true);
        expect((await get(b, user.cookie)).status).toBe(401);
        // The connection comes back; B reloads the revocations and trusts the feed again.
        await waitFor(() => b.jwt!.feedHealthy() && a.jwt!.feedHealthy(), 10_000);
        expect((await get(b, user.cookie)).status).toBe(401);
        const next = await signInOn(a, 'after-drop@example.com');
        expect((await get(b, next.cookie)).status).toBe(200);
        expect(await (await a.storage()).deleteSession(next.sessionId)).toBe(true);
        expect(await settled(b, next.cookie, 401)).toBe(401);
      } finally {
        admin.disconnect();
      }
    });

    it.runIf(feed.redis === undefined)('when B loses its LISTEN connection it checks the database (fail closed), then reconnects and catches up', async () => {
      const admin = await openDatabase(PG_URL);
      try {
        const user = await signInOn(a, 'pg-dropped@example.com');
        expect((await get(b, user.cookie)).status).toBe(200);
        // Terminate only this test's LISTEN connections (both instances).
        const { rows } = await sql<{ ok: boolean }>`select pg_terminate_backend(pid) as ok from pg_stat_activity where application_name = ${`gatehouse_feed_${channel}`}`.execute(admin.kysely);
        expect(rows.length).toBe(2);
        await waitFor(() => !b.jwt!.feedHealthy());
        expect(await (await a.storage()).deleteSession(user.sessionId)).toBe(true);
        expect((await get(b, user.cookie)).status).toBe(401);
        await waitFor(() => b.jwt!.feedHealthy() && a.jwt!.feedHealthy(), 15_000);
        expect((await get(b, user.cookie)).status).toBe(401);
        const next = await signInOn(a, 'pg-after-drop@example.com');
        expect((await get(b, next.cookie)).status).toBe(200);
        expect(await (await a.storage()).deleteSession(next.sessionId)).toBe(true);
        expect(await settled(b, next.cookie, 401)).toBe(401);
      } finally {
        await admin.close();
      }
    });

    it('a key rotated on A verifies on B (unknown kid -> reload)', async () => {
      await a.jwt!.rotateKeys();
      const user = await signInOn(a, 'rotated@example.com');
      expect((await get(b, user.cookie)).status).toBe(200);
    });
  });
}

