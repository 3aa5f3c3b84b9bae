import { compactDecrypt } from 'jose';
import { hkdfSync } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createGatehouse, githubProvider, oidcProvider, safeReturnPath, type OAuthOptions } from '../src/index.js';
import { ORIGIN, getTestInstance, type TestInstance } from './helpers.js';
import { errorCode, OAuthBrowser } from './oauth-helpers.js';
import { Browser } from './passkey-helpers.js';
import { startFakeGitHub, type FakeGitHub } from './support/fake-github.js';
import { startHostileIdp, type HostileIdp } from './support/hostile-idp.js';

/** Accounts and identities (OIDC-13/14, AUTHZ-02, SESS-10), link/unlink, GitHub, token storage. */

let a: HostileIdp;
let b: HostileIdp;
let gh: FakeGitHub;
beforeAll(async () => {
  a = await startHostileIdp({ alg: 'ES256' });
  b = await startHostileIdp({ clientId: 'gatehouse-b', sub: 'b-alice' });
  gh = await startFakeGitHub();
});
afterAll(async () => {
  await a.close();
  await b.close();
  await gh.close();
});

function oauth(overrides: { linkA?: boolean } = {}, extra: Partial<OAuthOptions> = {}): OAuthOptions {
  return {
    providers: [
      oidcProvider({ id: 'alpha', name: 'Alpha', issuer: a.issuer, clientId: a.clientId, clientSecret: a.clientSecret, idTokenAlg: 'ES256', linkByVerifiedEmail: overrides.linkA ?? false }),
      oidcProvider({ id: 'beta', name: 'Beta', issuer: b.issuer, clientId: b.clientId, clientSecret: b.clientSecret }),
      githubProvider({ clientId: gh.clientId, clientSecret: gh.clientSecret, baseUrl: gh.baseUrl, apiBaseUrl: `${gh.baseUrl}/api` }),
    ],
    ...extra,
  };
}

