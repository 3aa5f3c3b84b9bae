import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../src/lib/crypto.js';
import type { TestInstance } from './helpers.js';
import { ACCESS, codeOf, cookiesOf, getJwtInstance, jwtSignIn, refresh, REFRESH, REFRESHABLE } from './jwt-helpers.js';
import { freshPostgres, hasPostgres } from './services.js';

/**
 * RT-01..06 on every database: rotation, reuse detection, the grace window under 50
 * parallel refreshes, the family's absolute lifetime, account state re-read on refresh.
 */
const databases = [
  { name: 'sqlite', enabled: true, open: async () => ({ url: 'sqlite::memory:', drop: async () => {} }) },
  { name: 'postgres', enabled: hasPostgres, open: freshPostgres },
];

for (const db of databases) {
  describe.runIf(db.enabled)(`refresh tokens on ${db.name}`, () => {
    let t: TestInstance;
    let drop: () => Promise<void> = async () => {};
    beforeAll(async () => {
      const opened = await db.open();
      drop = opened.drop;
      t = await getJwtInstance({ databaseUrl: opened.url });
    });
    afterAll(async () => {
      await t.close();
      await drop();
    });

    const tokenRows = async (familyId: string) => {
      const { kysely } = t.database;
      return kysely.selectFrom('gatehouse_refresh_tokens').selectAll().where('family_id', '=', familyId).orderBy('created_at').execute();
    };
    const sessionRow = async (id: string) => t.database.kysely.selectFrom('gatehouse_sessions').selectAll().where('id', '=', id).executeTakeFirst();

    it('RT-01 only the hash is stored, bound to user, session and family; the token has 128+ bit parts', async () => {
      const s = await jwtSignIn(t, 'rt01@example.com');
      const rows = await tokenRows(s.sessionId);
      expect(rows).toHaveLength(1);
      const [id, secret] = s.refresh.split('.');
      expect(rows[0]).toMatchObject({ id, family_id: s.sessionId, user_id: s.userId, parent_id: null, secret_hash: sha256(secret!), rotated_at: null });
      expect(Buffer.from(secret!, 'base64url')).toHaveLength(32);
      const dump = JSON.stringify(rows);
      expect(dump).not.toContain(secret);
    });

    it('RT-02 a refresh rotates: new refresh token and access JWT, the presented one is marked rotated', async () => {
      const s = await jwtSignIn(t, 'rt02@example.com');
      t.clock.advance(60_000);
      const res = await refresh(t, s.refresh);
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
      const { values, lines } = cookiesOf(res.headers);
      expect(values[REFRESH]).toMatch(/^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);
      expect(values[REFRESH]).not.toBe(s.refresh);
      expect(values[ACCESS]).not.toBe(s.access);
      expect(lines[REFRESH]).toContain('Path=/auth/token/refresh');
      const body = (await res.json()) as { user: { id: string }; session: { id: string } };
      expect(body.user.id).toBe(s.userId);
      expect(body.session.id).toBe(s.sessionId);
      expect(JSON.stringify(body)).not.toContain(values[REFRESH]!);
      const rows = await tokenRows(s.sessionId);
      expect(rows).toHaveLength(2);
      expect(Number(rows[0]!.rotated_at)).toBe(t.clock.now);
      expect(rows[1]).toMatchObject({ parent_id: rows[0]!.id, family_id: s.sessionId, rotated_at: null });
      // The new access token works.
      expect((await t.request('/auth/session', { cookie: `${ACCESS}=${values[ACCESS]!}` })).status).toBe(200);
    });

    it('RT-03 reuse of a rotated token after the grace window revokes the family and its session, and is logged', async () => {
      const s = await jwtSignIn(t, 'rt03@example.com');
      const first = await refresh(t, s.refresh);
      const second = cookiesOf(first.headers).values;
      expect(first.status).toBe(200);
      t.clock.advance(11_000); // past the 10 s grace window
      const replay = await refresh(t, s.refresh);
      expect(replay.status).toBe(401);
      expect(await codeOf(replay)).toBe('UNAUTHENTICATED');
      expect(cookiesOf(replay.headers).lines[REFRESH]).toContain('Max-Age=0');
      // [DB] the whole family and its session are gone.
      expect(await tokenRows(s.sessionId)).toHaveLength(0);
      expect(await sessionRow(s.sessionId)).toBeUndefined();
      const events = await (await t.auth.storage()).listEvents({ limit: 5, userId: s.userId, type: 'refresh_token.reused' });
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ sessionId: s.sessionId });
      // The legitimate holder's newer tokens are dead too.
      expect((await refresh(t, second[REFRESH]!)).status).toBe(401);
      expect((await t.request('/auth/session', { cookie: `${ACCESS}=${second[ACCESS]!}` })).status).toBe(401);
      expect((await t.request('/auth/session', { cookie: s.cookie })).status).toBe(401);
    });

    it('RT-04 50 parallel refreshes with one token: all get the SAME successor, exactly one child row, nobody signed out', async () => {
      const s = await jwtSignIn(t, 'rt04@example.com');
      const responses = await Promise.all(Array.from({ length: 50 }, (_, i) => refresh(t, s.refresh, { ip: `198.51.100.${i + 1}` })));
      expect(responses.map((r) => r.status)).toEqual(Array(50).fill(200));
      const successors = new Set(responses.map((r) => cookiesOf(r.headers).values[REFRESH]));
      expect(successors.size).toBe(1);
      const rows = await tokenRows(s.sessionId);
      expect(rows).toHaveLength(2);
      expect(rows.filter((r) => r.rotated_at === null)).toHaveLength(1);
      // The one successor keeps working.
      const [successor] = [...successors];
      expect((await refresh(t, successor!)).status).toBe(200);
      expect(await sessionRow(s.sessionId)).toBeDefined();
    });

    it('RT-04 inside the grace window, but after the successor itself rotated, the old token is reuse', async () => {
      const s = await jwtSignIn(t, 'rt04b@example.com');
      const child = cookiesOf((await refresh(t, s.refresh)).headers).values[REFRESH]!;
      expect((await refresh(t, child)).status).toBe(200);
      expect((await refresh(t, s.refresh)).status).toBe(401);
      expect(await sessionRow(s.sessionId)).toBeUndefined();
    });

    it('RT-05 the family lifetime is absolute: refreshing never extends it', async () => {
      const s = await jwtSignIn(t, 'rt05@example.com');
      const end = Number((await sessionRow(s.sessionId))!.absolute_expires_at);
      let token = s.refresh;
      // A refresh every 6 days... of a 7-day family: the second one is past the end.
      t.clock.advance(3 * 86_400_000);
      let res = await refresh(t, token);
      expect(res.status).toBe(200);
      const { lines, values } = cookiesOf(res.headers);
      token = values[REFRESH]!;
      const maxAge = Number(/Max-Age=(\d+)/.exec(lines[REFRESH]!)![1]);
      expect(maxAge).toBeLessThanOrEqual(Math.ceil((end - t.clock.now) / 1000));
      const accessExp = JSON.parse(Buffer.from(values[ACCESS]!.split('.')[1]!, 'base64url').toString()) as { exp: number };
      expect(accessExp.exp * 1000).toBeLessThanOrEqual(end);
      expect((await tokenRows(s.sessionId)).every((r) => Number(r.expires_at) === end)).toBe(true);
      // Near the end, the access token is cut to what the family has left.
      t.clock.advance(end - t.clock.now - 120_000);
      res = await refresh(t, token);
      expect(res.status).toBe(200);
      const near = cookiesOf(res.headers).values;
      const nearExp = JSON.parse(Buffer.from(near[ACCESS]!.split('.')[1]!, 'base64url').toString()) as { exp: number };
      expect(nearExp.exp * 1000).toBeLessThanOrEqual(end);
      t.clock.advance(121_000);
      const late = await refresh(t, near[REFRESH]!);
      expect(late.status).toBe(401);
      expect(cookiesOf(late.headers).lines[REFRESHABLE]).toContain('Max-Age=0');
    });

    it('RT-06 a disabled user cannot refresh; a role change shows in the refreshed token', async () => {
      const admin = await t.auth.users.create({ email: `boss-${db.name}@example.com`, role: 'owner' });
      const s = await jwtSignIn(t, 'rt06@example.com', 'editor');
      await t.auth.users.setRole(s.userId, 'member', { userId: admin.id, role: 'owner' });
      const res = await refresh(t, s.refresh);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ user: { role: 'member' } });
      const payload = JSON.parse(Buffer.from(cookiesOf(res.headers).values[ACCESS]!.split('.')[1]!, 'base64url').toString()) as { role: string };
      expect(payload.role).toBe('member');

      const d = await jwtSignIn(t, 'rt06-disabled@example.com');
      // Disabled behind Gatehouse's back (no session deletion): refresh still reads the account.
      await t.database.kysely.updateTable('gatehouse_users').set({ disabled: 1 }).where('id', '=', d.userId).execute();
      expect((await refresh(t, d.refresh)).status).toBe(401);
    });

    it('RT-06 refresh is POST only, CSRF-protected and rate limited', async () => {
      const s = await jwtSignIn(t, 'rt06b@example.com');
      const get = await t.request('/auth/token/refresh', { cookie: `${REFRESH}=${s.refresh}` });
      expect(get.status).toBe(405);
      const crossSite = await t.request('/auth/token/refresh', { method: 'POST', cookie: `${REFRESH}=${s.refresh}`, headers: { 'sec-fetch-site': 'cross-site' } });
      expect(crossSite.status).toBe(403);
      expect(await codeOf(crossSite)).toBe('CSRF_REFUSED');
      const noMetadata = await t.request('/auth/token/refresh', { method: 'POST', cookie: `${REFRESH}=${s.refresh}`, browser: false, headers: { origin: 'https://evil.example.com' } });
      expect(noMetadata.status).toBe(403);
      // The token was not spent by the refused requests.
      expect(await tokenRows(s.sessionId).then((r) => r.every((row) => row.rotated_at === null))).toBe(true);
      const statuses: number[] = [];
      for (let i = 0; i < 125; i++) statuses.push((await t.request('/auth/token/refresh', { method: 'POST', ip: '192.0.2.77' })).status);
      expect(statuses.filter((x) => x === 429).length).toBeGreaterThan(0);
      expect(statuses.slice(0, 120).every((x) => x === 401)).toBe(true);
    });

    it('COOK-05 a second refresh cookie (planted by a sibling subdomain with a Domain) fails closed: 401, signed out, neither family rotates', async () => {
      const victim = await jwtSignIn(t, 'cook05-victim@example.com');
      const attacker = await jwtSignIn(t, 'cook05-attacker@example.com');
      // The planted cookie is older, so the browser sends it first; taking the first one signed the victim in as the attacker.
      for (const cookie of [`${REFRESH}=${attacker.refresh}; ${REFRESH}=${victim.refresh}`, `${REFRESH}=${victim.refresh}; ${REFRESH}=${attacker.refresh}`]) {
        const res = await t.request('/auth/token/refresh', { method: 'POST', cookie });
        expect(res.status).toBe(401);
        expect(cookiesOf(res.headers).values[REFRESH]).toBe('');
      }
      for (const s of [victim, attacker]) expect((await tokenRows(s.sessionId)).map((r) => r.rotated_at)).toEqual([null]);
      // Each token alone still works.
      expect((await refresh(t, victim.refresh)).status).toBe(200);
    });

    it('garbage refresh cookies are 401, never 500', async () => {
      for (const value of ['', 'x', 'a.b', `${'A'.repeat(22)}.${'B'.repeat(43)}`, "' OR 1=1 --", 'A'.repeat(5000)]) {
        const res = await refresh(t, value);
        expect(res.status).toBe(401);
      }
      const s = await jwtSignIn(t, 'wrong-secret@example.com');
      const [id] = s.refresh.split('.');
      expect((await refresh(t, `${id}.${'C'.repeat(43)}`)).status).toBe(401);
      // A wrong secret for a real id revokes nothing.
      expect((await refresh(t, s.refresh)).status).toBe(200);
    });
  });
}

describe('refresh endpoints outside JWT mode', () => {
  let t: TestInstance | undefined;
  afterEach(async () => {
    await t?.close();
  });
  it('do not exist with database sessions', async () => {
    const { getTestInstance } = await import('./helpers.js');
    t = await getTestInstance();
    expect((await t.request('/auth/token/refresh', { method: 'POST' })).status).toBe(404);
    expect((await t.request('/auth/jwks.json')).status).toBe(404);
  });
});
