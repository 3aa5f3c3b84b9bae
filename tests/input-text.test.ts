import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineAuthz, gatehousePermissions as P } from '../src/authz/index.js';
import { cleanDisplayText } from '../src/lib/text.js';
import { getTestInstance, type TestInstance } from './helpers.js';
import { freshPostgres, hasPostgres } from './services.js';

/**
 * Text people type or send: a NUL (which PostgreSQL refuses in text, so it used to surface as a
 * 503 from the database) is a 400 everywhere, on both databases; names hold no control or
 * bidirectional-control characters; nothing is stored from a refused request.
 */
const databases = [
  { name: 'SQLite', enabled: true, url: async () => ({ url: 'sqlite::memory:', drop: async () => {} }) },
  { name: 'PostgreSQL', enabled: hasPostgres, url: freshPostgres },
];

for (const db of databases) {
  describe.runIf(db.enabled)(`text input on ${db.name}`, () => {
    let t: TestInstance;
    let drop: () => Promise<void>;
    beforeAll(async () => {
      const { url, drop: dropIt } = await db.url();
      drop = dropIt;
      t = await getTestInstance({ databaseUrl: url, maxBodyBytes: 1_048_576 });
    });
    afterAll(async () => {
      await t?.close();
      await drop?.();
    });

    const errorOf = async (res: Response) => ({ status: res.status, code: ((await res.json()) as { error: { code: string } }).error.code });

    it('a NUL in any JSON body is a 400, signed in or not, and nothing is written', async () => {
      const { cookie, userId } = await t.signIn('nul@example.com');
      const before = await (await t.auth.storage()).findUserById(userId);
      const attempts: [string, string, string, string | undefined][] = [
        ['PATCH', '/auth/user', JSON.stringify({ name: 'a\u0000b' }), cookie],
        ['POST', '/auth/passkeys/register/options', JSON.stringify({ email: 'new@example.com', name: 'a\u0000b' }), undefined],
        ['POST', '/auth/passkeys/register/options', JSON.stringify({ email: 'a\u0000@example.com' }), undefined],
        ['POST', '/auth/passkeys/login/options', JSON.stringify({ email: 'a\u0000@example.com' }), undefined],
        ['POST', '/auth/recovery/sign-in', JSON.stringify({ email: 'a\u0000@x.com', code: 'ABCDE-FGH23' }), undefined],
        // In a key, too.
        ['POST', '/auth/passkeys/login/options', JSON.stringify({ ['e\u0000']: 1 }), undefined],
        // Nested 5000 deep (10 KB): the check walks it without running out of stack (was a 500).
        ['POST', '/auth/passkeys/login/options', `${'['.repeat(5000)}"\\u0000"${']'.repeat(5000)}`, undefined],
        ['POST', '/auth/passkeys/login/options', `${'{"a":'.repeat(2500)}"\\u0000"${'}'.repeat(2500)}`, undefined],
        // Wide, too: 200,000 elements in one array (at the 1 MiB body limit set below).
        ['POST', '/auth/passkeys/login/options', `[${'0,'.repeat(200_000)}"\\u0000"]`, undefined],
      ];
      for (const [method, path, body, withCookie] of attempts) {
        const res = await t.request(path, { method, body, ...(withCookie === undefined ? {} : { cookie: withCookie }) });
        expect(await errorOf(res), `${method} ${path} ${body.slice(0, 60)}`).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
      }
      expect(await (await t.auth.storage()).findUserById(userId)).toEqual(before);
      expect(await (await t.auth.storage()).findUserByEmail('new@example.com')).toBeNull();
    });

    it('a %00 in the query string is a 400 (JSON for the API, an HTML page for pages)', async () => {
      const { cookie } = await t.signIn('nul-admin@example.com', { role: 'admin' });
      expect(await errorOf(await t.request('/auth/admin/users?q=%00', { cookie }))).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
      expect(await errorOf(await t.request('/auth/admin/events?userId=a%00', { cookie }))).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
      for (const path of ['/auth/admin?q=%00', '/auth/admin/audit?user=%00%40x']) {
        const page = await t.request(path, { cookie });
        expect(page.status, path).toBe(400);
        expect(page.headers.get('content-type'), path).toContain('text/html');
      }
      // A literal "%00" (sent encoded as %2500) is ordinary text.
      expect((await t.request('/auth/admin/users?q=%2500', { cookie })).status).toBe(200);
    });

    it('names: NFC, trimmed; control and bidirectional-control characters are refused; emoji sequences are fine', async () => {
      const { cookie, userId } = await t.signIn('names@example.com');
      const patch = (name: string) => t.request('/auth/user', { method: 'PATCH', cookie, body: JSON.stringify({ name }) });
      for (const bad of ['line1\nline2', 'bell\u0007', '\u202Eadmin', 'x\u2066y', 'c1\u0085', '\ud800', 'para\u2029graph']) {
        const res = await patch(bad);
        expect(await errorOf(res), JSON.stringify(bad)).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
      }
      expect((await (await t.auth.storage()).findUserById(userId))!.name).toBe('names');
      // "e" + combining acute (NFD) is stored composed (NFC).
      expect((await patch('  Zoe\u0301 👩‍👩‍👧 ')).status).toBe(200);
      expect((await (await t.auth.storage()).findUserById(userId))!.name).toBe('Zo\u00e9 👩‍👩‍👧');
      // Direction marks and zero-width spaces pasted with an Arabic or Hebrew name are dropped, not refused.
      expect((await patch('\u200Fسارا\u200F \u200Bכהן\uFEFF')).status).toBe(200);
      expect((await (await t.auth.storage()).findUserById(userId))!.name).toBe('سارا כהן');
      // An email that displays as another one (a right-to-left override) is refused too.
      await expect(t.auth.users.create({ email: '\u202Emoc.elpmaxe@nimda' })).rejects.toMatchObject({ status: 400 });
      const spoof = await t.request('/auth/passkeys/register/options', { method: 'POST', body: JSON.stringify({ email: '\u202Emoc.elpmaxe@nimda', name: 'x' }) });
      expect(await errorOf(spoof)).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
      // The same rule for the library API and the CLI (users.create / setName) ...
      await expect(t.auth.users.create({ email: 'bidi@example.com', name: '\u202Eevil' })).rejects.toMatchObject({ status: 400 });
      await expect(t.auth.users.setName(userId, 'a\u0000b', { userId: null, role: null })).rejects.toMatchObject({ status: 400 });
      await expect(t.auth.users.create({ email: 'a\u0000@example.com' })).rejects.toMatchObject({ status: 400 });
      // ... and for passkey names.
      const rename = await t.request('/auth/passkeys/whatever', { method: 'PATCH', cookie, body: JSON.stringify({ name: 'my\u202Ekey' }) });
      expect(await errorOf(rename)).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
    });
  });
}

