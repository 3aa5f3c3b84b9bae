import { afterEach, describe, expect, it } from 'vitest';
import { ConfigurationError, createGatehouse, openDatabase } from '../src/index.js';
import { THEME_TOKENS, type ThemeToken } from '../src/ui/config.js';
import { describeUserAgent, deviceText } from '../src/ui/user-agent.js';
import { getTestInstance, ORIGIN, type TestInstance } from './helpers.js';
import { getJwtInstance, jwtSignIn } from './jwt-helpers.js';

/**
 * The built-in pages, over HTTP against the real handler: what each page shows to whom, the
 * headers that keep them safe, escaping, paging and filters, theming, and the HTML error pages.
 * The browser-driven side (every button, two widths, keyboard) is tests/browser-ui.test.ts.
 */

let t: TestInstance | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const PAGES = ['/auth/sign-in', '/auth/sign-up', '/auth/recover', '/auth/account', '/auth/admin', '/auth/admin/audit'];

async function admin(instance: TestInstance) {
  return instance.signIn('root@example.com', { role: 'admin' });
}

describe('built-in pages', () => {
  it('serve HTML with a strict CSP, no-store and no inline code but the import map; every field has a label', async () => {
    t = await getTestInstance();
    const { cookie } = await admin(t);
    for (const path of PAGES) {
      const res = await t.request(path, { cookie });
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp).toMatch(/^default-src 'none'; script-src 'self' 'sha256-[A-Za-z0-9+/]+=*'; style-src 'self';/);
      expect(csp).toContain("frame-ancestors 'none'");
      const html = await res.text();
      const inline = [...html.matchAll(/<script([^>]*)>([^<]*)<\/script>/g)].filter(([, , body]) => body !== '');
      expect(inline.map(([, attrs]) => attrs?.trim()), path).toEqual(['type="importmap"']);
      expect(html, path).not.toMatch(/\sstyle=|\son[a-z]+=/i);
      // Every visible form control is labelled: <label for=id> or aria-label.
      for (const [control, attrs = ''] of html.matchAll(/<(?:input|select)([^>]*)>/g)) {
        if (/type="hidden"/.test(attrs)) continue;
        const id = /\sid="([^"]+)"/.exec(attrs)?.[1];
        const labelled = (id !== undefined && html.includes(`for="${id}"`)) || /aria-label=/.test(attrs);
        expect(labelled, `${path}: ${control}`).toBe(true);
      }
    }
  });

  it('send signed-out visitors of the account and admin pages to sign-in and back', async () => {
    t = await getTestInstance();
    for (const path of ['/auth/account', '/auth/admin?q=x', '/auth/admin/audit']) {
      const res = await t.request(path);
      expect(res.status, path).toBe(303);
      expect(res.headers.get('location')).toBe(`/auth/sign-in?next=${encodeURIComponent(path)}`);
    }
  });

  it('refuse the admin pages to a role without the permissions, as an HTML page', async () => {
    t = await getTestInstance();
    const { cookie } = await t.signIn('member@example.com', { role: 'member' });
    for (const path of ['/auth/admin', '/auth/admin/audit']) {
      const res = await t.request(path, { cookie });
      expect(res.status, path).toBe(403);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      const html = await res.text();
      expect(html).toMatch(/Your role cannot/);
      expect(html).toContain('Signed in as <strong>member@example.com</strong>'); // still shown as signed in
    }
    // The nav shows Admin only to who may open it.
    expect(await (await t.request('/auth/account', { cookie })).text()).not.toContain('href="/auth/admin"');
    expect(await (await t.request('/auth/account', { cookie: (await admin(t)).cookie })).text()).toContain('href="/auth/admin"');
  });

  it('escape what users and their browsers control: names, emails, user agents, event data', async () => {
    t = await getTestInstance();
    const evil = '<img src=x onerror=alert(1)>';
    const user = await t.auth.users.create({ email: 'evil@example.com', name: evil });
    const { headers } = await t.auth.createSession(user.id, new Request(`${ORIGIN}/x`, { method: 'POST', headers: { 'user-agent': `<script>alert(2)</script>` } }), { method: 'test' });
    const cookie = headers.get('set-cookie')!.split(';')[0]!;
    const account = await (await t.request('/auth/account', { cookie })).text();
    const { cookie: rootCookie } = await admin(t);
    const users = await (await t.request('/auth/admin', { cookie: rootCookie })).text();
    const events = await (await t.request('/auth/admin/audit?user=evil%40example.com', { cookie: rootCookie })).text();
    for (const html of [account, users]) {
      expect(html).not.toContain(evil);
      expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    }
    expect(account).not.toContain('<script>alert(2)');
    expect(events).toContain('data-event=');
    expect(events).not.toContain('<script>alert(2)');
    // A search term is echoed into the form, escaped.
    const search = await (await t.request(`/auth/admin?q=${encodeURIComponent('"><script>alert(3)</script>')}`, { cookie: rootCookie })).text();
    expect(search).not.toContain('<script>alert(3)');
    expect(search).toContain('value="&quot;&gt;&lt;script&gt;alert(3)&lt;/script&gt;"');
  });

  it('page the users list 50 at a time and search it', async () => {
    t = await getTestInstance();
    const { cookie } = await admin(t);
    for (let i = 0; i < 54; i++) await t.auth.users.create({ email: `user${String(i).padStart(2, '0')}@example.com`, name: `User ${i}` });
    const first = await (await t.request('/auth/admin', { cookie })).text();
    expect(first.match(/data-user="/g)).toHaveLength(50);
    const next = /href="(\/auth\/admin\?cursor=[^"]+)">Next page/.exec(first)?.[1];
    expect(next).toBeDefined();
    const second = await (await t.request(next!.replace(/&amp;/g, '&'), { cookie })).text();
    expect(second.match(/data-user="/g)).toHaveLength(5); // 54 + root = 55
    expect(second).not.toContain('Next page');
    const found = await (await t.request('/auth/admin?q=user07', { cookie })).text();
    expect(found.match(/data-user="/g)).toHaveLength(1);
    expect(found).toContain('user07@example.com');
    // A malformed cursor is ignored, not a failure.
    expect((await t.request('/auth/admin?cursor=not%20a%20cursor', { cookie })).status).toBe(200);
  });

  it('filter the audit log by user (email or id) and type, and say when the user does not exist', async () => {
    t = await getTestInstance();
    const { cookie } = await admin(t);
    const a = await t.signIn('a@example.com');
    await t.signIn('b@example.com');
    const byEmail = await (await t.request('/auth/admin/audit?user=a%40example.com&type=session.created', { cookie })).text();
    expect(byEmail.match(/data-event="/g)).toHaveLength(1);
    const byId = await (await t.request(`/auth/admin/audit?user=${a.userId}`, { cookie })).text();
    expect(byId.match(/data-event="/g)?.length).toBeGreaterThanOrEqual(2); // user.created + session.created
    expect(byId).not.toContain('b@example.com');
    const nobody = await (await t.request('/auth/admin/audit?user=nobody%40example.com', { cookie })).text();
    expect(nobody).toContain('No user has the email or id');
    expect(nobody).not.toContain('data-event=');
    // An unknown type is ignored: all events.
    const all = await (await t.request('/auth/admin/audit?type=bogus', { cookie })).text();
    expect(all.match(/data-event="/g)?.length).toBeGreaterThanOrEqual(6);
  });

  it('keep ?next= on this site and carry it to the provider links', async () => {
    t = await getTestInstance();
    const own = await (await t.request('/auth/sign-in?next=%2Fposts%3Fpage%3D2')).text();
    expect(own).toContain('data-next="/posts?page=2"');
    for (const evil of ['//evil.example', 'https://evil.example/', '/\\evil.example', '/..//evil.example']) {
      const html = await (await t.request(`/auth/sign-in?next=${encodeURIComponent(evil)}`)).text();
      expect(html, evil).toContain('data-next="/auth/account"');
    }
  });

  it('answer a rate-limited page with a 429 page that says how long to wait; assets spend no points', async () => {
    t = await getTestInstance({ rateLimit: { limits: { session: { points: 2, durationSeconds: 120 } } } });
    for (let i = 0; i < 5; i++) expect((await t.request('/auth/assets/ui/dom.js')).status).toBe(200);
    expect((await t.request('/auth/sign-in')).status).toBe(200);
    expect((await t.request('/auth/sign-in')).status).toBe(200);
    const limited = await t.request('/auth/sign-in');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(60);
    expect(await limited.text()).toMatch(/Wait about 2 minutes and reload the page/);
  });

  it('serve assets with ETags (304 when unchanged) and nothing outside their folders', async () => {
    t = await getTestInstance();
    const first = await t.request('/auth/assets/client/index.js');
    expect(first.status).toBe(200);
    const etag = first.headers.get('etag')!;
    expect((await t.request('/auth/assets/client/index.js', { headers: { 'if-none-match': etag } })).status).toBe(304);
    const css = await t.request('/auth/assets/ui.css');
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    for (const path of ['/auth/assets/ui/..%2f..%2fcore.js', '/auth/assets/other/index.js', '/auth/assets/ui/dom.d.ts', '/auth/assets/client/%2e%2e%2fcore.js']) {
      expect((await t.request(path)).status, path).toBe(404);
    }
  });

  it('JWT mode: an expired access cookie gets the refresh page, not a sign-in redirect', async () => {
    t = await getJwtInstance();
    const s = await jwtSignIn(t, 'jwt@example.com');
    expect((await t.request('/auth/account', { cookie: s.cookie })).status).toBe(200);
    t.clock.advance(16 * 60 * 1000);
    const res = await t.request('/auth/account', { cookie: `${s.cookie}; __Host-gatehouse-refreshable=1` });
    expect(res.status).toBe(401);
    expect(await res.text()).toContain('/auth/assets/ui/refresh.js');
  });
});

describe('ui configuration', () => {
  const make = async (ui: unknown) => {
    const database = await openDatabase('sqlite::memory:');
    try {
      return createGatehouse({ database, origin: ORIGIN, ui: ui as never, logger: { warn: () => {}, error: () => {} } });
    } finally {
      await database.close();
    }
  };

  it('puts theme values into the stylesheet and the app name and links into every page', async () => {
    t = await getTestInstance({ ui: { appName: 'Acme', theme: { accent: '#0a7d4f', radius: '4px' }, links: [{ label: 'Docs', href: '/docs' }], stylesheet: '/brand.css' } });
    const css = await (await t.request('/auth/assets/ui.css')).text();
    expect(css).toContain('--gh-accent: #0a7d4f;');
    expect(css).toContain('--gh-radius: 4px;');
    expect(css).toContain('--gh-accent-text: #ffffff;');
    const html = await (await t.request('/auth/sign-in')).text();
    expect(html).toContain('<title>Sign in · Acme</title>');
    expect(html).toContain('<a href="/docs">Docs</a>');
    expect(html).toContain('<link rel="stylesheet" href="/brand.css">');
  });

  it('refuses values that could break out of the stylesheet or leave the site, at startup', async () => {
    await expect(make({ theme: { accent: 'red; } body { display: none' } })).rejects.toThrow(ConfigurationError);
    await expect(make({ theme: { font: 'x</style>' } })).rejects.toThrow(/one CSS value/);
    await expect(make({ homePath: '//evil.example' })).rejects.toThrow(/ui.homePath must be a path on this site/);
    await expect(make({ links: [{ label: 'x', href: 'javascript:alert(1)' }] })).rejects.toThrow(/ui.links\[0\].href/);
    await expect(make({ colour: 'red' })).rejects.toThrow(ConfigurationError);
  });

  it('ui: false removes the pages and their assets; the JSON API stays', async () => {
    t = await getTestInstance({ ui: false });
    for (const path of ['/auth/sign-in', '/auth/account', '/auth/assets/ui.css', '/auth/assets/client/index.js']) {
      const res = await t.request(path);
      expect(res.status, path).toBe(404);
      expect(res.headers.get('content-type')).toContain('application/json');
    }
    expect((await t.request('/auth/session')).status).toBe(401);
  });

  it('the default colours meet WCAG AA contrast (4.5:1) for text on every surface', () => {
    const luminance = (hex: string) => {
      const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255).map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
      return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
    };
    const ratio = (a: ThemeToken, b: ThemeToken) => {
      const [x, y] = [luminance(THEME_TOKENS[a]), luminance(THEME_TOKENS[b])].sort((m, n) => n - m);
      return (x! + 0.05) / (y! + 0.05);
    };
    const pairs: [ThemeToken, ThemeToken][] = [
      ['text', 'surface'], ['text', 'background'], ['muted', 'surface'], ['muted', 'background'],
      ['accent', 'surface'], ['accent', 'background'], ['accentText', 'accent'], ['danger', 'surface'], ['success', 'surface'],
    ];
    for (const [fg, bg] of pairs) expect(ratio(fg, bg), `${fg} on ${bg}`).toBeGreaterThanOrEqual(4.5);
  });
});

describe('device labels', () => {
  it('names the major browsers and systems, and falls back to the product token', () => {
    const cases: [string | null, string][] = [
      ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36', 'Chrome 131 on Windows'],
      ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86', 'Edge 131 on Windows'],
      ['Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15', 'Safari 18 on macOS'],
      ['Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1', 'Safari 18 on iOS'],
      ['Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0', 'Firefox 133 on Linux'],
      ['Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.81 Mobile Safari/537.36', 'Chrome 131 on Android 14'],
      ['Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36', 'Samsung Internet 26 on Android 14'],
      ['Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36', 'Chrome 131 on ChromeOS'],
      ['curl/8.5.0', 'curl 8'],
      ['node', 'node'],
      [null, 'Unknown browser'],
      ['', 'Unknown browser'],
    ];
    for (const [ua, label] of cases) expect(deviceText(ua), String(ua)).toBe(label);
    expect(describeUserAgent('x'.repeat(10_000)).browser.length).toBeLessThanOrEqual(60);
  });
});
