import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { TestInstance } from './helpers.js';
import { ACCESS, cookiesOf, getJwtInstance, REFRESH, REFRESHABLE } from './jwt-helpers.js';
import { Browser } from './passkey-helpers.js';

/**
 * Every sign-in method gets JWT mode from the one place that sets sign-in cookies: passkey
 * sign-up, passkey sign-in and recovery codes all set the access and refresh cookies, and
 * no database-session cookie.
 */
let t: TestInstance;
afterEach(async () => t?.close());

function expectJwtCookies(res: Response): void {
  const { lines } = cookiesOf(res.headers);
  expect(lines[ACCESS]).toMatch(/^__Host-gatehouse-access=[\w-]+\.[\w-]+\.[\w-]+; Path=\/; Max-Age=\d+; HttpOnly; Secure; SameSite=Lax$/);
  expect(lines[REFRESH]).toMatch(/; Path=\/auth\/token\/refresh; Max-Age=604\d{3}; HttpOnly; Secure; SameSite=Strict$/);
  expect(lines[REFRESHABLE]).toContain('Max-Age=604');
  expect(lines['__Host-gatehouse-session']).toContain('Max-Age=0');
  expect(res.headers.get('cache-control')).toBe('no-store');
}

describe('SESS-05/06: an access token never outlives its session', () => {
  it('with an idle timeout shorter than the access-token lifetime, the token (and its cookie) end at the idle expiry', async () => {
    t = await getJwtInstance({ session: { idleTimeoutSeconds: 300, touchIntervalSeconds: 60 } });
    const b = new Browser(t);
    const up = await b.signUp('idle@example.com');
    expect(up.status).toBe(201);
    expect(Number(/Max-Age=(\d+)/.exec(cookiesOf(up.headers).lines[ACCESS]!)?.[1])).toBeLessThanOrEqual(300);
    const access = b.jar.get(ACCESS)!;
    const claims = JSON.parse(Buffer.from(access.split('.')[1]!, 'base64url').toString()) as { iat: number; exp: number };
    expect(claims.exp - claims.iat).toBeLessThanOrEqual(300);
    t.clock.advance(6 * 60_000);
    // Idle for 6 minutes: the refresh is refused, and so is the access token minted before.
    expect((await b.send('/auth/session', { method: 'GET' })).status).toBe(401);
  });
});

describe('COOK-06: the access cookie stays under 4096 bytes', () => {
  it('names are capped at 100 characters everywhere a user is created, so the longest account still fits', async () => {
    t = await getJwtInstance();
    await expect(t.auth.users.create({ email: 'long@example.com', name: 'N'.repeat(3000) })).rejects.toMatchObject({ status: 400, message: 'name: at most 100 characters' });
    expect(await (await t.auth.storage()).findUserByEmail('long@example.com')).toBeNull();
    // The longest accepted name and email, in 4-byte characters where they may be.
    const user = await t.auth.users.create({ email: `${'e'.repeat(64)}@${'d'.repeat(251)}.com`, name: '\u{1F600}'.repeat(50) });
    const { headers } = await t.auth.createSession(user.id, new Request('http://localhost:3000/'), { method: 'test' });
    for (const line of headers.getSetCookie()) expect(new TextEncoder().encode(line).length).toBeLessThan(4096);
  });
});

describe('the profile in JWT mode', () => {
  it('a new name makes the access tokens stale: the next request asks for a refresh, whose token carries the name', async () => {
    t = await getJwtInstance();
    const b = new Browser(t);
    expect((await b.signUp('rename@example.com', 'Old Name')).status).toBe(201);
    const saved = await b.send('/auth/user', { method: 'PATCH', json: { name: 'New Name' } });
    expect(saved.status).toBe(200);
    const stale = await b.send('/auth/session', { method: 'GET' });
    expect(stale.status).toBe(401);
    expect(((await stale.json()) as { error: { code: string } }).error.code).toBe('ACCESS_TOKEN_EXPIRED');
    expect((await b.send('/auth/token/refresh', { method: 'POST' })).status).toBe(200);
    const claims = JSON.parse(Buffer.from(b.jar.get(ACCESS)!.split('.')[1]!, 'base64url').toString()) as { name: string };
    expect(claims.name).toBe('New Name');
    expect(((await (await b.send('/auth/session', { method: 'GET' })).json()) as { user: { name: string } }).user.name).toBe('New Name');
  });
});

