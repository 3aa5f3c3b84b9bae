import { afterEach, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { getTestInstance, type TestInstance } from './helpers.js';
import { mintSessionToken } from '../src/sessions/session-token.js';
import { DEFAULTS } from '../src/index.js';

let t: TestInstance;
afterEach(async () => t?.close());

const MINUTE = 60_000;
const tokenOf = (cookie: string) => cookie.slice(cookie.indexOf('=') + 1);

async function rows(t: TestInstance) {
  const r = await sql<Record<string, unknown>>`select * from gatehouse_sessions`.execute(t.database.kysely);
  return r.rows;
}

describe('SESS-01 tokens are CSPRNG secrets with no user data', () => {
  it('mints >= 128-bit ids and 256-bit secrets that never repeat', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const { token, id } = mintSessionToken();
      const [idPart, secret] = token.split('.');
      expect(idPart).toBe(id);
      expect(Buffer.from(idPart!, 'base64url')).toHaveLength(16);
      expect(Buffer.from(secret!, 'base64url')).toHaveLength(32);
      seen.add(token);
    }
    expect(seen.size).toBe(2000);
  });

  it('carries nothing about the user', async () => {
    t = await getTestInstance();
    const { cookie, userId } = await t.signIn('alice@example.com');
    const token = tokenOf(cookie);
    expect(token).not.toContain(userId);
    expect(token.toLowerCase()).not.toContain('alice');
    for (const part of token.split('.')) expect(Buffer.from(part, 'base64url').toString('latin1')).not.toContain('alice');
  });
});

describe('SESS-02 only a hash of the secret is stored', () => {
  it('keeps no raw token or secret in the database', async () => {
    t = await getTestInstance();
    const { cookie } = await t.signIn('bob@example.com');
    const [id, secret] = tokenOf(cookie).split('.');
    const all = JSON.stringify(await rows(t));
    expect(all).toContain(id);
    expect(all).not.toContain(secret);
  });

  it('does not accept the stored hash as a cookie (a stolen row signs no one in)', async () => {
    t = await getTestInstance();
    const { cookie } = await t.signIn('bob@example.com');
    const [row] = await rows(t);
    const forged = `__Host-gatehouse-session=${String(row!.id)}.${String(row!.secret_hash)}`;
    expect((await t.request('/auth/session', { cookie: forged })).status).toBe(401);
    expect((await t.request('/auth/session', { cookie })).status).toBe(200);
  });
});

describe('SESS-03 strict sessions: no fixation', () => {
  it('never adopts a token the server did not issue', async () => {
    t = await getTestInstance();
    const planted = mintSessionToken().token;
    const res = await t.request('/auth/session', { cookie: `__Host-gatehouse-session=${planted}` });
    expect(res.status).toBe(401);
    // The stale cookie is cleared.
    expect(res.headers.get('set-cookie')).toMatch(/Max-Age=0/);
    expect(await rows(t)).toHaveLength(0);
  });

  it('refuses a real session id with a guessed secret', async () => {
    t = await getTestInstance();
    const { cookie } = await t.signIn('carol@example.com');
    const [id] = tokenOf(cookie).split('.');
    const guessed = `__Host-gatehouse-session=${id}.${mintSessionToken().token.split('.')[1]}`;
    expect((await t.request('/auth/session', { cookie: guessed })).status).toBe(401);
  });

  it('issues a new token at sign-in and ends the session the browser already had', async () => {
    t = await getTestInstance();
    const first = await t.signIn('dave@example.com');
    const user = (await (await t.auth.storage()).findUserByEmail('dave@example.com'))!;
    const again = await t.auth.createSession(user.id, new Request('http://localhost:3000/sign-in', { method: 'POST', headers: { cookie: first.cookie } }), {
      method: 'passkey',
    });
    const second = again.headers.get('set-cookie')!.split(';')[0]!;
    expect(second).not.toBe(first.cookie);
    expect((await t.request('/auth/session', { cookie: first.cookie })).status).toBe(401);
    expect((await t.request('/auth/session', { cookie: second })).status).toBe(200);
    expect(await rows(t)).toHaveLength(1);
  });

  it('an attacker-planted cookie is replaced, not upgraded, when the victim signs in', async () => {
    t = await getTestInstance();
    const planted = `__Host-gatehouse-session=${mintSessionToken().token}`;
    const victim = await t.auth.users.create({ email: 'victim@example.com' });
    const { headers } = await t.auth.createSession(victim.id, new Request('http://localhost:3000/x', { method: 'POST', headers: { cookie: planted } }), {
      method: 'passkey',
    });
    expect(headers.get('set-cookie')!.split(';')[0]).not.toBe(planted);
    expect((await t.request('/auth/session', { cookie: planted })).status).toBe(401);
  });
});

