import { afterEach, describe, expect, it } from 'vitest';
import { getTestInstance, type TestInstance } from './helpers.js';

let t: TestInstance;
afterEach(async () => t?.close());

interface EventsBody {
  events: { id: number; type: string; userId: string | null; actorId: string | null; ip: string | null; data: Record<string, unknown> | null }[];
  nextCursor: number | null;
}

describe('admin endpoints', () => {
  it('lists users with paging and search', async () => {
    t = await getTestInstance();
    const admin = await t.signIn('admin@example.com', { role: 'admin' });
    for (let i = 0; i < 5; i++) await t.auth.users.create({ email: `u${i}@example.com`, name: `Person ${i}` });
    const page1 = (await (await t.request('/auth/admin/users?limit=4', { cookie: admin.cookie })).json()) as { users: { id: string }[]; nextCursor: string };
    expect(page1.users).toHaveLength(4);
    const page2 = (await (await t.request(`/auth/admin/users?limit=4&cursor=${page1.nextCursor}`, { cookie: admin.cookie })).json()) as {
      users: { id: string }[];
      nextCursor: string | null;
    };
    expect(page2.users).toHaveLength(2);
    expect(page2.nextCursor).toBeNull();
    const search = (await (await t.request('/auth/admin/users?q=person%203', { cookie: admin.cookie })).json()) as { users: { email: string }[] };
    expect(search.users.map((u) => u.email)).toEqual(['u3@example.com']);
    expect((await t.request('/auth/admin/users?limit=1000', { cookie: admin.cookie })).status).toBe(400);
  });

  it('changes a role, disables and enables, and revokes sessions, recording who did it', async () => {
    t = await getTestInstance();
    const admin = await t.signIn('admin@example.com', { role: 'admin' });
    const m = await t.signIn('m@example.com', { role: 'editor' });
    const patch = (body: string) => t.request(`/auth/admin/users/${m.userId}`, { method: 'PATCH', cookie: admin.cookie, body });

    const demoted = await patch('{"role":"member"}');
    expect(demoted.status).toBe(200);
    expect(((await demoted.json()) as { user: { role: string } }).user.role).toBe('member');
    expect((await t.request('/auth/session', { cookie: m.cookie })).status).toBe(200);

    expect((await patch('{"disabled":true}')).status).toBe(200);
    expect((await t.request('/auth/session', { cookie: m.cookie })).status).toBe(401);
    expect((await patch('{"disabled":false}')).status).toBe(200);

    const again = await t.signIn('m@example.com');
    const revoked = await t.request(`/auth/admin/users/${m.userId}/revoke-sessions`, { method: 'POST', cookie: admin.cookie });
    expect(await revoked.json()).toEqual({ revoked: 1 });
    expect((await t.request('/auth/session', { cookie: again.cookie })).status).toBe(401);

    expect((await patch('{"role":"wizard"}')).status).toBe(400);
    expect((await patch('{}')).status).toBe(400);
    expect((await t.request('/auth/admin/users/doesnotexist', { method: 'PATCH', cookie: admin.cookie, body: '{"role":"member"}' })).status).toBe(404);

    const events = (await (await t.request(`/auth/admin/events?userId=${m.userId}`, { cookie: admin.cookie })).json()) as EventsBody;
    const types = events.events.map((e) => e.type);
    expect(types).toEqual([
      'session.revoked',
      'session.created',
      'user.enabled',
      'user.disabled',
      'user.role_changed',
      'session.created',
      'user.created',
    ]);
    const byAdmin = events.events.filter((e) => ['session.revoked', 'user.enabled', 'user.disabled', 'user.role_changed'].includes(e.type));
    for (const e of byAdmin) {
      expect(e.actorId).toBe(admin.userId);
      expect(e.ip).toBe('203.0.113.10');
    }
    expect(events.events.find((e) => e.type === 'user.role_changed')?.data).toMatchObject({ from: 'editor', to: 'member' });
  });

  it('an admin who revokes their own sessions is signed out in this browser too', async () => {
    t = await getTestInstance();
    const admin = await t.signIn('admin@example.com', { role: 'admin' });
    const res = await t.request(`/auth/admin/users/${admin.userId}/revoke-sessions`, { method: 'POST', cookie: admin.cookie });
    expect(await res.json()).toEqual({ revoked: 1 });
    expect(res.headers.get('set-cookie')).toMatch(/^__Host-gatehouse-session=; .*Max-Age=0/);
    expect((await t.request('/auth/session', { cookie: admin.cookie })).status).toBe(401);
  });

  it('pages events newest first and filters by type', async () => {
    t = await getTestInstance();
    const admin = await t.signIn('admin@example.com', { role: 'admin' });
    for (let i = 0; i < 4; i++) await t.signIn('x@example.com');
    const first = (await (await t.request('/auth/admin/events?type=session.created&limit=3', { cookie: admin.cookie })).json()) as EventsBody;
    expect(first.events).toHaveLength(3);
    expect(first.events.every((e) => e.type === 'session.created')).toBe(true);
    const rest = (await (await t.request(`/auth/admin/events?type=session.created&limit=3&before=${first.nextCursor}`, { cookie: admin.cookie })).json()) as EventsBody;
    expect(rest.events).toHaveLength(2);
    expect(Math.max(...rest.events.map((e) => e.id))).toBeLessThan(Math.min(...first.events.map((e) => e.id)));
    expect((await t.request('/auth/admin/events?type=bogus', { cookie: admin.cookie })).status).toBe(400);
    expect((await t.request('/auth/admin/events?unknown=1', { cookie: admin.cookie })).status).toBe(400);
  });
});

describe('audit log', () => {
  it('records session creation, sign-out and user revocations with IP and user agent', async () => {
    t = await getTestInstance();
    const { cookie, userId } = await t.signIn('r@example.com', { ip: '198.51.100.7' });
    const sid = cookie.split('=')[1]!.split('.')[0]!;
    await t.request('/auth/sign-out', { method: 'POST', cookie, headers: { 'user-agent': 'Firefox/200' } });
    const events = await (await t.auth.storage()).listEvents({ limit: 10, userId });
    expect(events.map((e) => e.type)).toEqual(['session.signed_out', 'session.created', 'user.created']);
    expect(events[0]).toMatchObject({ sessionId: sid, ip: '203.0.113.10', userAgent: 'Firefox/200' });
    expect(events[1]).toMatchObject({ sessionId: sid, ip: '198.51.100.7', data: { method: 'test' } });
  });
});
