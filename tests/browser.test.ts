import { mkdirSync } from 'node:fs';
import type { ServerType } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import { Hono } from 'hono';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { chromiumAvailable, launchChromium, listen } from './support/browser.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGatehouse, openDatabase, SESSION_COOKIE, type Database, type Gatehouse } from '../src/index.js';
import { createDemoApp } from '../demo/app.js';
import { demoAuthz } from '../demo/authz.js';
import { createPostsStore } from '../demo/posts.js';

/**
 * The session cookie in a real headless Chromium on http://localhost. The tests run in order
 * against one browser context: sign in, inspect, attack, screenshot, sign out.
 * Chromium missing: skipped with a printed reason, or a failure with GATEHOUSE_REQUIRE_SERVICES=1.
 * The demo's `gatehouse` imports resolve to src/ through the alias in vitest.config.ts.
 */
const hasChromium = chromiumAvailable('the browser tests');

const EMAIL = 'ada@example.com';
const DAY_S = 24 * 60 * 60;
const SHOTS = new URL('../test-results/screenshots/', import.meta.url);

interface Seen {
  method: string;
  path: string;
  status: number;
  site: string | null;
  cookie: boolean;
}


function closeServer(server: ServerType): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

describe.runIf(hasChromium)('session cookie in a real browser', () => {
  const seen: Seen[] = [];
  let database: Database;
  let auth: Gatehouse;
  let posts: ReturnType<typeof createPostsStore>;
  let app: Hono | undefined;
  let site: { server: ServerType; port: number };
  let attacker: { server: ServerType; port: number };
  let origin: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let userId = '';

  /** Runs fetch() inside the page, so the browser decides which cookies go along. */
  const pageFetch = (path: string, init: RequestInit = {}) =>
    page.evaluate(async ([p, i]) => {
      const res = await fetch(p, i);
      return { status: res.status, text: await res.text() };
    }, [path, init] as const);
  const sessionCookies = async () => (await context.cookies()).filter((c) => c.name === SESSION_COOKIE);

  beforeAll(async () => {
    site = await listen('localhost', (request, env) => (app ? app.fetch(request, env) : new Response(null, { status: 503 })));
    origin = `http://localhost:${site.port}`;
    database = await openDatabase('sqlite::memory:');
    auth = createGatehouse({ database, origin, authz: demoAuthz, logger: { warn: () => {}, error: () => {} } });
    await auth.migrate();
    posts = createPostsStore(database);
    await posts.migrate();
    const demo = createDemoApp(auth, posts);

    const parent = new Hono();
    parent.use('*', async (c, next) => {
      await next();
      const { method, path } = c.req;
      seen.push({ method, path, status: c.res.status, site: c.req.header('sec-fetch-site') ?? null, cookie: (c.req.header('cookie') ?? '').includes(SESSION_COOKIE) });
    });
    // Stands in for an app's own sign-in method: it verified the user, now it starts the session.
    parent.post('/test/sign-in', async (c) => {
      auth.verifyOrigin(c.req.raw);
      const body: unknown = await c.req.json();
      const email = typeof body === 'object' && body !== null && 'email' in body && typeof body.email === 'string' ? body.email : '';
      const user = await auth.users.create({ email, role: 'admin' });
      userId = user.id;
      const { headers } = await auth.createSession(user.id, c.req.raw, { method: 'test', context: { ip: getConnInfo(c).remote.address } });
      return new Response(null, { status: 204, headers });
    });
    parent.all('*', (c) => demo.fetch(c.req.raw, c.env));
    parent.onError((error) => auth.errorResponse(error));
    app = parent;

    // A different site: 127.0.0.1 and localhost share no registrable domain.
    attacker = await listen('127.0.0.1', () => {
      const html = `<!doctype html><form method="POST" enctype="text/plain" action="${origin}/auth/sessions/revoke-others">
<input name='{"x":"' value='"}'></form><script>
fetch('${origin}/auth/sign-out', { method: 'POST', mode: 'no-cors', credentials: 'include' }).finally(() => document.forms[0].submit());
</script>`;
      return new Response(html, { headers: { 'content-type': 'text/html; charset=utf-8' } });
    });

    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    page = await context.newPage();
  });

  afterAll(async () => {
    await browser?.close();
    await Promise.all([site, attacker].filter((s) => s !== undefined).map((s) => closeServer(s.server)));
    await auth?.close();
    await database?.close();
  });

  // COOK-01, COOK-06: one __Host- cookie, HttpOnly, Secure, Lax, host-only, lives at most 30 days.
  it('sets a __Host- session cookie that Chromium accepts on http://localhost', async () => {
    await page.goto(`${origin}/`);
    const res = await pageFetch('/test/sign-in', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: EMAIL }) });
    expect(res).toEqual({ status: 204, text: '' });
    const cookies = await sessionCookies();
    expect(cookies).toHaveLength(1);
    const [cookie] = cookies;
    expect(cookie).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Lax', path: '/', domain: 'localhost' });
    const nowS = Date.now() / 1000;
    expect(cookie?.expires).toBeLessThanOrEqual(nowS + 30 * DAY_S + 5);
    expect(cookie?.expires).toBeGreaterThan(nowS + 29 * DAY_S); // persistent, not a browser-session cookie
  });

  // COOK-02: page scripts and response bodies never see the token.
  it('keeps the token out of document.cookie and out of JSON bodies', async () => {
    const token = (await sessionCookies())[0]?.value ?? '';
    expect(token.length).toBeGreaterThan(20);
    expect(await page.evaluate(() => document.cookie)).not.toContain(token);
    const session = await pageFetch('/auth/session');
    expect(session.status).toBe(200);
    expect(session.text).not.toContain(token); // and the sign-in body was empty (previous test)
  });

  // COOK-01: the browser sends the cookie back, same-origin fetch and page loads alike.
  it('authenticates fetch("/auth/session") and the home page', async () => {
    const res = await pageFetch('/auth/session');
    expect(res.status).toBe(200);
    expect((JSON.parse(res.text) as { user: { email: string } }).user.email).toBe(EMAIL);
    await page.goto(`${origin}/`);
    expect(await page.locator('nav .who').innerText()).toContain(`Signed in as ${EMAIL}`);
  });

  // CSRF-01/03: a cross-site form POST and no-cors fetch are refused and change nothing.
  it('refuses cross-site POSTs from another site in the same browser', async () => {
    const token = (await sessionCookies())[0]?.value;
    const sessionId = (JSON.parse((await pageFetch('/auth/session')).text) as { session: { id: string } }).session.id;
    // A second device, so that a successful revoke-others would be visible in the database.
    const other = await auth.createSession(userId, new Request(`${origin}/`, { headers: { 'user-agent': 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Safari/604.1' } }), { method: 'test' });

    const evil = await context.newPage();
    await Promise.all([evil.waitForURL(`${origin}/auth/sessions/revoke-others`), evil.goto(`http://127.0.0.1:${attacker.port}/`)]);
    await evil.close();

    // Fetch Metadata marks both as cross-site and the server refuses them (403) before any route runs;
    // SameSite=Lax kept the cookie off them as well (COOK-03).
    expect(seen).toEqual(
      expect.arrayContaining([
        { method: 'POST', path: '/auth/sign-out', status: 403, site: 'cross-site', cookie: false },
        { method: 'POST', path: '/auth/sessions/revoke-others', status: 403, site: 'cross-site', cookie: false },
      ]),
    );
    expect((await sessionCookies())[0]?.value).toBe(token);
    expect((await pageFetch('/auth/session')).status).toBe(200);
    const rows = (await (await auth.storage()).listUserSessions(userId)).map((s) => s.id);
    expect(rows).toEqual(expect.arrayContaining([sessionId, other.session.id]));
  });

  it('screenshots /, /posts and /account/sessions at 1280x800 and 375x740', async () => {
    mkdirSync(SHOTS, { recursive: true });
    await posts.create(userId, 'Welcome to the board', 'Members read, editors write, admins delete.');
    await posts.create(userId, 'Passkeys are coming', 'Until then, an operator creates accounts with the CLI.');
    const phone = await browser.newContext({ storageState: await context.storageState(), viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true });
    const views: [string, Page][] = [['desktop', page], ['phone', await phone.newPage()]];
    for (const [name, view] of views) {
      for (const [slug, path] of [['home', '/'], ['posts', '/posts'], ['sessions', '/account/sessions']] as const) {
        const res = await view.goto(`${origin}${path}`);
        expect(res?.status()).toBe(200);
        await view.screenshot({ path: new URL(`${slug}-${name}.png`, SHOTS).pathname, fullPage: true });
      }
    }
    await phone.close();
  });

  // SESS-07: the demo's "Sign out" button ends the session server-side and clears the cookie.
  it('signs out with the demo button', async () => {
    await page.goto(`${origin}/`);
    const sessionId = (JSON.parse((await pageFetch('/auth/session')).text) as { session: { id: string } }).session.id;
    await page.click('[data-action="sign-out"]');
    await page.locator('nav .who', { hasText: 'Not signed in' }).waitFor();
    expect(await sessionCookies()).toEqual([]);
    expect((await pageFetch('/auth/session')).status).toBe(401);
    const rows = (await (await auth.storage()).listUserSessions(userId)).map((s) => s.id);
    expect(rows).not.toContain(sessionId);
    expect(seen.filter((r) => r.status >= 500)).toEqual([]);
  });
});
