import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { oidcProvider } from '../src/index.js';
import { startDevIdp, type DevIdp } from '../src/dev-idp/dev-idp.js';
import { ORIGIN, getTestInstance, type TestInstance } from './helpers.js';
import { errorCode, OAuthBrowser } from './oauth-helpers.js';
import { Agent, authorize } from './support/dev-idp-agent.js';

/**
 * Gatehouse against a REAL OpenID Provider (oidc-provider, as the dev IdP) on loopback, no
 * browser: sign-up, sign-in, consent denied, an unverified email, link and unlink, and a key
 * rotation at the provider. The browser version is tests/browser-oauth.test.ts.
 */
const CALLBACK = `${ORIGIN}/auth/oauth/dev/callback`;
let idp: DevIdp;
let t: TestInstance;

beforeAll(async () => {
  idp = await startDevIdp({ clients: [{ clientId: 'gatehouse-demo', clientSecret: 'dev-secret-0123456789', redirectUris: [CALLBACK] }] });
});
afterAll(async () => {
  await idp.close();
});
beforeEach(async () => {
  t = await getTestInstance({
    oauth: { providers: [oidcProvider({ id: 'dev', name: 'Dev IdP', issuer: idp.issuer, clientId: 'gatehouse-demo', clientSecret: 'dev-secret-0123456789', idTokenAlg: 'ES256' })] },
  });
  return () => t.close();
});
afterEach(() => {
  vi.useRealTimers();
});

/** Start at Gatehouse, pick a user (or cancel) at the IdP, come back to the callback. */
async function viaIdp(browser: OAuthBrowser, choice: { sub: string } | 'cancel', start?: URL): Promise<Response> {
  const { callback } = await authorize(new Agent(), start ?? (await browser.start('dev')), choice, CALLBACK);
  return browser.callback(callback);
}

async function session(browser: OAuthBrowser) {
  return t.auth.getSession(new Request(ORIGIN, { headers: { cookie: browser.cookie } }));
}

describe('with a real OpenID Provider (oidc-provider)', () => {
  it('signs up, then signs in again as the same account', async () => {
    const first = new OAuthBrowser(t);
    expect((await viaIdp(first, { sub: 'dev-alice' })).headers.get('location')).toBe('/');
    const user = (await session(first))!.user;
    expect(user).toMatchObject({ email: 'alice@example.com', name: 'Alice' });
    const second = new OAuthBrowser(t);
    await viaIdp(second, { sub: 'dev-alice' });
    expect((await session(second))!.user.id).toBe(user.id);
    const identity = await t.database.kysely.selectFrom('gatehouse_identities').selectAll().executeTakeFirstOrThrow();
    expect(identity).toMatchObject({ issuer: idp.issuer, subject: 'dev-alice', provider: 'dev' });
  });

  it('consent denied at the provider: error page, no session', async () => {
    const browser = new OAuthBrowser(t);
    const res = await viaIdp(browser, 'cancel');
    expect(res.headers.get('location')).toBe('/auth/sign-in?error=OAUTH_ACCESS_DENIED');
    expect(await session(browser)).toBeNull();
  });

  it('a user whose email the provider did not verify gets no account', async () => {
    const res = await viaIdp(new OAuthBrowser(t), { sub: 'dev-uma' });
    expect(errorCode(res)).toBe('OAUTH_EMAIL_NOT_VERIFIED');
    expect(await t.database.kysely.selectFrom('gatehouse_users').selectAll().execute()).toEqual([]);
  });

  it('links to a signed-in account and unlinks (refusing the last way to sign in)', async () => {
    const { cookie, userId } = await t.signIn('carol@example.com');
    const browser = new OAuthBrowser(t);
    const [name, value] = cookie.split('=') as [string, string];
    browser.jar.set(name, value);
    const start = await browser.send('/auth/oauth/dev/link', { method: 'POST', json: { returnTo: '/account' }, accept: 'application/json' });
    const { url } = (await start.json()) as { url: string };
    expect((await viaIdp(browser, { sub: 'dev-bob' }, new URL(url))).headers.get('location')).toBe('/account');
    const [identity] = await t.database.kysely.selectFrom('gatehouse_identities').selectAll().execute();
    expect(identity).toMatchObject({ user_id: userId, subject: 'dev-bob' });
    // Carol has no passkey: this identity is her only way to sign in.
    const refused = await browser.send(`/auth/accounts/${identity!.id}`, { method: 'DELETE', accept: 'application/json' });
    expect(refused.status).toBe(409);
    // Link Alice too, then Bob can go.
    const again = await browser.send('/auth/oauth/dev/link', { method: 'POST', json: {}, accept: 'application/json' });
    await viaIdp(browser, { sub: 'dev-alice' }, new URL(((await again.json()) as { url: string }).url));
    expect((await browser.send(`/auth/accounts/${identity!.id}`, { method: 'DELETE', accept: 'application/json' })).status).toBe(204);
    const left = await t.database.kysely.selectFrom('gatehouse_identities').select('subject').execute();
    expect(left).toEqual([{ subject: 'dev-alice' }]);
  });

  it('keeps working when the provider rotates its signing key (one JWKS refetch once the cache is a minute old)', async () => {
    const before = new OAuthBrowser(t);
    await viaIdp(before, { sub: 'dev-alice' });
    await idp.rotateKeys();
    // The new key signs at once; Gatehouse's key set is younger than a minute, so no refetch yet:
    // refused (proves the new kid is in use and unknown until the refetch)...
    expect(errorCode(await viaIdp(new OAuthBrowser(t), { sub: 'dev-alice' }))).toBe('OAUTH_INVALID_RESPONSE');
    // ...and a minute later one refetch picks it up.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 61_000 });
    t.clock.advance(61_000);
    const after = new OAuthBrowser(t);
    const res = await viaIdp(after, { sub: 'dev-alice' });
    expect(res.headers.get('location')).toBe('/');
    expect((await session(after))!.user.email).toBe('alice@example.com');
  });
});
