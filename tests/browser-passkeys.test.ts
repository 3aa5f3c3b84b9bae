import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ServerType } from '@hono/node-server';
import { sql } from 'kysely';
import { type Browser, type BrowserContext, type CDPSession, type Page } from 'playwright-core';
import { addVirtualAuthenticator, chromiumAvailable, closeAll, launchChromium, listen } from './support/browser.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGatehouse, openDatabase, SESSION_COOKIE, type Database, type Gatehouse } from '../src/index.js';
import { createDemoApp } from '../demo/app.js';
import { demoAuthz } from '../demo/authz.js';
import { createPostsStore } from '../demo/posts.js';

/**
 * Passkeys end to end: the demo's pages, gatehouse/client and @simplewebauthn/browser served
 * as ES modules, in a real headless Chromium whose WebAuthn requests are answered by the
 * DevTools virtual authenticator (CDP WebAuthn domain). The tests run in order, one person:
 * sign up, sign out, sign in (button, then autofill), add, rename and delete passkeys,
 * recovery codes, recovery sign-in, rate limiting; then screenshots.
 *
 * What this Chromium does with conditional mediation (autofill): with automatic presence
 * simulation ON, the virtual authenticator answers a `mediation: 'conditional'` request as
 * soon as the page makes it; headless Chromium shows no autofill menu, so there is nothing to
 * pick and focusing the field changes nothing. With presence simulation OFF, the request stays
 * pending (the server has issued its challenge) until the page aborts it. The button test uses
 * the second behaviour, the autofill test the first.
 *
 * The page scripts and the client are served from dist/, so this file builds first (if needed).
 * Chromium missing: skipped with a printed reason, or a failure with GATEHOUSE_REQUIRE_SERVICES=1.
 */
const hasChromium = chromiumAvailable('the browser passkey tests');

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SHOTS = new URL('../test-results/screenshots/', import.meta.url);
const EMAIL = 'grace@example.com';
const NAME = 'Grace Hopper';
const MINUTE = 60_000;


/** CDP's credential ids are base64; the server's are base64url. */
const base64url = (b64: string) => Buffer.from(b64, 'base64').toString('base64url');