describe('SESS-04 rotation on privilege change', () => {
  it('ends the sessions of a user whose role is raised, so new rights need a new token', async () => {
    t = await getTestInstance();
    const { cookie, userId } = await t.signIn('erin@example.com');
    await t.auth.users.setRole(userId, 'admin', { userId: null, role: null });
    expect((await t.request('/auth/session', { cookie })).status).toBe(401);
  });
});

describe('SESS-05/06 idle timeout and absolute lifetime', () => {
  it('ends a session idle for longer than the idle timeout and deletes its row', async () => {
    t = await getTestInstance();
    const { cookie } = await t.signIn('frank@example.com');
    t.clock.advance(DEFAULTS.idleTimeoutSeconds * 1000 + 1);
    expect((await t.request('/auth/session', { cookie })).status).toBe(401);
    expect(await rows(t)).toHaveLength(0);
  });

  it('extends an active session but never past the absolute lifetime', async () => {
    t = await getTestInstance({ session: { idleTimeoutSeconds: 3600, absoluteLifetimeSeconds: 4 * 3600, touchIntervalSeconds: 60 } });
    const { cookie } = await t.signIn('gina@example.com');
    // Active every 50 minutes: idle never runs out...
    for (let i = 0; i < 4; i++) {
      t.clock.advance(50 * MINUTE);
      expect((await t.request('/auth/session', { cookie })).status).toBe(200);
    }
    const [row] = await rows(t);
    expect(Number(row!.expires_at)).toBeLessThanOrEqual(Number(row!.absolute_expires_at));
    // ...but at 4 hours the absolute lifetime ends it anyway.
    t.clock.advance(41 * MINUTE);
    expect((await t.request('/auth/session', { cookie })).status).toBe(401);
  });

  it('writes activity at most once per touch interval', async () => {
    t = await getTestInstance();
    const { cookie } = await t.signIn('hank@example.com');
    const before = Number((await rows(t))[0]!.last_seen_at);
    t.clock.advance(DEFAULTS.touchIntervalSeconds * 1000 - 1);
    await t.request('/auth/session', { cookie });
    expect(Number((await rows(t))[0]!.last_seen_at)).toBe(before);
    t.clock.advance(2);
    await t.request('/auth/session', { cookie });
    expect(Number((await rows(t))[0]!.last_seen_at)).toBe(before + DEFAULTS.touchIntervalSeconds * 1000 + 1);
  });
});