describe('sign-in methods in JWT mode', () => {
  it('passkey sign-up and sign-in set JWT cookies; a second sign-in in the same browser ends the first session (SESS-03)', async () => {
    t = await getJwtInstance();
    const b = new Browser(t);
    const up = await b.signUp('ada@example.com', 'Ada');
    expect(up.status).toBe(201);
    expectJwtCookies(up);
    const first = ((await up.json()) as { session: { id: string } }).session.id;
    const oldAccess = `${ACCESS}=${b.jar.get(ACCESS)!}`;
    const me = await b.send('/auth/session', { method: 'GET' });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ user: { email: 'ada@example.com', name: 'Ada', role: 'member' }, session: { id: first } });

    const again = await b.signIn();
    expect(again.status).toBe(200);
    expectJwtCookies(again);
    const second = ((await again.json()) as { session: { id: string } }).session.id;
    expect(second).not.toBe(first);
    const rows = await t.database.kysely.selectFrom('gatehouse_sessions').select('id').execute();
    expect(rows.map((r) => r.id)).toEqual([second]);
    // The first session's access token is dead at once.
    expect((await t.request('/auth/session', { cookie: oldAccess })).status).toBe(401);
  });

  it('SESS-03 after the access cookie expired: the browser marker names the previous family, and the sign-in ends it', async () => {
    t = await getJwtInstance();
    const b = new Browser(t);
    const up = await b.signUp('marker@example.com');
    const first = ((await up.json()) as { session: { id: string } }).session.id;
    expect(b.jar.get(REFRESHABLE)).toMatch(new RegExp(`^${first}\\.[A-Za-z0-9_-]{43}$`));
    const oldRefresh = b.jar.get(REFRESH)!;
    t.clock.advance(16 * 60_000);
    b.jar.delete(ACCESS); // the browser dropped the expired access cookie
    const again = await b.signIn();
    expect(again.status).toBe(200);
    const second = ((await again.json()) as { session: { id: string } }).session.id;
    expect((await t.database.kysely.selectFrom('gatehouse_sessions').select('id').execute()).map((r) => r.id)).toEqual([second]);
    expect((await t.request('/auth/token/refresh', { method: 'POST', cookie: `${REFRESH}=${oldRefresh}` })).status).toBe(401);
  });

  it('SESS-03 a forged marker ends nothing; createSession() ends the browser\'s previous family too', async () => {
    t = await getJwtInstance();
    const victim = new Browser(t);
    const up = await victim.signUp('victim-marker@example.com');
    const victimSession = ((await up.json()) as { session: { id: string } }).session.id;
    const attacker = new Browser(t);
    expect((await attacker.signUp('attacker-marker@example.com')).status).toBe(201);
    // The victim's session id with a made-up MAC, in the attacker's own browser: not authentic, so not ended.
    attacker.jar.set(REFRESHABLE, `${victimSession}.${'A'.repeat(43)}`);
    attacker.jar.delete(ACCESS);
    expect((await attacker.signIn()).status).toBe(200);
    expect((await victim.send('/auth/session', { method: 'GET' })).status).toBe(200);

    // The public createSession() (an app's own sign-in) reads the same cookies.
    const user = await t.auth.users.create({ email: 'api-marker@example.com' });
    const marker = victim.jar.get(REFRESHABLE)!;
    await t.auth.createSession(user.id, new Request('http://localhost:3000/', { headers: { cookie: `${REFRESHABLE}=${marker}` } }), { method: 'test' });
    expect(await t.database.kysely.selectFrom('gatehouse_sessions').select('id').where('id', '=', victimSession).executeTakeFirst()).toBeUndefined();
  });

  it('an instance with the wrong jwt.secret answers 503 to a sign-in and changes nothing: the browser stays signed in, no session is left behind', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-jwt-secret-'));
    const databaseUrl = `sqlite:${join(dir, 'shared.db')}`;
    t = await getJwtInstance({ databaseUrl });
    // A second instance on the same database, deployed with another secret: it cannot decrypt the signing key.
    const misconfigured = await getJwtInstance({ databaseUrl, jwt: { secret: 'a-different-secret-0123456789-abcdefghijkl' } });
    try {
      const b = new Browser(t);
      expect((await b.signUp('wrong-secret@example.com')).status).toBe(201);
      const sessions = () => t.database.kysely.selectFrom('gatehouse_sessions').select('id').execute();
      const before = await sessions();
      const events = async () => (await (await t.auth.storage()).listEvents({ limit: 100, type: 'session.created' })).length;
      const eventsBefore = await events();
      // The same browser signs in again, its request landing on the misconfigured instance.
      (b as unknown as { t: TestInstance }).t = misconfigured;
      const res = await b.signIn();
      expect(res.status).toBe(503);
      expect(res.headers.getSetCookie()).toEqual([]);
      (b as unknown as { t: TestInstance }).t = t;
      // Before the fix: the browser's session was ended first, then a new one was written (with
      // its session.created event) that no cookie ever carried.
      expect((await b.send('/auth/session', { method: 'GET' })).status).toBe(200);
      expect(await sessions()).toEqual(before);
      expect(await events()).toBe(eventsBefore);
    } finally {
      await misconfigured.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('recovery-code sign-in sets JWT cookies too', async () => {
    t = await getJwtInstance();
    const b = new Browser(t);
    expect((await b.signUp('rec@example.com')).status).toBe(201);
    const codes = await b.send('/auth/recovery-codes');
    expect(codes.status).toBe(201);
    const [code] = ((await codes.json()) as { codes: string[] }).codes;
    const other = new Browser(t);
    const res = await other.send('/auth/recovery/sign-in', { json: { email: 'rec@example.com', code } });
    expect(res.status).toBe(200);
    expectJwtCookies(res);
    expect((await other.send('/auth/session', { method: 'GET' })).status).toBe(200);
    // Recovery ends every other session: the first browser's access token is refused.
    expect((await b.send('/auth/session', { method: 'GET' })).status).toBe(401);
  });
});