describe.runIf(hasChromium)('passkeys in a real browser (demo app, virtual authenticator)', () => {
  const seen: string[] = [];
  const problems: string[] = [];
  const mediations: string[] = [];
  let clockOffset = 0;
  let database: Database;
  let auth: Gatehouse;
  let app: ReturnType<typeof createDemoApp> | undefined;
  let site: { server: ServerType; port: number };
  let origin: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let cdp: CDPSession;
  let laptop = '';
  let securityKey = '';
  let userId = '';
  let codes: string[] = [];
  let oldCodes: string[] = [];

  const url = (path: string) => `${origin}${path}`;
  const sessionCookie = async () => (await context.cookies()).find((c) => c.name === SESSION_COOKIE);
  const sessionStatus = () => page.evaluate(async () => (await fetch('/auth/session')).status);
  const store = () => auth.storage();
  const count = (entry: string) => seen.filter((s) => s === entry).length;
  const credentials = async (authenticatorId: string) => (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials;
  const presence = (authenticatorId: string, enabled: boolean) => cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled });
  const status = (scope: string) => page.locator(`${scope} [role=status]`);
  const addAuthenticator = (transport: 'internal' | 'usb') => addVirtualAuthenticator(cdp, transport);
  const signOut = async () => {
    await page.goto(url('/'));
    await page.click('[data-action="sign-out"]');
    await page.locator('nav .who', { hasText: 'Not signed in' }).waitFor();
    expect(await sessionCookie()).toBeUndefined();
  };
  const shot = (p: Page, name: string) => p.screenshot({ path: new URL(`passkeys-${name}.png`, SHOTS).pathname, fullPage: true });

  beforeAll(async () => {
    // The demo serves dist/src/client and dist/demo/browser: make sure they match the sources.
    execFileSync(process.execPath, ['scripts/build.mjs', '--if-needed'], { cwd: ROOT, stdio: 'inherit' });
    mkdirSync(SHOTS, { recursive: true });
    site = await listen('localhost', async (request) => {
      const res = app ? await app.fetch(request) : new Response(null, { status: 503 });
      seen.push(`${request.method} ${new URL(request.url).pathname} ${res.status}`);
      return res;
    });
    origin = `http://localhost:${site.port}`;
    database = await openDatabase('sqlite::memory:');
    auth = createGatehouse({ database, origin, authz: demoAuthz, now: () => Date.now() + clockOffset, logger: { warn: () => {}, error: () => {} } });
    await auth.migrate();
    const posts = createPostsStore(database);
    await posts.migrate();
    app = createDemoApp(auth, posts);

    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
    // A spy (not a stub): records the mediation of every WebAuthn get() the pages make.
    await context.exposeFunction('__recordMediation', (m: string) => mediations.push(m));
    await context.addInitScript(() => {
      const get = navigator.credentials.get.bind(navigator.credentials);
      navigator.credentials.get = (options?: CredentialRequestOptions) => {
        const record: unknown = Reflect.get(window, '__recordMediation');
        if (typeof record === 'function') record(options?.mediation ?? 'optional');
        return get(options);
      };
    });
    page = await context.newPage();
    page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
    page.on('console', (msg) => {
      // A 4xx answer to fetch() is logged by Chromium as "Failed to load resource": expected here.
      if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) problems.push(msg.text());
    });
    cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    laptop = await addAuthenticator('internal');
  });

  afterAll(async () => {
    await closeAll(browser, site, auth, database);
  });

  it('serves gatehouse/client and @simplewebauthn/browser as ES modules, and nothing outside their folders', async () => {
    const get = (path: string) => app!.fetch(new Request(url(path)));
    for (const path of ['/auth/assets/client/index.js', '/auth/assets/simplewebauthn/index.js', '/auth/assets/simplewebauthn/methods/startAuthentication.js', '/auth/assets/ui/sign-in.js']) {
      const res = await get(path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    }
    expect(await (await get('/auth/assets/client/index.js')).text()).toContain("from '@simplewebauthn/browser'");
    for (const path of [
      '/auth/assets/client/..%2f..%2f..%2fpackage.json',
      '/auth/assets/client/%2e%2e/index.js',
      '/auth/assets/client/..%2F..%2Findex.js',
      '/auth/assets/simplewebauthn/..%2f..%2f..%2fzod%2findex.js',
      '/auth/assets/ui/..%2fapp.js',
      '/auth/assets/ui/%2fetc%2fpasswd',
      '/auth/assets/client/index.d.ts',
      '/auth/assets/client/index.js.map',
      '/auth/assets/client/',
      '/auth/assets/simplewebauthn/helpers',
    ]) {
      expect((await get(path)).status, path).toBe(404);
    }
    const csp = (await get('/auth/sign-in')).headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/script-src 'self' 'sha256-[A-Za-z0-9+/]+=*';/);
    expect(csp.match(/script-src [^;]*/)?.[0]).not.toContain('unsafe-inline');
  });

  it('signs up through the sign-up page', async () => {
    await page.goto(url('/auth/sign-up'));
    await page.fill('#email', EMAIL);
    await page.fill('#name', NAME);
    await Promise.all([page.waitForURL(url('/auth/account?welcome=1')), page.click('button[type=submit]')]);

    const user = await (await store()).findUserByEmail(EMAIL);
    expect(user).toMatchObject({ email: EMAIL, name: NAME, role: 'member' });
    userId = user!.id;
    const passkeys = await (await store()).listPasskeys(userId);
    const onLaptop = await credentials(laptop);
    expect(onLaptop).toHaveLength(1);
    expect(onLaptop[0]!.isResidentCredential).toBe(true); // discoverable: usernameless sign-in works
    expect(passkeys.map((p) => p.id)).toEqual([base64url(onLaptop[0]!.credentialId)]);
    expect(await sessionCookie()).toMatchObject({ httpOnly: true, secure: true });
    expect(await sessionStatus()).toBe(200);
    const main = page.locator('main');
    await expect.poll(() => main.innerText()).toContain(EMAIL);
    expect(await page.inputValue('#profile-name')).toBe(NAME); // the profile's editable name
    expect(await main.innerText()).toContain('Your account is ready');
    expect(await page.locator('#passkeys tbody tr').count()).toBe(1);
    expect(await page.locator('#passkeys .badge').innerText()).toBe('device-bound'); // the virtual authenticator is not backup-eligible
    await shot(page, 'account-desktop');
  });

  it('signs out', async () => {
    await signOut();
    expect(await sessionStatus()).toBe(401);
  });

  it('signing up again with the same email: no account touched, and the page says how to get in (sign in, or a recovery code)', async () => {
    await page.goto(url('/auth/sign-up'));
    await page.fill('#email', EMAIL);
    await page.fill('#name', 'Someone Else');
    await page.click('button[type=submit]');
    const status = page.locator('[role=status], [role=alert]', { hasText: 'could not be created' });
    await status.waitFor();
    expect(await status.innerText()).toContain('If this email already has an account, sign in with its passkey or use a recovery code.');
    expect(await status.locator('a').evaluateAll((links) => links.map((a) => (a as HTMLAnchorElement).pathname))).toEqual(['/auth/sign-in', '/auth/recover']);
    expect(await sessionStatus()).toBe(401);
    // The existing account is untouched: still one passkey.
    expect(await (await store()).listPasskeys(userId)).toHaveLength(1);
    await shot(page, 'sign-up-taken');
    // The authenticator made a passkey for the refused attempt: remove it, as the page suggests.
    const stored = new Set((await (await store()).listPasskeys(userId)).map((p) => p.id));
    for (const c of await credentials(laptop)) if (!stored.has(base64url(c.credentialId))) await cdp.send('WebAuthn.removeCredential', { authenticatorId: laptop, credentialId: c.credentialId });
    expect(await credentials(laptop)).toHaveLength(1);
  });

  it('signs in usernameless with the button while the autofill request waits', async () => {
    await presence(laptop, false);
    const options = count('POST /auth/passkeys/login/options 200');
    await page.goto(url('/auth/sign-in'));
    // The autofill (conditional) request started on page load: the server issued a login challenge
    // and the browser is waiting for the user to pick a passkey.
    await expect.poll(() => count('POST /auth/passkeys/login/options 200')).toBe(options + 1);
    await expect.poll(() => mediations.at(-1)).toBe('conditional');
    const pending = await sql<{ ceremony: string }>`select ceremony from gatehouse_challenges`.execute(database.kysely);
    expect(pending.rows.map((r) => r.ceremony)).toContain('login');
    expect(await sessionCookie()).toBeUndefined();
    expect(await status('form').innerText()).toBe(''); // waiting quietly, no error
    await shot(page, 'sign-in-desktop');

    await presence(laptop, true);
    const verified = count('POST /auth/passkeys/login/verify 200');
    await Promise.all([page.waitForURL(url('/auth/account')), page.click('button[type=submit]')]);
    expect(mediations.at(-1)).toBe('optional'); // the button's modal request replaced the conditional one
    expect(count('POST /auth/passkeys/login/verify 200')).toBe(verified + 1);
    expect(await sessionCookie()).toBeDefined();
    const [session] = await (await store()).listUserSessions(userId);
    expect(session?.amr).toEqual(['passkey']);
    const [passkey] = await (await store()).listPasskeys(userId);
    expect(passkey?.lastUsedAt).not.toBeNull();
    expect(await page.locator('#passkeys td.when').nth(1).innerText()).not.toContain('never');
  });

  it('signs in through the autofill of the email field', async () => {
    await signOut();
    const verified = count('POST /auth/passkeys/login/verify 200');
    const before = mediations.length;
    // No click: the conditional request that the page starts on load is answered by the authenticator.
    await Promise.all([page.waitForURL(url('/auth/account')), page.goto(url('/auth/sign-in'))]);
    expect(mediations.slice(before)).toEqual(['conditional']);
    expect(count('POST /auth/passkeys/login/verify 200')).toBe(verified + 1);
    expect(await sessionCookie()).toBeDefined();
    expect(await sessionStatus()).toBe(200);
  });

  it('renews a waiting autofill request before its challenge expires: a sign-in page left open still signs in', async () => {
    // A context of its own, so its fake clock stays out of the other tests; a second virtual
    // authenticator holds a copy of the laptop's passkey.
    const own = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await own.clock.install();
    const tab = await own.newPage();
    tab.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
    const tabCdp = await own.newCDPSession(tab);
    await tabCdp.send('WebAuthn.enable');
    const copy = await addVirtualAuthenticator(tabCdp, 'internal');
    for (const credential of await credentials(laptop)) await tabCdp.send('WebAuthn.addCredential', { authenticatorId: copy, credential });
    await tabCdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId: copy, enabled: false });
    const pendingLogins = async () => (await sql<{ challenge: string }>`select challenge from gatehouse_challenges where ceremony = 'login'`.execute(database.kysely)).rows.map((r) => r.challenge);
    const optionsServed = () => count('POST /auth/passkeys/login/options 200');
    try {
      const before = optionsServed();
      const pendingBefore = await pendingLogins();
      await tab.goto(url('/auth/sign-in'));
      await expect.poll(optionsServed).toBe(before + 1);
      const [first] = (await pendingLogins()).filter((c) => !pendingBefore.includes(c));
      expect(first).toBeDefined();

      // 4.5 minutes on, in the page and on the server: the client asks for a new challenge, which
      // replaces this browser's pending one (the first would expire at 5 minutes, unanswerable).
      clockOffset = 4.5 * MINUTE;
      await tab.clock.fastForward(4.5 * MINUTE);
      await expect.poll(optionsServed).toBe(before + 2);
      const renewed = (await pendingLogins()).filter((c) => !pendingBefore.includes(c));
      expect(renewed).toHaveLength(1);
      expect(renewed[0]).not.toBe(first);

      // Past the first challenge's lifetime, the user picks the passkey (presence on: the next
      // renewal's request is answered at once) and is signed in.
      clockOffset = 6 * MINUTE;
      await tabCdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId: copy, enabled: true });
      const verified = count('POST /auth/passkeys/login/verify 200');
      await Promise.all([tab.waitForURL(url('/auth/account')), tab.clock.fastForward(4.5 * MINUTE)]);
      expect(count('POST /auth/passkeys/login/verify 200')).toBe(verified + 1);
      expect(count('POST /auth/passkeys/login/verify 400')).toBe(0); // never CEREMONY_EXPIRED
      await tab.goto(url('/'));
      await tab.click('[data-action="sign-out"]');
      await tab.locator('nav .who', { hasText: 'Not signed in' }).waitFor();
    } finally {
      clockOffset = 0;
      await own.close();
    }
  });

  it('adds a second passkey from a second authenticator, and renames it', async () => {
    securityKey = await addAuthenticator('usb');
    // Only the security key answers; the laptop already holds a passkey for this account (excludeCredentials).
    await presence(laptop, false);
    await page.click('#passkeys [data-action="add-passkey"]');
    await expect.poll(() => status('#passkeys').innerText()).toContain('added');
    await presence(laptop, true);
    expect(await credentials(securityKey)).toHaveLength(1);
    const passkeys = await (await store()).listPasskeys(userId);
    expect(passkeys).toHaveLength(2);
    expect(passkeys.map((p) => p.id)).toContain(base64url((await credentials(securityKey))[0]!.credentialId));
    expect(await page.locator('#passkeys tbody tr').count()).toBe(2);

    const row = page.locator('#passkeys tbody tr').nth(1);
    await row.locator('[data-action="rename-passkey"]').click();
    await row.locator('form[data-form="rename"] input').fill('Blue security key');
    await row.locator('form[data-form="rename"] input').press('Enter');
    await expect.poll(() => status('#passkeys').innerText()).toContain('renamed');
    expect((await (await store()).listPasskeys(userId)).map((p) => p.name)).toContain('Blue security key');
    expect(await page.locator('#passkeys tbody').innerText()).toContain('Blue security key');
  });

  it('deletes a passkey only after confirming, and never the last one without recovery codes', async () => {
    const laptopId = base64url((await credentials(laptop))[0]!.credentialId);
    const row = page.locator(`#passkeys tr[data-passkey="${laptopId}"]`);
    page.once('dialog', (d) => void d.dismiss());
    await row.locator('[data-action="delete-passkey"]').click();
    await page.waitForTimeout(200);
    expect(await (await store()).listPasskeys(userId)).toHaveLength(2);

    page.once('dialog', (d) => void d.accept());
    await row.locator('[data-action="delete-passkey"]').click();
    await expect.poll(() => status('#passkeys').innerText()).toContain('Passkey deleted.');
    const left = await (await store()).listPasskeys(userId);
    expect(left.map((p) => p.name)).toEqual(['Blue security key']);
    expect(await page.locator('#passkeys tbody tr').count()).toBe(1);

    // The last passkey stays while there are no recovery codes: the server's message is shown.
    page.once('dialog', (d) => void d.accept());
    await page.locator('#passkeys [data-action="delete-passkey"]').click();
    await expect.poll(() => status('#passkeys').innerText()).toContain('This is your only passkey');
    expect(await (await store()).listPasskeys(userId)).toHaveLength(1);
  });

  it('offers to sign out the other devices after a passkey change (SESS-08)', async () => {
    // Another device of the same user is signed in.
    const other = await auth.createSession(userId, new Request(url('/')), { method: 'passkey' });
    await page.goto(url('/auth/account'));
    expect(await page.locator('#passkeys').getAttribute('data-other-sessions')).toBe('1');
    // The laptop's passkey was deleted above, so the laptop can add one again; the key is excluded.
    await presence(securityKey, false);
    page.once('dialog', (d) => void d.accept());
    await page.click('#passkeys [data-action="add-passkey"]');
    await expect.poll(() => status('#passkeys').innerText()).toContain('1 other device signed out');
    await presence(securityKey, true);
    const sessions = await (await store()).listUserSessions(userId);
    expect(sessions.map((s) => s.id)).not.toContain(other.session.id);
    expect(sessions).toHaveLength(1);
    expect(await sessionStatus()).toBe(200);
  });

  it('generates recovery codes, shows them once with a copy button, and confirms before replacing them', async () => {
    await page.click('[data-action="generate-codes"]');
    const list = page.locator('#recovery ol.codes li');
    await expect.poll(() => list.count()).toBe(10);
    codes = await list.allInnerTexts();
    expect(codes.every((c) => /^[A-Z2-9]{5}-[A-Z2-9]{5}$/.test(c))).toBe(true);
    expect(await (await store()).countRecoveryCodes(userId)).toBe(10);
    await page.click('[data-action="copy-codes"]');
    await expect.poll(() => status('#recovery').innerText()).toContain('Copied 10 codes');
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(codes.join('\n'));
    await shot(page, 'account-codes-desktop');

    page.once('dialog', (d) => void d.dismiss());
    await page.click('[data-action="generate-codes"]');
    await page.waitForTimeout(200);
    expect(await list.allInnerTexts()).toEqual(codes);
    expect(count('POST /auth/recovery-codes 201')).toBe(1);

    // Confirmed on a phone (same session): the new set replaces the old one.
    const phone = await browser.newContext({ storageState: await context.storageState(), viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true });
    const small = await phone.newPage();
    await small.goto(url('/auth/account'));
    await shot(small, 'account-phone');
    small.once('dialog', (d) => void d.accept());
    await small.click('[data-action="generate-codes"]');
    await expect.poll(() => small.locator('#recovery ol.codes li').count()).toBe(10);
    oldCodes = codes;
    codes = await small.locator('#recovery ol.codes li').allInnerTexts();
    expect(codes).not.toEqual(oldCodes);
    expect(await small.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)).toBeLessThanOrEqual(0);
    await small.locator('#recovery').scrollIntoViewIfNeeded();
    await shot(small, 'account-codes-phone');
    // New codes rotated the session (SESS-04): the phone context holds the new cookie. A real phone
    // would have its own session; this one shares the laptop's, so the laptop takes the new cookie too.
    await context.addCookies((await phone.storageState()).cookies);
    await phone.close();

    // Shown once: after a reload only the count is left.
    await page.reload();
    expect(await page.locator('#recovery ol.codes li').count()).toBe(0);
    expect(await page.locator('#recovery').innerText()).toContain('You have 10 unused recovery codes.');
  });

  it('asks the user to sign in again when an action needs a recent sign-in', async () => {
    clockOffset = 11 * MINUTE; // the server's clock: the sign-in is no longer fresh (SESS-10)
    try {
      await page.click('#passkeys [data-action="add-passkey"]');
      await expect.poll(() => status('#passkeys').innerText()).toContain('Sign in again');
      expect(await status('#passkeys').innerText()).toContain('needs a sign-in from the last 600 seconds');
      expect(await status('#passkeys').getAttribute('aria-live')).toBe('polite');
      expect(await status('#passkeys').locator('a').getAttribute('href')).toBe('/auth/sign-in?next=%2Fauth%2Faccount');
      // Two: the security key, and the laptop passkey added again in the SESS-08 test; nothing new.
      expect(await (await store()).listPasskeys(userId)).toHaveLength(2);
    } finally {
      clockOffset = 0;
    }
  });

  it('signs in with a recovery code on /recover, then asks for a new passkey', async () => {
    await signOut();
    await page.goto(url('/auth/recover'));
    await page.fill('#email', EMAIL);
    await page.fill('#code', oldCodes[0]!); // replaced by the new set: no longer valid
    await page.click('button[type=submit]');
    await expect.poll(() => status('form').innerText()).toContain('That email and recovery code do not match');
    expect(await sessionCookie()).toBeUndefined();

    // Case, spaces and dashes do not matter.
    await page.fill('#code', codes[0]!.toLowerCase().replace('-', ' '));
    await Promise.all([page.waitForURL(url('/auth/account?recovered=1')), page.click('button[type=submit]')]);
    expect(await page.locator('main [role=note]').innerText()).toContain('Add a passkey now');
    expect(await sessionCookie()).toBeDefined();
    expect(await (await store()).countRecoveryCodes(userId)).toBe(9);
    const [session] = await (await store()).listUserSessions(userId);
    expect(session?.amr).toEqual(['recovery']);
    await shot(page, 'account-recovered-desktop');

    // The same code does not work twice.
    await signOut();
    await page.goto(url('/auth/recover'));
    await page.fill('#email', EMAIL);
    await page.fill('#code', codes[0]!);
    await page.click('button[type=submit]');
    await expect.poll(() => status('form').innerText()).toContain('That email and recovery code do not match');
  });

  it('shows the wait time when recovery sign-in is rate limited', async () => {
    // Burn the per-account budget of failed attempts (10 per 15 minutes; one was spent above).
    const statuses = await page.evaluate(async (email) => {
      const out: number[] = [];
      for (let i = 0; i < 9; i++) {
        const res = await fetch('/auth/recovery/sign-in', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, code: `WRONG-${i}` }) });
        out.push(res.status);
      }
      return out;
    }, EMAIL);
    expect(statuses).toEqual(Array(9).fill(401));
    await page.fill('#code', codes[1]!);
    await page.click('button[type=submit]');
    await expect.poll(() => status('form').innerText()).toMatch(/^Too many requests\. Try again in \d+ seconds\. Wait time: about 1[45] minutes\.$/);
    expect(await sessionCookie()).toBeUndefined();
    await shot(page, 'recover-rate-limited-desktop');
  });

  it('reports CANCELLED when a passkey request is aborted, and UNSUPPORTED without WebAuthn', async () => {
    // No authenticator answers, so the dialog waits; the caller's AbortSignal ends it.
    await Promise.all([presence(laptop, false), presence(securityKey, false)]);
    try {
      await page.goto(url('/auth/recover'));
      // A string, so that the test runner does not rewrite this dynamic import; the page's import map resolves it.
      const outcome = await page.evaluate(`(async () => {
        const client = await import('gatehouse/client');
        const controller = new AbortController();
        const pending = client.signInWithPasskey({ signal: controller.signal }).then(() => 'signed in', (e) => e.name + ':' + e.code);
        setTimeout(() => controller.abort(), 500);
        return pending;
      })()`);
      expect(outcome).toBe('GatehouseClientError:CANCELLED');
      expect(await sessionCookie()).toBeUndefined();
    } finally {
      await Promise.all([presence(laptop, true), presence(securityKey, true)]);
    }

    const old = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await old.addInitScript(() => {
      Object.defineProperty(window, 'PublicKeyCredential', { value: undefined });
    });
    const oldPage = await old.newPage();
    const optionsBefore = count('POST /auth/passkeys/login/options 200');
    await oldPage.goto(url('/auth/sign-in'));
    await oldPage.click('button[type=submit]');
    await expect.poll(() => oldPage.locator('form [role=status]').innerText()).toContain('This browser cannot use passkeys');
    expect(count('POST /auth/passkeys/login/options 200')).toBe(optionsBefore); // no autofill, no request
    await old.close();
  });

  it('screenshots each page at 1280x800 and 375x740', async () => {
    const phoneOut = await browser.newContext({ viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true });
    const desktop = await context.newPage();
    for (const [slug, path] of [['home', '/'], ['sign-up', '/auth/sign-up'], ['recover', '/auth/recover']] as const) {
      await desktop.goto(url(path));
      await shot(desktop, `${slug}-desktop`);
    }
    await desktop.close();
    const phone = await phoneOut.newPage();
    for (const [slug, path] of [['home', '/'], ['sign-in', '/auth/sign-in'], ['sign-up', '/auth/sign-up'], ['recover', '/auth/recover']] as const) {
      await phone.goto(url(path));
      const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      expect(overflow, `${slug} scrolls sideways at 375 px`).toBeLessThanOrEqual(0);
      await shot(phone, `${slug}-phone`);
    }
    await phoneOut.close();
  });

  it('had no script errors and no CSP violations', () => {
    expect(problems).toEqual([]);
    expect(seen.filter((s) => / 5\d\d$/.test(s))).toEqual([]);
  });
});