describe('SESS-07 sign-out ends the session server-side', () => {
  it('deletes the row, clears the cookie, and the old token stops working', async () => {
    t = await getTestInstance();
    const { cookie } = await t.signIn('ivy@example.com');
    const res = await t.request('/auth/sign-out', { method: 'POST', cookie });
    expect(res.status).toBe(204);
    expect(res.headers.get('set-cookie')).toBe('__Host-gatehouse-session=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await rows(t)).toHaveLength(0);
    // A copy of the cookie kept by an attacker is dead too.
    expect((await t.request('/auth/session', { cookie })).status).toBe(401);
    const events = await (await t.auth.storage()).listEvents({ limit: 5, type: 'session.signed_out' });
    expect(events).toHaveLength(1);
  });
});

describe('SESS-08 a user lists and ends their own sessions', () => {
  it('lists sessions without any token value and marks the current one', async () => {
    t = await getTestInstance();
    const a = await t.signIn('jay@example.com', { ip: '198.51.100.1' });
    const b = await t.signIn('jay@example.com', { ip: '198.51.100.2' });
    const res = await t.request('/auth/sessions', { cookie: a.cookie });
    const text = await res.text();
    for (const c of [a.cookie, b.cookie]) for (const part of tokenOf(c).split('.').slice(1)) expect(text).not.toContain(part);
    const body = JSON.parse(text) as { sessions: { current: boolean; ip: string }[] };
    expect(body.sessions).toHaveLength(2);
    expect(body.sessions.filter((s) => s.current).map((s) => s.ip)).toEqual(['198.51.100.1']);
  });

  it('ends one device, then all others, then all', async () => {
    t = await getTestInstance();
    const [a, b, c, d] = [await t.signIn('kim@example.com'), await t.signIn('kim@example.com'), await t.signIn('kim@example.com'), await t.signIn('kim@example.com')];
    const bId = tokenOf(b.cookie).split('.')[0]!;
    expect((await t.request(`/auth/sessions/${bId}`, { method: 'DELETE', cookie: a.cookie })).status).toBe(204);
    expect((await t.request('/auth/session', { cookie: b.cookie })).status).toBe(401);

    const others = await t.request('/auth/sessions/revoke-others', { method: 'POST', cookie: a.cookie });
    expect(await others.json()).toEqual({ revoked: 2 });
    expect((await t.request('/auth/session', { cookie: c.cookie })).status).toBe(401);
    expect((await t.request('/auth/session', { cookie: d.cookie })).status).toBe(401);
    expect((await t.request('/auth/session', { cookie: a.cookie })).status).toBe(200);

    const all = await t.request('/auth/sessions/revoke-all', { method: 'POST', cookie: a.cookie });
    expect(all.status).toBe(204);
    expect(all.headers.get('set-cookie')).toMatch(/Max-Age=0/);
    expect(await rows(t)).toHaveLength(0);
  });
});

describe('SESS-09 account changes take effect on the very next request', () => {
  it('disabling a user ends their sessions at once', async () => {
    t = await getTestInstance();
    const { cookie, userId } = await t.signIn('lee@example.com');
    await t.auth.users.setDisabled(userId, true, { userId: null, role: null });
    expect((await t.request('/auth/session', { cookie })).status).toBe(401);
    await expect(t.signIn('lee@example.com')).rejects.toMatchObject({ code: 'ACCOUNT_DISABLED' });
  });

  it('a disabled flag set behind Gatehouse\'s back still refuses the session', async () => {
    t = await getTestInstance();
    const { cookie, userId } = await t.signIn('mo@example.com');
    await sql`update gatehouse_users set disabled = 1 where id = ${userId}`.execute(t.database.kysely);
    expect((await t.request('/auth/session', { cookie })).status).toBe(401);
  });

  it('a lowered role is what the next request sees', async () => {
    t = await getTestInstance();
    const { cookie, userId } = await t.signIn('ned@example.com', { role: 'admin' });
    expect((await t.request('/auth/admin/users', { cookie })).status).toBe(200);
    await t.auth.users.setRole(userId, 'member', { userId: null, role: null });
    expect((await t.request('/auth/admin/users', { cookie })).status).toBe(403);
    expect(((await (await t.request('/auth/session', { cookie })).json()) as { user: { role: string } }).user.role).toBe('member');
  });
});

describe('SESS-10 sensitive actions need a fresh sign-in', () => {
  it('refuses revoke-others and revoke-all on a stale session, changing nothing', async () => {
    t = await getTestInstance();
    const a = await t.signIn('olga@example.com');
    const b = await t.signIn('olga@example.com');
    t.clock.advance(DEFAULTS.freshAgeSeconds * 1000 + 1);
    for (const path of ['/auth/sessions/revoke-others', '/auth/sessions/revoke-all']) {
      const res = await t.request(path, { method: 'POST', cookie: a.cookie });
      expect(res.status).toBe(403);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('REAUTHENTICATION_REQUIRED');
    }
    expect((await t.request('/auth/session', { cookie: b.cookie })).status).toBe(200);
  });

  it('refuses admin role changes and session revocation on a stale admin session', async () => {
    t = await getTestInstance();
    const admin = await t.signIn('root@example.com', { role: 'admin' });
    const target = await t.signIn('pat@example.com');
    t.clock.advance(DEFAULTS.freshAgeSeconds * 1000 + 1);
    const patch = await t.request(`/auth/admin/users/${target.userId}`, { method: 'PATCH', cookie: admin.cookie, body: JSON.stringify({ role: 'editor' }) });
    expect(patch.status).toBe(403);
    const revoke = await t.request(`/auth/admin/users/${target.userId}/revoke-sessions`, { method: 'POST', cookie: admin.cookie });
    expect(revoke.status).toBe(403);
    expect((await (await t.auth.storage()).findUserById(target.userId))?.role).toBe('member');
    expect((await t.request('/auth/session', { cookie: target.cookie })).status).toBe(200);
  });
});

describe('SESS-11 tokens never leave Set-Cookie', () => {
  it('keeps the token out of bodies, other headers and logs; cookie-setting responses are no-store', async () => {
    const logged: string[] = [];
    const capture = (m: string, d?: Record<string, unknown>) => logged.push(m + JSON.stringify(d ?? {}));
    t = await getTestInstance({ logger: { warn: capture, error: capture } });
    const { cookie, userId } = await t.signIn('quinn@example.com', { role: 'admin' });
    const token = tokenOf(cookie);
    const secret = token.split('.')[1]!;
    const responses = [
      await t.request('/auth/session', { cookie }),
      await t.request('/auth/sessions', { cookie }),
      await t.request('/auth/admin/users', { cookie }),
      await t.request('/auth/admin/events', { cookie }),
      await t.request(`/auth/admin/users/${userId}`, { method: 'PATCH', cookie, body: '{bad json' }),
      await t.request('/auth/sign-out', { method: 'POST', cookie }),
    ];
    for (const res of responses) {
      expect(await res.text()).not.toContain(secret);
      for (const [name, value] of res.headers) if (name !== 'set-cookie') expect(value).not.toContain(secret);
      expect(res.headers.get('cache-control')).toBe('no-store');
    }
    expect(logged.join('\n')).not.toContain(secret);
    const all = JSON.stringify(await (await t.auth.storage()).listEvents({ limit: 100 }));
    expect(all).not.toContain(secret);
  });
});

describe('the user\'s own profile (PATCH /auth/user)', () => {
  it('changes the name, seen on the very next request, and records it; refuses other fields, long names, strangers and cross-site calls', async () => {
    t = await getTestInstance();
    const { cookie, userId } = await t.signIn('olga@example.com');
    expect(((await (await t.request('/auth/session', { cookie })).json()) as { user: { name: string } }).user.name).toBe('olga');
    const patch = (body: unknown, init: { cookie?: string; headers?: Record<string, string> } = { cookie }) =>
      t.request('/auth/user', { method: 'PATCH', cookie: init.cookie, headers: { 'content-type': 'application/json', ...init.headers }, body: JSON.stringify(body) });

    const res = await patch({ name: '  Olga K.  ' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ user: { id: userId, email: 'olga@example.com', name: 'Olga K.', role: 'member' } });
    // The session cache (on by default) drops the old name: the next request sees the new one.
    expect(((await (await t.request('/auth/session', { cookie })).json()) as { user: { name: string } }).user.name).toBe('Olga K.');
    const [event] = await (await t.auth.storage()).listEvents({ limit: 1, type: 'user.profile_updated' });
    expect(event).toMatchObject({ userId, actorId: userId, data: { fields: ['name'] } });

    for (const body of [{ name: 'x'.repeat(101) }, { name: 'Olga', role: 'admin' }, { name: 'Olga', email: 'other@example.com' }, {}]) {
      const refused = await patch(body);
      expect(refused.status, JSON.stringify(body)).toBe(400);
    }
    expect((await patch({ name: 'Anon' }, {})).status).toBe(401);
    expect((await patch({ name: 'Forged' }, { cookie, headers: { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' } })).status).toBe(403);
    expect((await (await t.auth.storage()).findUserById(userId))).toMatchObject({ name: 'Olga K.', role: 'member', email: 'olga@example.com' });
  });
});