async function count(t: TestInstance, table: 'gatehouse_users' | 'gatehouse_sessions' | 'gatehouse_identities'): Promise<number> {
  const row = await t.database.kysely.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

beforeEach(() => {
  for (const idp of [a, b]) {
    idp.defect = null;
    idp.claims = {};
  }
});

describe('sign-up and sign-in with a provider', () => {
  let t: TestInstance;
  beforeEach(async () => {
    t = await getTestInstance({ oauth: oauth() });
    return () => t.close();
  });

  it('signs up a new account from a verified email, then signs the same identity in again without a second account', async () => {
    const first = await new OAuthBrowser(t).signIn('alpha');
    expect(first.headers.get('location')).toBe('/');
    const user = await t.database.kysely.selectFrom('gatehouse_users').selectAll().executeTakeFirstOrThrow();
    expect(user).toMatchObject({ email: 'alice@example.com', name: 'Alice', role: 'member' });
    // The provider changes the email: the identity is (issuer, sub), the account stays the same.
    a.claims = { email: 'alice.new@example.com' };
    const second = new OAuthBrowser(t);
    expect((await second.signIn('alpha')).headers.get('location')).toBe('/');
    expect(await count(t, 'gatehouse_users')).toBe(1);
    expect(await count(t, 'gatehouse_identities')).toBe(1);
    const session = await t.auth.getSession(new Request(ORIGIN, { headers: { cookie: second.cookie } }));
    expect(session?.user.id).toBe(user.id);
    expect(session?.session.amr).toEqual(['oauth']);
    const events = await t.database.kysely.selectFrom('gatehouse_auth_events').select('type').orderBy('id').execute();
    expect(events.map((e) => e.type)).toEqual(['user.created', 'session.created', 'oauth.signed_in', 'session.created', 'oauth.signed_in']);
  });

  it('OIDC-13: a verified email that matches an existing account is NOT linked by default; the user is told to link from the account page', async () => {
    await t.auth.users.create({ email: 'Alice@Example.com', name: 'Existing' });
    const browser = new OAuthBrowser(t);
    const res = await browser.signIn('alpha');
    expect(errorCode(res)).toBe('OAUTH_ACCOUNT_EXISTS');
    expect(browser.has('__Host-gatehouse-session')).toBe(false);
    expect(await count(t, 'gatehouse_identities')).toBe(0);
    expect(await count(t, 'gatehouse_sessions')).toBe(0);
  });

  it('OIDC-13: an unverified email never links and never creates an account (no squatting)', async () => {
    a.claims = { email_verified: false };
    expect(errorCode(await new OAuthBrowser(t).signIn('alpha'))).toBe('OAUTH_EMAIL_NOT_VERIFIED');
    await t.auth.users.create({ email: 'alice@example.com', name: 'Existing' });
    expect(errorCode(await new OAuthBrowser(t).signIn('alpha'))).toBe('OAUTH_EMAIL_NOT_VERIFIED');
    expect(await count(t, 'gatehouse_identities')).toBe(0);
    expect(await count(t, 'gatehouse_users')).toBe(1);
  });

  it('COOK-06: a "verified" email over 254 characters counts as no email: no account, nothing stored', async () => {
    a.claims = { email: `${'a'.repeat(64)}@${'b'.repeat(250)}.example`, email_verified: true };
    expect(errorCode(await new OAuthBrowser(t).signIn('alpha'))).toBe('OAUTH_EMAIL_NOT_VERIFIED');
    expect(await count(t, 'gatehouse_users')).toBe(0);
    expect(await count(t, 'gatehouse_identities')).toBe(0);
  });

  it('OIDC-13: the same subject at another issuer is another identity, not the same person', async () => {
    b.claims = { sub: 'hostile-alice', email: 'bob@example.com' };
    await new OAuthBrowser(t).signIn('alpha');
    await new OAuthBrowser(t).signIn('beta');
    expect(await count(t, 'gatehouse_users')).toBe(2);
    const identities = await t.database.kysely.selectFrom('gatehouse_identities').select(['issuer', 'subject']).orderBy('issuer').execute();
    expect(identities).toEqual(expect.arrayContaining([{ issuer: a.issuer, subject: 'hostile-alice' }, { issuer: b.issuer, subject: 'hostile-alice' }]));
  });

  it('a disabled account cannot sign in through its provider', async () => {
    await new OAuthBrowser(t).signIn('alpha');
    const user = await t.database.kysely.selectFrom('gatehouse_users').select('id').executeTakeFirstOrThrow();
    await t.auth.users.setDisabled(user.id, true, { userId: null, role: null });
    const browser = new OAuthBrowser(t);
    expect(errorCode(await browser.signIn('alpha'))).toBe('ACCOUNT_DISABLED');
    expect(browser.has('__Host-gatehouse-session')).toBe(false);
    const failed = await t.database.kysely.selectFrom('gatehouse_auth_events').select('data').where('type', '=', 'oauth.failed').execute();
    expect(failed.map((e) => JSON.parse(e.data!) as unknown)).toEqual([{ provider: 'alpha', intent: 'signin', reason: 'ACCOUNT_DISABLED' }]);
  });

  it('SESS-03: signing in with a provider ends the session this browser had', async () => {
    const browser = new OAuthBrowser(t);
    await browser.signIn('alpha');
    const before = await t.database.kysely.selectFrom('gatehouse_sessions').select('id').execute();
    await browser.signIn('alpha');
    const after = await t.database.kysely.selectFrom('gatehouse_sessions').select('id').execute();
    expect(after).toHaveLength(1);
    expect(after[0]!.id).not.toBe(before[0]!.id);
  });

  it('OIDC-14: provider tokens are not stored by default', async () => {
    await new OAuthBrowser(t).signIn('alpha');
    const row = await t.database.kysely.selectFrom('gatehouse_identities').select('tokens').executeTakeFirstOrThrow();
    expect(row.tokens).toBeNull();
  });

  it('GET /auth/oauth/providers lists the configured providers for sign-in buttons', async () => {
    const res = await t.request('/auth/oauth/providers');
    expect(await res.json()).toEqual({
      providers: [
        { id: 'alpha', name: 'Alpha', kind: 'oidc', signInUrl: '/auth/oauth/alpha' },
        { id: 'beta', name: 'Beta', kind: 'oidc', signInUrl: '/auth/oauth/beta' },
        { id: 'github', name: 'GitHub', kind: 'github', signInUrl: '/auth/oauth/github' },
      ],
    });
  });
});

describe('opt-in policies', () => {
  it('linkByVerifiedEmail links a verified email to an account whose email a provider proved, and signs in', async () => {
    const t = await getTestInstance({ oauth: oauth({ linkA: true }) });
    try {
      // The account was made by signing up with Beta, which verified alice@example.com for it.
      await new OAuthBrowser(t).signIn('beta');
      const existing = (await (await t.auth.storage()).findUserByEmail('alice@example.com'))!;
      const browser = new OAuthBrowser(t);
      expect((await browser.signIn('alpha')).headers.get('location')).toBe('/');
      const identities = await t.database.kysely.selectFrom('gatehouse_identities').selectAll().execute();
      expect(identities.map((i) => [i.provider, i.user_id])).toEqual([
        ['beta', existing.id],
        ['alpha', existing.id],
      ]);
      const linked = await t.database.kysely.selectFrom('gatehouse_auth_events').select('data').where('type', '=', 'oauth.linked').executeTakeFirstOrThrow();
      expect(JSON.parse(linked.data!)).toMatchObject({ provider: 'alpha', automatic: true });
      // A second Alpha subject asserting the same address (the provider reassigned it): never linked.
      a.claims = { sub: 'alice-reassigned' };
      expect(errorCode(await new OAuthBrowser(t).signIn('alpha'))).toBe('OAUTH_ACCOUNT_EXISTS');
      a.claims = {};
      // Still never for an unverified email.
      a.claims = { sub: 'someone-else', email: 'bob@example.com', email_verified: false };
      await t.auth.users.create({ email: 'bob@example.com', name: 'Bob' });
      expect(errorCode(await new OAuthBrowser(t).signIn('alpha'))).toBe('OAUTH_EMAIL_NOT_VERIFIED');
    } finally {
      await t.close();
    }
  });

  it('OIDC-13 pre-account takeover: an address claimed by a passkey sign-up is never linked by linkByVerifiedEmail', async () => {
    const t = await getTestInstance({ oauth: oauth({ linkA: true }) });
    try {
      // The attacker signs up first with a passkey, as the victim's address: no provider proved it.
      const attacker = new Browser(t);
      expect((await attacker.signUp('alice@example.com', 'Not Alice')).status).toBe(201);
      // The victim signs in with Alpha, which verified alice@example.com: not attached to the attacker's account.
      const victim = new OAuthBrowser(t);
      expect(errorCode(await victim.signIn('alpha'))).toBe('OAUTH_ACCOUNT_EXISTS');
      expect(await count(t, 'gatehouse_identities')).toBe(0);
      expect(victim.cookie).not.toContain('__Host-gatehouse-session=');
      // Nor an account the operator created: the address was never proven by anyone.
      await t.auth.users.create({ email: 'carol@example.com' });
      a.claims = { sub: 'carol', email: 'carol@example.com', email_verified: true };
      expect(errorCode(await new OAuthBrowser(t).signIn('alpha'))).toBe('OAUTH_ACCOUNT_EXISTS');
    } finally {
      await t.close();
    }
  });

  it('storeTokens keeps provider tokens encrypted (JWE) under a key derived from the secret', async () => {
    const secret = 'a-very-long-test-secret-of-at-least-32-chars';
    const t = await getTestInstance({ oauth: oauth({}, { storeTokens: { secret } }) });
    try {
      await new OAuthBrowser(t).signIn('alpha');
      const row = await t.database.kysely.selectFrom('gatehouse_identities').select('tokens').executeTakeFirstOrThrow();
      expect(row.tokens!.split('.')).toHaveLength(5);
      const key = new Uint8Array(hkdfSync('sha256', secret, 'gatehouse', 'gatehouse oauth provider tokens v1', 32));
      const opened = JSON.parse(new TextDecoder().decode((await compactDecrypt(row.tokens!, key)).plaintext)) as { accessToken: string };
      expect(opened.accessToken.length).toBeGreaterThan(10);
      expect(row.tokens).not.toContain(opened.accessToken);
    } finally {
      await t.close();
    }
  });
});

describe('link and unlink (SESS-10, AUTHZ-02)', () => {
  let t: TestInstance;
  beforeEach(async () => {
    t = await getTestInstance({ oauth: oauth() });
    return () => t.close();
  });

  async function signedInBrowser(email: string): Promise<{ browser: OAuthBrowser; userId: string }> {
    const { cookie, userId } = await t.signIn(email);
    const browser = new OAuthBrowser(t);
    const [name, value] = cookie.split('=') as [string, string];
    browser.jar.set(name, value);
    return { browser, userId };
  }

  async function link(browser: OAuthBrowser, provider: string): Promise<Response> {
    const res = await browser.send(`/auth/oauth/${provider}/link`, { method: 'POST', json: { returnTo: '/account' }, accept: 'application/json' });
    expect(res.status, await res.clone().text()).toBe(200);
    const { url } = (await res.json()) as { url: string };
    return browser.callback(await browser.authorize(new URL(url)));
  }

  it('links a provider to the signed-in account (even with another email), lists it, and signs in with it afterwards', async () => {
    const { browser, userId } = await signedInBrowser('carol@example.com');
    const sessionsBefore = await count(t, 'gatehouse_sessions');
    const res = await link(browser, 'alpha');
    expect(res.headers.get('location')).toBe('/account');
    expect(await count(t, 'gatehouse_sessions')).toBe(sessionsBefore);
    const list = (await (await browser.send('/auth/accounts', { accept: 'application/json' })).json()) as { accounts: Array<Record<string, unknown>> };
    expect(list.accounts).toEqual([
      { id: expect.any(String), provider: 'alpha', providerName: 'Alpha', email: 'alice@example.com', emailVerified: true, createdAt: expect.any(String), lastUsedAt: expect.any(String) },
    ]);
    const other = new OAuthBrowser(t);
    await other.signIn('alpha');
    const session = await t.auth.getSession(new Request(ORIGIN, { headers: { cookie: other.cookie } }));
    expect(session?.user.id).toBe(userId);
  });

  it('SESS-10: linking needs a recent sign-in', async () => {
    const { browser } = await signedInBrowser('carol@example.com');
    t.clock.advance(11 * 60 * 1000);
    const res = await browser.send('/auth/oauth/alpha/link', { method: 'POST', json: {}, accept: 'application/json' });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('REAUTHENTICATION_REQUIRED');
  });

  it('SESS-10: unlinking needs a recent sign-in; the identity stays', async () => {
    const owner = new OAuthBrowser(t);
    await owner.signIn('alpha');
    b.claims = { email: 'alice@example.com' };
    const started = await owner.send('/auth/oauth/beta/link', { method: 'POST', json: {}, accept: 'application/json' });
    await owner.callback(await owner.authorize(new URL(((await started.json()) as { url: string }).url)));
    const { accounts } = (await (await owner.send('/auth/accounts', { accept: 'application/json' })).json()) as { accounts: Array<{ id: string }> };
    t.clock.advance(11 * 60 * 1000);
    const res = await owner.send(`/auth/accounts/${accounts[0]!.id}`, { method: 'DELETE', accept: 'application/json' });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('REAUTHENTICATION_REQUIRED');
    expect(await count(t, 'gatehouse_identities')).toBe(2);
  });

  it('SESS-04: linking rotates the session token; the old one is refused', async () => {
    const { browser } = await signedInBrowser('carol@example.com');
    const old = browser.cookie;
    const res = await link(browser, 'alpha');
    expect(res.headers.getSetCookie().some((c) => c.startsWith('__Host-gatehouse-session=') && !c.includes('Max-Age=0'))).toBe(true);
    expect((await t.request('/auth/session', { cookie: old })).status).toBe(401);
    expect((await browser.send('/auth/session', { accept: 'application/json' })).status).toBe(200);
  });

  it('CSRF: a cross-site POST cannot start a link', async () => {
    const { browser } = await signedInBrowser('carol@example.com');
    const res = await browser.send('/auth/oauth/alpha/link', { method: 'POST', json: {}, site: 'cross-site', accept: 'application/json' });
    expect(res.status).toBe(403);
    expect(await count(t, 'gatehouse_identities')).toBe(0);
  });

  it('an identity linked to someone else cannot be linked again', async () => {
    await new OAuthBrowser(t).signIn('alpha');
    const { browser } = await signedInBrowser('carol@example.com');
    expect(errorCode(await link(browser, 'alpha'))).toBe('OAUTH_IDENTITY_TAKEN');
    expect(await count(t, 'gatehouse_identities')).toBe(1);
  });

  it('a link answered after the browser switched accounts is refused', async () => {
    const { browser } = await signedInBrowser('carol@example.com');
    const res = await browser.send('/auth/oauth/alpha/link', { method: 'POST', json: {}, accept: 'application/json' });
    const { url } = (await res.json()) as { url: string };
    const callback = await browser.authorize(new URL(url));
    const { cookie } = await t.signIn('mallory@example.com');
    const [name, value] = cookie.split('=') as [string, string];
    browser.jar.set(name, value);
    expect(errorCode(await browser.callback(callback))).toBe('OAUTH_LINK_SESSION_CHANGED');
    expect(await count(t, 'gatehouse_identities')).toBe(0);
  });

  it('unlinks while another way to sign in remains; refuses the last one; only the owner can unlink (AUTHZ-02)', async () => {
    const owner = new OAuthBrowser(t);
    await owner.signIn('alpha');
    b.claims = { email: 'alice@example.com' };
    const res = await owner.send('/auth/oauth/beta/link', { method: 'POST', json: {}, accept: 'application/json' });
    await owner.callback(await owner.authorize(new URL(((await res.json()) as { url: string }).url)));
    const { accounts } = (await (await owner.send('/auth/accounts', { accept: 'application/json' })).json()) as { accounts: Array<{ id: string; provider: string }> };
    expect(accounts.map((x) => x.provider)).toEqual(['alpha', 'beta']);

    const { browser: stranger } = await signedInBrowser('mallory@example.com');
    expect((await stranger.send(`/auth/accounts/${accounts[0]!.id}`, { method: 'DELETE', accept: 'application/json' })).status).toBe(404);

    expect((await owner.send(`/auth/accounts/${accounts[0]!.id}`, { method: 'DELETE', accept: 'application/json' })).status).toBe(204);
    const last = await owner.send(`/auth/accounts/${accounts[1]!.id}`, { method: 'DELETE', accept: 'application/json' });
    expect(last.status).toBe(409);
    expect(((await last.json()) as { error: { code: string } }).error.code).toBe('LAST_SIGN_IN_METHOD');
    expect(await count(t, 'gatehouse_identities')).toBe(1);
    const unlinked = await t.database.kysely.selectFrom('gatehouse_auth_events').select('type').where('type', '=', 'oauth.unlinked').execute();
    expect(unlinked).toHaveLength(1);
  });

  it('two racing unlinks of the last two identities leave one', async () => {
    const owner = new OAuthBrowser(t);
    await owner.signIn('alpha');
    b.claims = { email: 'alice@example.com' };
    const res = await owner.send('/auth/oauth/beta/link', { method: 'POST', json: {}, accept: 'application/json' });
    await owner.callback(await owner.authorize(new URL(((await res.json()) as { url: string }).url)));
    const ids = (await t.database.kysely.selectFrom('gatehouse_identities').select('id').execute()).map((r) => r.id);
    const results = await Promise.all(ids.map((id) => owner.send(`/auth/accounts/${id}`, { method: 'DELETE', accept: 'application/json' })));
    expect(results.map((r) => r.status).sort()).toEqual([204, 409]);
    expect(await count(t, 'gatehouse_identities')).toBe(1);
  });
});

describe('GitHub (OAuth 2.0, identity from the API)', () => {
  let t: TestInstance;
  beforeEach(async () => {
    gh.user = { id: 4242, login: 'octo', name: 'Octo Cat', email: 'public-but-unverified@example.com' };
    gh.emails = [
      { email: 'octo-old@example.com', primary: false, verified: true },
      { email: 'octo@example.com', primary: true, verified: true },
    ];
    t = await getTestInstance({ oauth: oauth() });
    return () => t.close();
  });

  it('signs up with the numeric user id as subject and the primary VERIFIED email, ignoring the public profile email', async () => {
    const browser = new OAuthBrowser(t);
    const res = await browser.signIn('github');
    expect(res.headers.get('location')).toBe('/');
    expect(gh.lastAuthorizeParams?.get('code_challenge_method')).toBe('S256');
    const identity = await t.database.kysely.selectFrom('gatehouse_identities').selectAll().executeTakeFirstOrThrow();
    expect(identity).toMatchObject({ issuer: gh.baseUrl, subject: '4242', email: 'octo@example.com', email_verified: 1 });
    const user = await t.database.kysely.selectFrom('gatehouse_users').selectAll().executeTakeFirstOrThrow();
    expect(user).toMatchObject({ email: 'octo@example.com', name: 'Octo Cat' });
  });

  it('without a verified primary email there is no account', async () => {
    gh.emails = [{ email: 'octo@example.com', primary: true, verified: false }];
    expect(errorCode(await new OAuthBrowser(t).signIn('github'))).toBe('OAUTH_EMAIL_NOT_VERIFIED');
    expect(await count(t, 'gatehouse_users')).toBe(0);
  });

  it('a renamed login is still the same account (identity is the numeric id)', async () => {
    await new OAuthBrowser(t).signIn('github');
    gh.user = { ...gh.user, login: 'octo-renamed' };
    await new OAuthBrowser(t).signIn('github');
    expect(await count(t, 'gatehouse_users')).toBe(1);
  });
});

describe('configuration', () => {
  const base = { database: 'sqlite::memory:', origin: ORIGIN };
  it.each([
    [{ providers: [oidcProvider({ id: 'x', name: 'X', issuer: 'http://idp.example.com', clientId: 'c' })] }, /must use https/],
    [{ providers: [oidcProvider({ id: 'X Y', name: 'X', issuer: 'https://idp.example.com', clientId: 'c' })] }, /lowercase letters/],
    [{ providers: [oidcProvider({ id: 'x', name: 'X', issuer: 'https://idp.example.com', clientId: 'c', idTokenAlg: 'HS256' })] }, /idTokenAlg/],
    [{ providers: [oidcProvider({ id: 'x', name: 'X', issuer: 'https://login.microsoftonline.com/common/v2.0', clientId: 'c' })] }, /multi-tenant/],
    [{ providers: [oidcProvider({ id: 'x', name: 'X', issuer: 'https://idp.example.com', clientId: 'c', scopes: ['email'] })] }, /openid/],
    [{ providers: [githubProvider({ clientId: 'c' }), githubProvider({ clientId: 'd' })] }, /share the id/],
    [{ providers: [githubProvider({ clientId: 'c' })], storeTokens: { secret: 'short' } }, /32 characters/],
  ] as Array<[OAuthOptions, RegExp]>)('refuses a mistake at startup with a message saying what to fix (%#)', (options, message) => {
    expect(() => createGatehouse({ ...base, oauth: options })).toThrow(message);
  });
});

describe('safeReturnPath (REDIR-01)', () => {
  it.each([
    ['/account', '/account'],
    ['/a/b?c=d#e', '/a/b?c=d#e'],
    ['//evil.example', '/'],
    ['/\\evil.example', '/'],
    ['\\\\evil.example', '/'],
    ['/%2fevil', '/'],
    ['/%5cevil', '/'],
    ['https://evil.example', '/'],
    ['javascript:alert(1)', '/'],
    ['/\tevil', '/'],
    ['/x\u0000', '/'],
    ['', '/'],
    [`/${'a'.repeat(600)}`, '/'],
    ['/..//evil.example', '/'],
  ])('%j -> %j', (input, expected) => {
    expect(safeReturnPath(input)).toBe(expected);
  });
});
