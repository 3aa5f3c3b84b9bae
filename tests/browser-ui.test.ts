import { readFile } from 'node:fs/promises';
import { mkdirSync } from 'node:fs';
import type { ServerType } from '@hono/node-server';
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGatehouse, openDatabase, type Gatehouse } from '../src/index.js';
import { SYSTEM_ACTOR } from '../src/users/users.js';
import type { Database } from '../src/storage/database.js';
import { addVirtualAuthenticator, chromiumAvailable, closeAll, launchChromium, listen } from './support/browser.js';
import { testAuthz } from './helpers.js';

/**
 * The built-in pages in Chromium, mounted with nothing but `auth.handler` (no app around them):
 * the admin console (role, disable/enable, end sessions, audit filters), the devices list (sign
 * out one, all others), recovery codes as a download, keyboard-only sign-in, and screenshots
 * of every page at 1280 and 360 px with no sideways scrolling.
 */
const SHOTS = new URL('../test-results/screenshots/', import.meta.url);
const FIREFOX = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0';
const IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1';

describe.skipIf(!chromiumAvailable('built-in page tests'))('built-in pages in a real browser', () => {
  let database: Database;
  let auth: Gatehouse;
  let site: { server: ServerType; port: number };
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let cdp: CDPSession;
  let origin = '';
  let adminId = '';
  const problems: string[] = [];
  const url = (path: string) => `${origin}${path}`;
  const store = () => auth.storage();
  const status = (scope: string) => page.locator(`${scope} [role=status]`).first();
  const shot = (p: Page, name: string) => p.screenshot({ path: new URL(`ui-${name}.png`, SHOTS).pathname, fullPage: true });

  /** A session for `userId` from another device, as that device's browser would get it. */
  async function otherDevice(userId: string, userAgent: string): Promise<string> {
    const { headers } = await auth.createSession(userId, new Request(url('/x'), { method: 'POST', headers: { 'user-agent': userAgent } }), { method: 'test', context: { ip: '198.51.100.7' } });
    return headers.get('set-cookie')!.split(';')[0]!;
  }
  const sessionStatus = (cookie: string) => auth.handler(new Request(url('/auth/session'), { headers: { cookie } }), { ip: '198.51.100.7' }).then((r) => r.status);

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    database = await openDatabase('sqlite::memory:');
    // The handler is late-bound: the origin in its configuration must name the port.
    site = await listen('localhost', (request) => auth.handler(request, { ip: '127.0.0.1' }));
    origin = `http://localhost:${site.port}`;
    auth = createGatehouse({ database, origin, authz: testAuthz, logger: { warn: () => {}, error: () => {} }, ui: { appName: 'Acme' } });
    await auth.migrate();

    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
    page = await context.newPage();
    page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) problems.push(msg.text());
    });
    page.on('dialog', (dialog) => void dialog.accept());
    cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    await addVirtualAuthenticator(cdp);
  });

  afterAll(async () => {
    await closeAll(browser, site, auth, database);
  });

  it('signs up with the keyboard alone: tab to each field, type, press Enter', async () => {
    await page.goto(url('/auth/sign-up'));
    const focused = () => page.evaluate(() => document.activeElement?.getAttribute('id') ?? document.activeElement?.textContent?.trim() ?? '');
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('Skip to content');
    // The skip link jumps past the header.
    await page.keyboard.press('Enter');
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('email');
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle);
    expect(outline).not.toBe('none'); // a visible focus ring
    await page.keyboard.type('root@example.com');
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('name');
    await page.keyboard.type('Root Admin');
    await Promise.all([page.waitForURL(url('/auth/account?welcome=1')), page.keyboard.press('Enter')]);
    const user = await (await store()).findUserByEmail('root@example.com');
    expect(user?.name).toBe('Root Admin');
    adminId = user!.id;
    // A role change ends the account's sessions; the passkey signs straight back in (autofill).
    await auth.users.setRole(adminId, 'admin', SYSTEM_ACTOR);
    await Promise.all([page.waitForURL(url('/auth/account')), page.goto(url('/auth/sign-in'))]);
  });

  it('edits the profile name on the account page: saved, and shown after the reload', async () => {
    await page.goto(url('/auth/account'));
    await page.fill('#profile-name', 'Root A. Admin');
    await Promise.all([page.waitForLoadState('load'), page.click('#profile button[type=submit]')]);
    await expect.poll(() => status('#profile').innerText()).toContain('Name saved: “Root A. Admin”.');
    expect(await page.inputValue('#profile-name')).toBe('Root A. Admin');
    expect((await (await store()).findUserById(adminId))?.name).toBe('Root A. Admin');
    await shot(page, 'account-profile-saved');
  });

  it('lists devices by browser and system, signs one out, then all others', async () => {
    const firefox = await otherDevice(adminId, FIREFOX);
    const iphone = await otherDevice(adminId, IPHONE);
    const spare = await otherDevice(adminId, 'curl/8.5.0');
    await page.goto(url('/auth/account'));
    const devices = page.locator('#devices tbody tr');
    expect(await devices.count()).toBe(4);
    expect(await devices.first().innerText()).toContain('this device'); // listed first
    const text = await page.locator('#devices').innerText();
    expect(text).toContain('Firefox 133 on Windows');
    expect(text).toContain('Safari 18 on iOS');
    expect(text).toContain('198.51.100.7');
    await shot(page, 'account-devices-desktop');

    const firefoxRow = devices.filter({ hasText: 'Firefox 133 on Windows' });
    await Promise.all([page.waitForEvent('load'), firefoxRow.locator('button[data-action=end-session]').click()]);
    expect(await sessionStatus(firefox)).toBe(401);
    expect(await sessionStatus(iphone)).toBe(200);
    await expect.poll(() => status('#devices').innerText()).toBe('The device was signed out.');

    await Promise.all([page.waitForEvent('load'), page.click('button[data-action=revoke-others]')]);
    expect(await sessionStatus(iphone)).toBe(401);
    expect(await sessionStatus(spare)).toBe(401);
    expect(await page.locator('#devices tbody tr').count()).toBe(1);
    expect(await page.locator('button[data-action=revoke-others]').count()).toBe(0); // nothing left to sign out
    expect(await (await store()).listUserSessions(adminId)).toHaveLength(1);
  });

  it('downloads new recovery codes as a text file, made in the page', async () => {
    await page.goto(url('/auth/account'));
    await page.click('button[data-action=generate-codes]');
    await expect.poll(() => page.locator('#recovery ol.codes li').count()).toBe(10);
    const codes = await page.locator('#recovery ol.codes li').allInnerTexts();
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('button[data-action=download-codes]')]);
    expect(download.suggestedFilename()).toBe('recovery-codes-localhost.txt');
    const text = await readFile(await download.path(), 'utf8');
    for (const code of codes) expect(text).toContain(code);
    expect(await (await store()).countRecoveryCodes(adminId)).toBe(10);
    await shot(page, 'account-codes-desktop');
  });

  it('admin: changes a role, disables and enables an account, ends its sessions; each is audited', async () => {
    const member = await auth.users.create({ email: 'mia@example.com', name: 'Mia' });
    const miaCookie = await otherDevice(member.id, FIREFOX);
    await page.goto(url('/auth/admin'));
    const row = page.locator(`tr[data-user="${member.id}"]`);
    await shot(page, 'admin-users-desktop');

    await Promise.all([page.waitForEvent('load'), row.locator('select[data-action=set-role]').selectOption('editor')]);
    expect((await (await store()).findUserById(member.id))?.role).toBe('editor');
    await expect.poll(() => status('#users').innerText()).toBe('Mia (mia@example.com) is now editor.');

    await Promise.all([page.waitForEvent('load'), row.locator('button[data-action=disable]').click()]);
    expect((await (await store()).findUserById(member.id))?.disabled).toBe(true);
    expect(await sessionStatus(miaCookie)).toBe(401);
    expect(await row.innerText()).toContain('disabled');
    await Promise.all([page.waitForEvent('load'), row.locator('button[data-action=enable]').click()]);
    expect((await (await store()).findUserById(member.id))?.disabled).toBe(false);

    const again = await otherDevice(member.id, IPHONE);
    await Promise.all([page.waitForEvent('load'), row.locator('button[data-action=revoke-sessions]').click()]);
    expect(await sessionStatus(again)).toBe(401);
    expect(await (await store()).listUserSessions(member.id)).toHaveLength(0);

    // The audit page, filtered to Mia: every change, by the admin.
    await page.click(`tr[data-user="${member.id}"] a:has-text("Events")`);
    await page.waitForURL(/\/auth\/admin\/audit\?user=/);
    const events = await page.locator('tbody').innerText();
    for (const type of ['user.role_changed', 'user.disabled', 'user.enabled', 'session.revoked']) expect(events).toContain(type);
    expect(events).toContain('by root@example.com');
    await page.selectOption('#type', 'user.disabled');
    await Promise.all([page.waitForURL(/type=user.disabled/), page.click('form.filters button[type=submit]')]);
    expect(await page.locator('tbody tr').count()).toBe(1);
    await shot(page, 'admin-audit-desktop');
  });

  it('admin: a refused change says why and changes nothing (an admin cannot raise anyone to owner)', async () => {
    const other = await auth.users.create({ email: 'otto@example.com', name: 'Otto' });
    await page.goto(url('/auth/admin'));
    const select = page.locator(`tr[data-user="${other.id}"] select`);
    // Only the roles the admin may assign are offered.
    expect(await select.locator('option').allInnerTexts()).toEqual(['member', 'editor', 'admin']);
    // Forge the option anyway: the server decides.
    await select.evaluate((el: HTMLSelectElement) => el.add(new Option('owner', 'owner')));
    await select.selectOption('owner');
    await expect.poll(() => status('#users').innerText()).not.toBe('');
    expect(await status('#users').innerText()).toMatch(/permission|cannot|not allowed/i);
    expect((await (await store()).findUserById(other.id))?.role).toBe('member');
  });

  it('shows every page at 1280 and 360 px without sideways scrolling', async () => {
    const pages: [string, string][] = [
      ['sign-in', '/auth/sign-in'],
      ['sign-up', '/auth/sign-up'],
      ['recover', '/auth/recover'],
      ['account', '/auth/account'],
      ['admin-users', '/auth/admin'],
      ['admin-audit', '/auth/admin/audit'],
    ];
    for (const [width, height, name] of [[1280, 800, 'desktop'], [360, 740, 'phone']] as const) {
      const view = await context.newPage();
      await view.setViewportSize({ width, height });
      for (const [slug, path] of pages) {
        const res = await view.goto(url(path));
        expect(res?.status(), path).toBe(200);
        const overflow = await view.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
        expect(overflow, `${slug} scrolls sideways at ${width} px`).toBeLessThanOrEqual(0);
        await shot(view, `${slug}-${name}`);
      }
      await view.close();
    }
  });

  it('had no script errors and no CSP violations', () => {
    expect(problems).toEqual([]);
  });
});
