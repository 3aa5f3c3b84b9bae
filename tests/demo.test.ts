import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createDemoApp } from '../demo/app.js';
import { createPostsStore } from '../demo/posts.js';
import { demoAuthz } from '../demo/authz.js';
import { getTestInstance, ORIGIN, type TestInstance } from './helpers.js';

let t: TestInstance;
afterEach(async () => t?.close());

async function demo() {
  t = await getTestInstance({ authz: demoAuthz });
  const posts = createPostsStore(t.database);
  await posts.migrate();
  const app = createDemoApp(t.auth, posts);
  const call = (path: string, init: RequestInit & { cookie?: string } = {}) => {
    const headers = new Headers(init.headers);
    if (init.cookie) headers.set('cookie', init.cookie);
    if (!headers.has('sec-fetch-site')) headers.set('sec-fetch-site', 'same-origin');
    if (init.body && !headers.has('content-type')) headers.set('content-type', 'application/json');
    return app.fetch(new Request(`${ORIGIN}${path}`, { ...init, headers }));
  };
  return { app, posts, call };
}

describe('demo posts board: authorization by permission', () => {
  it('member reads, editor writes, admin deletes; anonymous gets 401', async () => {
    const { call } = await demo();
    const member = await t.signIn('member@example.com', { role: 'member' });
    const editor = await t.signIn('editor@example.com', { role: 'editor' });
    const admin = await t.signIn('admin@example.com', { role: 'admin' });
    const body = JSON.stringify({ title: 'Hello', body: 'First post' });

    expect((await call('/api/posts')).status).toBe(401);
    expect((await call('/api/posts', { cookie: member.cookie })).status).toBe(200);
    expect((await call('/api/posts', { method: 'POST', cookie: member.cookie, body })).status).toBe(403);
    const created = await call('/api/posts', { method: 'POST', cookie: editor.cookie, body });
    expect(created.status).toBe(201);
    const { post } = (await created.json()) as { post: { id: number } };
    expect((await call(`/api/posts/${post.id}`, { method: 'DELETE', cookie: editor.cookie })).status).toBe(403);
    expect((await call(`/api/posts/${post.id}`, { method: 'DELETE', cookie: admin.cookie })).status).toBe(204);
    expect((await call(`/api/posts/${post.id}`, { method: 'DELETE', cookie: admin.cookie })).status).toBe(404);
  });

  it('refuses a cross-site post and a text/plain body, storing nothing', async () => {
    const { call, posts } = await demo();
    const editor = await t.signIn('editor@example.com', { role: 'editor' });
    const body = JSON.stringify({ title: 'x', body: 'y' });
    expect((await call('/api/posts', { method: 'POST', cookie: editor.cookie, body, headers: { 'sec-fetch-site': 'cross-site' } })).status).toBe(403);
    const plain = await call('/api/posts', { method: 'POST', cookie: editor.cookie, body, headers: { 'content-type': 'text/plain' } });
    expect(plain.status).toBe(415);
    const invalid = await call('/api/posts', { method: 'POST', cookie: editor.cookie, body: '{"title":""}' });
    expect(invalid.status).toBe(400);
    expect(await posts.list()).toEqual([]);
  });

  it('serves the pages; signed out they say so, and protected pages answer 401 or go to sign-in', async () => {
    const { call } = await demo();
    const home = await call('/');
    expect(home.status).toBe(200);
    expect(await home.text()).toContain('You are not signed in');
    expect((await call('/posts')).status).toBe(401);
    const anonymous = await call('/auth/account');
    expect(anonymous.status).toBe(303);
    expect(anonymous.headers.get('location')).toBe('/auth/sign-in?next=%2Fauth%2Faccount');
    const admin = await t.signIn('admin@example.com', { role: 'admin' });
    const page = await call('/auth/account', { cookie: admin.cookie });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('this device');
    expect(html).not.toContain(admin.cookie.split('.')[1]!);
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(page.headers.get('cache-control')).toBe('no-store');
  });

  it('keeps the short page paths as redirects to the built-in pages, query included', async () => {
    const { call } = await demo();
    for (const [from, to] of [
      ['/sign-in?error=OAUTH_ACCESS_DENIED', '/auth/sign-in?error=OAUTH_ACCESS_DENIED'],
      ['/sign-up', '/auth/sign-up'],
      ['/recover', '/auth/recover'],
      ['/account?welcome=1', '/auth/account?welcome=1'],
      ['/account/sessions', '/auth/account#devices'],
    ]) {
      const res = await call(from!);
      expect(res.status, from).toBe(302);
      expect(res.headers.get('location'), from).toBe(to);
    }
  });

  it('serves the built-in passkey pages; the import map is the only inline script, allowed by its CSP hash', async () => {
    const { call } = await demo();
    for (const path of ['/auth/sign-in', '/auth/sign-up', '/auth/recover']) expect((await call(path)).status, path).toBe(200);
    const res = await call('/auth/sign-in');
    const html = await res.text();
    expect(html).toContain('autocomplete="username webauthn"');
    expect(html).toContain('href="/auth/recover"');
    const inline = [...html.matchAll(/<script([^>]*)>([^<]*)<\/script>/g)].filter(([, , body]) => body !== '');
    expect(inline.map(([, attrs]) => attrs?.trim())).toEqual(['type="importmap"']);
    const hash = createHash('sha256').update(inline[0]![2]!).digest('base64');
    expect(res.headers.get('content-security-policy')).toContain(`script-src 'self' 'sha256-${hash}';`);
    expect(JSON.parse(inline[0]![2]!)).toEqual({
      imports: { 'gatehouse/client': '/auth/assets/client/index.js', '@simplewebauthn/browser': '/auth/assets/simplewebauthn/index.js' },
    });
  });

  it('the account page needs a session and shows passkeys, recovery codes and devices', async () => {
    const { call } = await demo();
    const anonymous = await call('/auth/account?recovered=1');
    expect(anonymous.status).toBe(303);
    expect(anonymous.headers.get('location')).toBe(`/auth/sign-in?next=${encodeURIComponent('/auth/account?recovered=1')}`);
    const member = await t.signIn('member@example.com', { role: 'member' });
    const page = await call('/auth/account', { cookie: member.cookie });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('member@example.com');
    expect(html).toContain('You have no passkeys.');
    expect(html).toContain('You have no recovery codes yet.');
    expect(html).toContain('this device'); // the devices table
    expect(await (await call('/auth/account?recovered=1', { cookie: member.cookie })).text()).toContain('Add a passkey now');
  });

  it('escapes user content in pages', async () => {
    const { call } = await demo();
    const editor = await t.signIn('editor@example.com', { role: 'editor' });
    await call('/api/posts', { method: 'POST', cookie: editor.cookie, body: JSON.stringify({ title: '<script>alert(1)</script>', body: '<img src=x onerror=alert(1)>' }) });
    const html = await (await call('/posts', { cookie: editor.cookie })).text();
    expect(html).not.toContain('<script>alert(1)</script>');
    expect(html).not.toContain('<img src=x');
    expect(html).toContain('&lt;script&gt;');
  });

  it('unknown routes get the JSON 404', async () => {
    const { call } = await demo();
    const res = await call('/nope');
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
  });
});
