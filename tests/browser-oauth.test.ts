import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ServerType } from '@hono/node-server';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { addVirtualAuthenticator, chromiumAvailable, closeAll, launchChromium, listen } from './support/browser.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGatehouse, oidcProvider, openDatabase, SESSION_COOKIE, type Database, type Gatehouse } from '../src/index.js';
import { startDevIdp, type DevIdp } from '../src/dev-idp/dev-idp.js';
import { createDemoApp } from '../demo/app.js';
import { demoAuthz } from '../demo/authz.js';
import { createPostsStore } from '../demo/posts.js';

/**
 * "Sign in with Dev IdP" end to end, offline: the demo's pages in headless Chromium, the dev
 * IdP (a real OpenID Provider on oidc-provider) on loopback, openid-client in between. One
 * person, in order: sign in (sign-up) with the IdP, cancel at the IdP, sign up with a passkey
 * and link the IdP from the account page, unlink it. Screenshots in test-results/screenshots/.
 */
const hasChromium = chromiumAvailable('the browser OAuth tests');

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SHOTS = new URL('../test-results/screenshots/', import.meta.url);


describe.runIf(hasChromium)('OAuth sign-in with the dev IdP in a real browser', () => {
  const problems: string[] = [];
  let database: Database;
  let auth: Gatehouse;
  let app: ReturnType<typeof createDemoApp> | undefined;
  let site: { server: ServerType; port: number };
  let origin: string;
  let idp: DevIdp;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;

  const url = (path: string) => `${origin}${path}`;
  const sessionCookie = async () => (await context.cookies()).find((c) => c.name === SESSION_COOKIE);
  const shot = (name: string) => page.screenshot({ path: new URL(`oauth-${name}.png`, SHOTS).pathname, fullPage: true });
  const identities = async () => database.kysely.selectFrom('gatehouse_identities').selectAll().execute();
  const signOut = async () => {
    await page.goto(url('/'));
    await page.click('[data-action="sign-out"]');
    await page.locator('nav .who', { hasText: 'Not signed in' }).waitFor();
  };

  beforeAll(async () => {
    execFileSync(process.execPath, ['scripts/build.mjs', '--if-needed'], { cwd: ROOT, stdio: 'inherit' });
    mkdirSync(SHOTS, { recursive: true });
    site = await listen('localhost', async (request) => (app ? app.fetch(request) : new Response(null, { status: 503 })));
    origin = `http://localhost:${site.port}`;
    idp = await startDevIdp({ clients: [{ clientId: 'gatehouse-demo', redirectUris: [`${origin}/auth/oauth/dev/callback`] }] });
    database = await openDatabase('sqlite::memory:');
    auth = createGatehouse({
      database,
      origin,
      authz: demoAuthz,
      oauth: { providers: [oidcProvider({ id: 'dev', name: 'Dev IdP', issuer: idp.issuer, clientId: 'gatehouse-demo', idTokenAlg: 'ES256' })] },
      logger: { warn: () => {}, error: () => {} },
    });
    await auth.migrate();
    const posts = createPostsStore(database);
    await posts.migrate();
    app = createDemoApp(auth, posts);

    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
    page = await context.newPage();
    page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) problems.push(msg.text());
    });
    page.on('dialog', (dialog) => void dialog.accept());
  });

  afterAll(async () => {
    await closeAll(browser, site, idp, auth, database);
  });

  it('signs up and in with "Sign in with Dev IdP" from the sign-in page', async () => {
    await page.goto(url('/auth/sign-in'));
    await shot('sign-in');
    await page.click('a[data-provider="dev"]');
    await page.waitForURL(/\/interaction\//);
    await page.locator('h1', { hasText: 'choose a test user' }).waitFor();
    await shot('dev-idp-chooser');
    await Promise.all([page.waitForURL(url('/auth/account')), page.click('button:has-text("Continue as Alice")')]);
    await page.locator('nav .who', { hasText: 'alice@example.com' }).waitFor();
    const cookie = await sessionCookie();
    expect(cookie).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Lax' });
    expect(await page.locator('#linked tbody tr').count()).toBe(1);
    await expect(page.locator('#linked tbody tr').innerText()).resolves.toContain('Dev IdP');
    const [identity] = await identities();
    expect(identity).toMatchObject({ issuer: idp.issuer, subject: 'dev-alice', email: 'alice@example.com', email_verified: 1 });
    await shot('account-after-sign-in');
    expect(problems).toEqual([]);
  });

  it('cancelling at the provider comes back to the sign-in page with a clear message and no session', async () => {
    await signOut();
    await page.goto(url('/auth/sign-in'));
    await page.click('a[data-provider="dev"]');
    await page.waitForURL(/\/interaction\//);
    await Promise.all([page.waitForURL(url('/auth/sign-in?error=OAUTH_ACCESS_DENIED')), page.click('button:has-text("Cancel")')]);
    await expect(page.locator('[role=alert]').innerText()).resolves.toContain('cancelled at the provider');
    expect(await sessionCookie()).toBeUndefined();
    await shot('cancelled');
  });

  it('links the Dev IdP from the account page of a passkey account, then unlinks it', async () => {
    const cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    await addVirtualAuthenticator(cdp);
    await page.goto(url('/auth/sign-up'));
    await page.fill('#email', 'grace@example.com');
    await page.fill('#name', 'Grace');
    await Promise.all([page.waitForURL(url('/auth/account?welcome=1')), page.click('button[type=submit]')]);
    await expect(page.locator('#linked').innerText()).resolves.toContain('No provider is linked yet');
    // Grace is also signed in on another device: adding a way to sign in offers to end it (SESS-08).
    const graceId = (await (await auth.storage()).findUserByEmail('grace@example.com'))!.id;
    const otherDevice = await auth.createSession(graceId, new Request(url('/')), { method: 'test' });
    await page.reload();

    await page.click('button[data-action="link"][data-provider="dev"]');
    await page.waitForURL(/\/interaction\//);
    await Promise.all([page.waitForURL(url('/auth/account#linked')), page.click('button:has-text("Continue as Bob")')]);
    await page.locator('#linked tbody tr', { hasText: 'bob@example.com' }).waitFor();
    const grace = await (await auth.storage()).findUserByEmail('grace@example.com');
    expect((await identities()).filter((i) => i.user_id === grace!.id)).toEqual([expect.objectContaining({ subject: 'dev-bob', provider: 'dev' })]);
    // Still Grace: linking adds a way to sign in, it does not switch accounts.
    await page.locator('nav .who', { hasText: 'grace@example.com' }).waitFor();
    // The offer was accepted (this suite accepts every dialog): the other device is signed out, this one is not.
    await page.locator('#linked [role=status]', { hasText: '1 other device signed out' }).waitFor();
    const left = await (await auth.storage()).listUserSessions(graceId);
    expect(left.map((x) => x.id)).not.toContain(otherDevice.session.id);
    expect(left).toHaveLength(1);
    await shot('account-linked');

    await Promise.all([page.waitForLoadState('load'), page.click('button[data-action="unlink"]')]);
    await page.locator('#linked', { hasText: 'No provider is linked yet' }).waitFor();
    expect((await identities()).filter((i) => i.user_id === grace!.id)).toEqual([]);
    await shot('account-unlinked');
    expect(problems).toEqual([]);
  });

  it('a link from elsewhere to /auth/account#linked asks nothing: only a link this tab started may offer to sign out other devices', async () => {
    // Grace (signed in above) is signed in on another device too.
    const graceId = (await (await auth.storage()).findUserByEmail('grace@example.com'))!.id;
    const otherDevice = await auth.createSession(graceId, new Request(url('/')), { method: 'test' });
    const asked: string[] = [];
    const record = (dialog: { message(): string }) => void asked.push(dialog.message());
    page.on('dialog', record);
    try {
      // A fresh tab, as if a link on another site was followed: no link was started from it.
      await page.goto('about:blank');
      await page.evaluate(() => sessionStorage.clear()).catch(() => {});
      await page.goto(url('/auth/account#linked'));
      // The page's script ran (it drops the #linked it was given) ...
      await page.waitForFunction(() => location.hash === '');
      await page.waitForLoadState('networkidle');
    } finally {
      page.off('dialog', record);
    }
    // ... and asked nothing (without the check it asked "Also sign out your 1 other device?").
    expect(asked).toEqual([]);
    expect((await (await auth.storage()).listUserSessions(graceId)).map((x) => x.id)).toContain(otherDevice.session.id);
    expect(problems).toEqual([]);
  });
});