describe('text from an identity provider', () => {
  it('is cleaned, not refused: controls dropped, NFC, at most the limit without cutting a character in half', () => {
    expect(cleanDisplayText(' Ada\u0000 \u202ELovelace\n', 100)).toBe('Ada Lovelace');
    expect(cleanDisplayText('Zoe\u0301', 100)).toBe('Zo\u00e9');
    expect(cleanDisplayText('ab😀', 3)).toBe('ab');
    expect(cleanDisplayText('\u0007\u0008', 100)).toBe('');
    expect(cleanDisplayText('\u200FAli\u200E\u2028', 100)).toBe('Ali');
  });
});

describe('the audit page for a role that may read events but not users', () => {
  let t: TestInstance;
  beforeAll(async () => {
    t = await getTestInstance({
      authz: defineAuthz({ roles: ['member', 'auditor', 'admin'], permissions: { member: [], auditor: [P.eventsRead], admin: [P.eventsRead, P.usersRead, P.usersManage, P.sessionsRevoke] } }),
    });
  });
  afterAll(async () => t?.close());

  it('shows account ids, not emails, and does not look emails up (no oracle for which emails have accounts)', async () => {
    await t.signIn('secret-person@example.com');
    const { cookie } = await t.signIn('auditor@example.com', { role: 'auditor' });
    const page = await (await t.request('/auth/admin/audit', { cookie })).text();
    expect(page).not.toContain('secret-person@example.com');
    const known = await (await t.request('/auth/admin/audit?user=secret-person%40example.com', { cookie })).text();
    const unknown = await (await t.request('/auth/admin/audit?user=nobody%40example.com', { cookie })).text();
    // Same answer for an address with an account and one without.
    expect(known.replace(/secret-person/g, 'X').replace(/nobody/g, 'X')).toBe(unknown.replace(/secret-person/g, 'X').replace(/nobody/g, 'X'));
    expect(known).toContain('filter by account id only');
    // An admin (users.read) still sees emails.
    const admin = await t.signIn('admin@example.com', { role: 'admin' });
    expect(await (await t.request('/auth/admin/audit', { cookie: admin.cookie })).text()).toContain('secret-person@example.com');
  });
});

describe('?error= on the pages', () => {
  it('only names codes Gatehouse has a message for: toString, __proto__ and constructor get the fallback text', async () => {
    const t = await getTestInstance();
    try {
      for (const code of ['toString', '__proto__', 'constructor', 'hasOwnProperty']) {
        const page = await (await t.request(`/auth/sign-in?error=${code}`)).text();
        expect(page, code).not.toContain('native code');
        expect(page, code).not.toContain('[object Object]');
        expect(page, code).toContain('Sign-in with the provider failed. Try again.');
      }
    } finally {
      await t.close();
    }
  });
});
