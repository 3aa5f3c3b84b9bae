import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { defineAuthz, defaultAuthz, gatehousePermissions as P, AuthzDefinitionError } from '../src/authz/index.js';
import { getTestInstance, testAuthz, type TestInstance } from './helpers.js';

let t: TestInstance;
afterEach(async () => t?.close());

describe('can(): deny by default', () => {
  it('grants only listed permissions of known roles', () => {
    expect(testAuthz.can('editor', 'posts:write')).toBe(true);
    expect(testAuthz.can('member', 'posts:write')).toBe(false);
    expect(testAuthz.can('ghost', 'posts:read')).toBe(false);
    expect(testAuthz.can('member', 'posts:nope')).toBe(false);
    for (const hostile of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', '']) {
      expect(testAuthz.can(hostile, 'posts:read')).toBe(false);
      expect(testAuthz.can('admin', hostile)).toBe(false);
    }
  });

  it('orders roles: nobody assigns or manages above their own rank', () => {
    expect(testAuthz.canAssign('admin', 'editor')).toBe(true);
    expect(testAuthz.canAssign('admin', 'admin')).toBe(true);
    expect(testAuthz.canAssign('admin', 'owner')).toBe(false);
    expect(testAuthz.canAssign('admin', 'ghost')).toBe(false);
    expect(testAuthz.canManage('admin', 'owner')).toBe(false);
    expect(testAuthz.canManage('ghost', 'member')).toBe(false);
  });

  it('rejects broken definitions at startup with a message saying what to fix', () => {
    expect(() => defineAuthz({ roles: [], permissions: {} })).toThrow(AuthzDefinitionError);
    expect(() => defineAuthz({ roles: ['a', 'a'], permissions: { a: [] } })).toThrow(/listed twice/);
    expect(() => defineAuthz({ roles: ['a'], permissions: { a: [], b: [] } as never })).toThrow(/"b", which is not in roles/);
    expect(() => defineAuthz({ roles: ['a'], permissions: {} as never })).toThrow(/no permission list/);
    expect(() => defineAuthz({ roles: ['Admin'], permissions: { Admin: [] } })).toThrow(/lower-case/);
    expect(() => defineAuthz({ roles: ['a'], permissions: { a: [] }, defaultRole: 'b' as 'a' })).toThrow(/defaultRole/);
  });

  it('the default table gives members nothing and admins Gatehouse\'s admin permissions', () => {
    expect(defaultAuthz.permissionsOf('member')).toEqual([]);
    expect(defaultAuthz.can('admin', P.usersManage)).toBe(true);
  });
});

