import { existsSync } from 'node:fs';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGatehouse, openDatabase, type Database, type Gatehouse } from '../src/index.js';
import { createDemoApp } from '../demo/app.js';
import { demoAuthz } from '../demo/authz.js';
import { createPostsStore } from '../demo/posts.js';
import { ACCESS, JWT_SECRET, REFRESH, REFRESHABLE } from './jwt-helpers.js';

/**
 * JWT mode in a real headless Chromium on http://localhost: the cookies as the browser keeps
 * them, the refresh cookie travelling only to the refresh endpoint, and gatehouse/client's
 * authFetch refreshing once for many calls and across two tabs (real Web Locks). The server's
 * clock moves forward instead of the test sleeping.
 */
const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium && process.env.GATEHOUSE_REQUIRE_SERVICES === '1') throw new Error(`Chromium not found at ${CHROMIUM} (required)`);

interface Seen {
  method: string;
  path: string;
  status: number;
  refreshCookie: boolean;
  accessCookie: boolean;
}

describe.runIf(hasChromium)('JWT mode in a real browser', () => {
  const seen: Seen[] = [];
  const clock = { now: Date.now() };
  let database: Database;
  let auth: Gatehouse;
  let server: ServerType;
  let origin: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;

  const refreshes = () => seen.filter((s) => s.path === '/auth/token/refresh').length;
  /** gatehouse/client's authFetch, loaded as the browser module the package ships, called inside the page. */
  // A string, so the test runner's transform leaves the page's dynamic import() alone.
  const authFetchAll = (p: Page, paths: string[]): Promise<number[]> =>
    p.evaluate(`(async () => {
      const { authFetch } = await import('/auth/assets/client/refresh.js');
      return Promise.all(${JSON.stringify(paths)}.map(async (u) => (await authFetch(u)).status));
    })()`);

  beforeAll(async () => {
    // Late-bound: the origin (and so the app) needs the port first.
    const late: { app?: Hono } = {};
    const started = await new Promise<{ server: ServerType; port: number }>((resolve) => {
      const s = serve({ fetch: (request, env) => (late.app ? late.app.fetch(request, env) : new Response(null, { status: 503 })), hostname: 'localhost', port: 0 }, (info) => resolve({ server: s, port: info.port }));
    });
    server = started.server;
    origin = `http://localhost:${started.port}`;
    database = await openDatabase('sqlite::memory:');
    auth = createGatehouse({ database, origin, authz: demoAuthz, logger: { warn: () => {}, error: () => {} }, now: () => clock.now, session: { strategy: 'jwt' }, jwt: { secret: JWT_SECRET } });
    await auth.migrate();
    const posts = createPostsStore(database);
    await posts.migrate();
    const demo = createDemoApp(auth, posts);
    const parent = new Hono();
    parent.use('*', async (c, next) => {
      await next();
      const cookie = c.req.header('cookie') ?? '';
      seen.push({ method: c.req.method, path: c.req.path, status: c.res.status, refreshCookie: cookie.includes(`${REFRESH}=`), accessCookie: cookie.includes(`${ACCESS}=`) });
    });
    parent.post('/test/sign-in', async (c) => {
      auth.verifyOrigin(c.req.raw);
      const user = await auth.users.create({ email: `ada${Math.random()}@example.com`, role: 'member' });
      const { headers } = await auth.createSession(user.id, c.req.raw, { method: 'test' });
      return new Response(null, { status: 204, headers });
    });
    parent.all('*', (c) => demo.fetch(c.req.raw, c.env));
    parent.onError((error) => auth.errorResponse(error));
    late.app = parent;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-sync'] });
    context = await browser.newContext();
    page = await context.newPage();
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    await auth?.close();
    await database?.close();
  });

  it('keeps the access JWT in a __Host- cookie and the refresh token in a __Secure- cookie for the refresh path only; scripts see neither', async () => {
    await page.goto(`${origin}/`);
    const res = await page.evaluate(async () => (await fetch('/test/sign-in', { method: 'POST' })).status);
    expect(res).toBe(204);
    const cookies = Object.fromEntries((await context.cookies()).map((c) => [c.name, c]));
    expect(cookies[ACCESS]).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Lax', path: '/', domain: 'localhost' });
    expect(cookies[REFRESH]).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Strict', path: '/auth/token/refresh' });
    expect(cookies[REFRESHABLE]).toMatchObject({ httpOnly: true, path: '/' });
    expect(cookies[ACCESS]!.expires).toBeLessThanOrEqual(Date.now() / 1000 + 901);
    expect(await page.evaluate(() => document.cookie)).toBe('');

    const session = await page.evaluate(async () => (await fetch('/auth/session')).status);
    expect(session).toBe(200);
    const last = seen.filter((s) => s.path === '/auth/session').at(-1)!;
    // COOK-04: the browser itself keeps the refresh token away from every other path.
    expect(last).toMatchObject({ accessCookie: true, refreshCookie: false });
  });

  it('authFetch: ten calls with an expired access token share one refresh, and the browser sends the refresh cookie only there', async () => {
    clock.now += 16 * 60_000;
    const before = refreshes();
    const statuses = await authFetchAll(page, Array(10).fill('/api/posts'));
    expect(statuses).toEqual(Array(10).fill(200));
    expect(refreshes() - before).toBe(1);
    const refresh = seen.filter((s) => s.path === '/auth/token/refresh').at(-1)!;
    expect(refresh).toMatchObject({ method: 'POST', status: 200, refreshCookie: true });
  });

  it('two tabs refreshing at once: one refresh through the Web Lock, both tabs signed in', async () => {
    const second = await context.newPage();
    await second.goto(`${origin}/`);
    clock.now += 16 * 60_000;
    const before = refreshes();
    const [a, b] = await Promise.all([authFetchAll(page, ['/api/posts', '/auth/session']), authFetchAll(second, ['/api/posts', '/auth/session'])]);
    expect([...a, ...b]).toEqual([200, 200, 200, 200]);
    expect(refreshes() - before).toBe(1);
    await second.close();
  });

  it('sign-out clears every JWT cookie in the browser, and the old refresh token is dead', async () => {
    const res = await page.evaluate(async () => (await fetch('/auth/sign-out', { method: 'POST' })).status);
    expect(res).toBe(204);
    const names = (await context.cookies()).map((c) => c.name);
    expect(names).not.toContain(ACCESS);
    expect(names).not.toContain(REFRESH);
    expect(names).not.toContain(REFRESHABLE);
    expect(await authFetchAll(page, ['/auth/session'])).toEqual([401]);
  });
});