describe('authorization is separate from authentication', () => {
  it('src/authz imports nothing outside src/authz', () => {
    const dir = join(import.meta.dirname, '..', 'src', 'authz');
    for (const file of readdirSync(dir)) {
      const text = readFileSync(join(dir, file), 'utf8');
      const imports = [...text.matchAll(/(?:import|export)[^'"]*from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]/g)].map((m) => m[1] ?? m[2]);
      for (const spec of imports) expect(spec, `${file} imports ${spec}`).toMatch(/^\.\/[^/]+$/);
    }
  });
});

const adminRoutes: [string, string, string?][] = [
  ['GET', '/auth/admin/users'],
  ['GET', '/auth/admin/events'],
  ['PATCH', '/auth/admin/users/ID', '{"role":"admin"}'],
  ['POST', '/auth/admin/users/ID/revoke-sessions'],
];

describe('AUTHZ-01 every admin route refuses anonymous (401) and non-admins (403)', () => {
  it.each(adminRoutes)('%s %s', async (method, path, body) => {
    t = await getTestInstance();
    const member = await t.signIn('member@example.com');
    const editor = await t.signIn('editor@example.com', { role: 'editor' });
    const url = path.replace('ID', member.userId);
    expect((await t.request(url, { method, body })).status).toBe(401);
    expect((await t.request(url, { method, body, cookie: member.cookie })).status).toBe(403);
    expect((await t.request(url, { method, body, cookie: editor.cookie })).status).toBe(403);
    expect((await (await t.auth.storage()).findUserById(member.userId))?.role).toBe('member');
    expect((await t.request('/auth/session', { cookie: member.cookie })).status).toBe(200);
  });

  it('path and method variants never reach an admin action', async () => {
    t = await getTestInstance();
    const member = await t.signIn('member@example.com');
    const variants = ['/auth/admin/users/', '/auth//admin/users', '/auth/ADMIN/users', '/auth/admin/./users', '/auth/admin/users%2F', '/auth/admin/users?x=/admin'];
    for (const path of variants) {
      const res = await t.request(path, { cookie: member.cookie });
      expect(res.status, path).not.toBe(200);
      expect([401, 403, 404]).toContain(res.status);
    }
    for (const method of ['PUT', 'DELETE', 'PATCH', 'POST']) {
      expect((await t.request('/auth/admin/users', { method, cookie: member.cookie })).status).toBeGreaterThanOrEqual(400);
    }
  });
});

describe('AUTHZ-02 no IDOR on sessions', () => {
  it('another user\'s session id is "not found" and stays alive', async () => {
    t = await getTestInstance();
    const alice = await t.signIn('alice@example.com');
    const bob = await t.signIn('bob@example.com');
    const bobSession = bob.cookie.split('=')[1]!.split('.')[0]!;
    const res = await t.request(`/auth/sessions/${bobSession}`, { method: 'DELETE', cookie: alice.cookie });
    expect(res.status).toBe(404);
    expect((await t.request('/auth/session', { cookie: bob.cookie })).status).toBe(200);
  });
});

describe('AUTHZ-03/04 identity and role come only from the server', () => {
  it('ignores client-sent identity headers', async () => {
    t = await getTestInstance();
    const member = await t.signIn('member@example.com');
    const headers = { 'x-user-id': 'admin', 'x-user-role': 'admin', 'x-gatehouse-role': 'admin', authorization: 'Bearer admin' };
    expect((await t.request('/auth/admin/users', { cookie: member.cookie, headers })).status).toBe(403);
    expect((await t.request('/auth/admin/users', { headers })).status).toBe(401);
  });

  it('an admin cannot grant a role above their own, nor manage a higher account', async () => {
    t = await getTestInstance();
    const admin = await t.signIn('admin@example.com', { role: 'admin' });
    const member = await t.signIn('member@example.com');
    const owner = await t.signIn('owner@example.com', { role: 'owner' });
    const grant = await t.request(`/auth/admin/users/${member.userId}`, { method: 'PATCH', cookie: admin.cookie, body: '{"role":"owner"}' });
    expect(grant.status).toBe(403);
    const demote = await t.request(`/auth/admin/users/${owner.userId}`, { method: 'PATCH', cookie: admin.cookie, body: '{"role":"member"}' });
    expect(demote.status).toBe(403);
    const disable = await t.request(`/auth/admin/users/${owner.userId}`, { method: 'PATCH', cookie: admin.cookie, body: '{"disabled":true}' });
    expect(disable.status).toBe(403);
    const self = await t.request(`/auth/admin/users/${admin.userId}`, { method: 'PATCH', cookie: admin.cookie, body: '{"disabled":true}' });
    expect(self.status).toBe(409);
    const store = await t.auth.storage();
    expect((await store.findUserById(member.userId))?.role).toBe('member');
    expect(await store.findUserById(owner.userId)).toMatchObject({ role: 'owner', disabled: false });
  });

  it('refuses unknown fields in the admin patch (no setting ids or flags through it)', async () => {
    t = await getTestInstance();
    const admin = await t.signIn('admin@example.com', { role: 'admin' });
    const member = await t.signIn('member@example.com');
    const res = await t.request(`/auth/admin/users/${member.userId}`, { method: 'PATCH', cookie: admin.cookie, body: '{"email":"x@evil.example","role":"editor"}' });
    expect(res.status).toBe(400);
    expect((await (await t.auth.storage()).findUserById(member.userId))?.email).toBe('member@example.com');
  });
});

describe('AUTHZ-05 role changes are immediate', () => {
  it('an admin demoted by another admin loses admin access on the next request', async () => {
    t = await getTestInstance();
    const a = await t.signIn('a@example.com', { role: 'admin' });
    const b = await t.signIn('b@example.com', { role: 'admin' });
    const res = await t.request(`/auth/admin/users/${b.userId}`, { method: 'PATCH', cookie: a.cookie, body: '{"role":"member"}' });
    expect(res.status).toBe(200);
    expect((await t.request('/auth/admin/users', { cookie: b.cookie })).status).toBe(403);
  });
});

describe('a permission no role has (a typo in a guard)', () => {
  it('the Express and Hono guards say so when they are made (at startup), naming it; they still answer 403, as before', async () => {
    const warnings: string[] = [];
    t = await getTestInstance({ logger: { warn: (message) => void warnings.push(message), error: () => {} } });
    const { createExpressAdapter } = await import('../src/adapters/express.js');
    const { createHonoAdapter } = await import('../src/adapters/hono.js');
    for (const adapter of [createExpressAdapter(t.auth), createHonoAdapter(t.auth)]) {
      expect(() => adapter.requirePermission('posts:wrte')).not.toThrow();
      expect(() => adapter.requirePermission('posts:write')).not.toThrow();
    }
    expect(warnings).toEqual([expect.stringContaining('requirePermission("posts:wrte"): no role in your defineAuthz() table has this permission'), expect.stringContaining('"posts:wrte"')]);
    expect(testAuthz.isPermission('posts:write')).toBe(true);
    for (const name of ['posts:wrte', '__proto__', 'toString', '']) expect(testAuthz.isPermission(name), name).toBe(false);
  });

  it('an Authz object without isPermission (not made by defineAuthz) still works: no warning, no TypeError', async () => {
    const { isPermission: _dropped, ...custom } = testAuthz;
    t = await getTestInstance({ authz: custom as typeof testAuthz });
    const { cookie } = await t.signIn('custom@example.com', { role: 'admin' });
    const { createHonoAdapter } = await import('../src/adapters/hono.js');
    expect(() => createHonoAdapter(t.auth).requirePermission('posts:write')).not.toThrow();
    await expect(t.auth.requirePermission(new Request('http://localhost:3000/api', { headers: { cookie } }), 'posts:write')).resolves.toMatchObject({ user: { email: 'custom@example.com' } });
  });

  it('auth.requirePermission (checked per request) refuses with 403 and warns once per name', async () => {
    const warnings: string[] = [];
    t = await getTestInstance({ logger: { warn: (message) => void warnings.push(message), error: () => {} } });
    const { cookie } = await t.signIn('typo@example.com', { role: 'admin' });
    const request = () => new Request('http://localhost:3000/api', { headers: { cookie } });
    for (let i = 0; i < 3; i++) await expect(t.auth.requirePermission(request(), 'posts:wrte')).rejects.toMatchObject({ status: 403 });
    expect(warnings.filter((w) => w.includes('"posts:wrte"'))).toHaveLength(1);
    // Signed out: refused before the name is looked at, so anonymous requests never fill the set.
    await expect(t.auth.requirePermission(new Request('http://localhost:3000/api'), 'doc:1:read')).rejects.toMatchObject({ status: 401 });
    expect(warnings.some((w) => w.includes('doc:1:read'))).toBe(false);
    await expect(t.auth.requirePermission(request(), 'posts:write')).resolves.toMatchObject({ user: { email: 'typo@example.com' } });
    expect(warnings).toHaveLength(1);
  });
});
