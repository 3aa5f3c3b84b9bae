import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { oidcProvider } from '../src/index.js';
import { getTestInstance, type TestInstance } from './helpers.js';
import { errorCode, OAuthBrowser } from './oauth-helpers.js';
import { startHostileIdp, type Defect, type HostileIdp } from './support/hostile-idp.js';

/**
 * OIDC-01..14 and REDIR-01/02 against a provider that lies: each test serves one defect and
 * checks that it ends with no session, no linked identity and, where the defect is visible
 * before it, no token exchange.
 */

async function setup(idps: HostileIdp[]): Promise<TestInstance> {
  return getTestInstance({
    oauth: {
      providers: idps.map((idp, i) =>
        oidcProvider({ id: i === 0 ? 'hostile' : `hostile${i + 1}`, name: `Hostile ${i + 1}`, issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret, idTokenAlg: idp.alg }),
      ),
    },
  });
}

async function failureReasons(t: TestInstance): Promise<string[]> {
  const rows = await t.database.kysely.selectFrom('gatehouse_auth_events').select('data').where('type', '=', 'oauth.failed').execute();
  return rows.map((r) => (JSON.parse(r.data ?? '{}') as { reason: string }).reason);
}

async function sessionsAndIdentities(t: TestInstance): Promise<{ sessions: number; identities: number }> {
  const db = t.database.kysely;
  const s = await db.selectFrom('gatehouse_sessions').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  const i = await db.selectFrom('gatehouse_identities').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return { sessions: Number(s.n), identities: Number(i.n) };
}

for (const alg of ['RS256', 'ES256'] as const) {
  describe(`hostile provider (${alg})`, () => {
    let idp: HostileIdp;
    let t: TestInstance;
    beforeAll(async () => {
      idp = await startHostileIdp({ alg });
    });
    afterAll(async () => {
      await idp.close();
    });
    beforeEach(async () => {
      idp.defect = null;
      idp.claims = {};
      t = await setup([idp]);
      return () => t.close();
    });

    it('a valid provider signs up and signs in: session cookie, identity (issuer, sub) stored', async () => {
      const browser = new OAuthBrowser(t);
      const res = await browser.signIn('hostile', '/account?tab=1');
      expect(res.status).toBe(302);
      expect(res.headers.get('location')).toBe('/account?tab=1');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
      expect(browser.has('__Host-gatehouse-session')).toBe(true);
      expect(browser.has('__Host-gatehouse-oauth')).toBe(false);
      const params = idp.lastAuthorizeParams!;
      expect(params.get('code_challenge_method')).toBe('S256');
      expect(params.get('redirect_uri')).toBe('http://localhost:3000/auth/oauth/hostile/callback');
      expect(params.get('state')!.length).toBeGreaterThanOrEqual(22);
      expect(params.get('nonce')!.length).toBeGreaterThanOrEqual(22);
      const row = await t.database.kysely.selectFrom('gatehouse_identities').selectAll().executeTakeFirstOrThrow();
      expect(row).toMatchObject({ issuer: idp.issuer, subject: 'hostile-alice', email: 'alice@example.com', tokens: null });
      expect(await sessionsAndIdentities(t)).toEqual({ sessions: 1, identities: 1 });
    });

    /** Each defect, and the check that must refuse it (the reason recorded in the audit log). */
    const defects: Array<[Defect, RegExp]> = [
      ['bad-signature', /signature verification failed/],
      ['alg-none', /"alg" header/],
      ['hs256-client-secret', /"alg" header/],
      ['wrong-iss', /"iss"/],
      ['missing-iss', /"iss".*missing/],
      ['wrong-aud', /"aud"/],
      ['missing-aud', /"aud".*missing/],
      ['extra-aud', /aud_untrusted/],
      ['wrong-azp', /azp/],
      ['expired', /"exp"/],
      ['iat-past', /id_token:iat/],
      ['iat-future', /id_token:iat/],
      ['missing-sub', /"sub".*missing/],
      ['wrong-nonce', /"nonce"/],
      ['missing-nonce', /"nonce".*missing/],
      ['replayed-nonce', /"nonce"/],
      ['unknown-kid', /KEY_SELECTION/],
    ];
    for (const [defect, reason] of defects) {
      it(`refuses an ID token with defect "${defect}": no session, no identity, the failed check logged`, async () => {
        idp.defect = defect;
        const browser = new OAuthBrowser(t);
        // A first attempt gives "replayed-nonce" a previous nonce to replay.
        if (defect === 'replayed-nonce') await browser.authorize(await browser.start('hostile'));
        const res = await browser.signIn('hostile');
        expect(res.status).toBe(302);
        expect(errorCode(res)).toBe('OAUTH_INVALID_RESPONSE');
        expect(browser.has('__Host-gatehouse-session')).toBe(false);
        expect(await sessionsAndIdentities(t)).toEqual({ sessions: 0, identities: 0 });
        expect(await failureReasons(t)).toEqual([expect.stringMatching(reason)]);
      });
    }

    for (const spelling of ['None', 'NONE', 'nOnE'] as const) {
      it(`refuses alg "${spelling}" too (JWT-01 in any capitalisation)`, async () => {
        idp.defect = 'alg-none';
        idp.noneAlg = spelling;
        const res = await new OAuthBrowser(t).signIn('hostile');
        idp.noneAlg = 'none';
        expect(errorCode(res)).toBe('OAUTH_INVALID_RESPONSE');
        expect(await sessionsAndIdentities(t)).toEqual({ sessions: 0, identities: 0 });
      });
    }
  });
}

describe('protocol attacks (state, iss, mix-up, PKCE, redirects)', () => {
  let a: HostileIdp;
  let b: HostileIdp;
  let t: TestInstance;
  beforeAll(async () => {
    a = await startHostileIdp();
    b = await startHostileIdp({ clientId: 'gatehouse-test-b', sub: 'b-user' });
  });
  afterAll(async () => {
    await a.close();
    await b.close();
  });
  beforeEach(async () => {
    for (const idp of [a, b]) {
      idp.defect = null;
      idp.claims = {};
      idp.hits = { discovery: 0, authorize: 0, token: 0, jwks: 0, userinfo: 0 };
    }
    t = await setup([a, b]);
    return () => t.close();
  });

  it('OIDC-12: a discovery document naming another issuer stops the sign-in before the provider is visited', async () => {
    a.defect = 'discovery-issuer-mismatch';
    const res = await new OAuthBrowser(t).send('/auth/oauth/hostile');
    expect(res.status).toBe(302);
    expect(errorCode(res)).toBe('OAUTH_INVALID_RESPONSE');
    expect(a.hits.authorize).toBe(0);
    expect(await failureReasons(t)).toEqual([expect.stringMatching(/discovery:.*issuer/)]);
  });

  it('OIDC-05: an authorization response whose iss is not the provider fails before the code is redeemed', async () => {
    a.defect = 'auth-response-iss-mismatch';
    const res = await new OAuthBrowser(t).signIn('hostile');
    expect(errorCode(res)).toBe('OAUTH_INVALID_RESPONSE');
    expect(a.hits.token).toBe(0);
    expect(await sessionsAndIdentities(t)).toEqual({ sessions: 0, identities: 0 });
  });

  it('OIDC-03: a callback in a browser that never started the attempt (no transaction cookie) fails before the code is redeemed', async () => {
    const victim = new OAuthBrowser(t);
    const attacker = new OAuthBrowser(t, '198.51.100.7');
    // Login CSRF: the attacker completes their own attempt up to the callback and sends the URL to the victim.
    const callback = await attacker.authorize(await attacker.start('hostile'));
    const res = await victim.callback(callback);
    expect(errorCode(res)).toBe('OAUTH_STATE_INVALID');
    expect(a.hits.token).toBe(0);
    expect(victim.has('__Host-gatehouse-session')).toBe(false);
  });

  it('OIDC-03: a foreign state (the victim has an attempt of their own) fails before the code is redeemed', async () => {
    const victim = new OAuthBrowser(t);
    const attacker = new OAuthBrowser(t, '198.51.100.7');
    await victim.start('hostile');
    const callback = await attacker.authorize(await attacker.start('hostile'));
    const res = await victim.callback(callback);
    expect(errorCode(res)).toBe('OAUTH_STATE_INVALID');
    expect(a.hits.token).toBe(0);
    expect(await sessionsAndIdentities(t)).toEqual({ sessions: 0, identities: 0 });
  });

  it('OIDC-03: a tampered or forged state fails before any code exchange, and cannot cancel the browser\'s attempt', async () => {
    const browser = new OAuthBrowser(t);
    const callback = await browser.authorize(await browser.start('hostile'));
    const tampered = new URL(callback);
    tampered.searchParams.set('state', `${callback.searchParams.get('state')!}x`);
    expect(errorCode(await browser.callback(tampered))).toBe('OAUTH_STATE_INVALID');
    // Any page can send the browser to the callback with junk: that took the attempt before, a
    // one-click way to break someone's sign-in. It takes nothing now.
    const junk = new URL(callback);
    junk.search = '?code=junk&state=junk';
    expect(errorCode(await browser.callback(junk))).toBe('OAUTH_STATE_INVALID');
    expect(a.hits.token).toBe(0);
    expect((await browser.callback(callback)).headers.get('location')).toBe('/');
    expect(a.hits.token).toBe(1);
  });

  it('OIDC-03: a replayed callback fails before a second code exchange', async () => {
    const browser = new OAuthBrowser(t);
    const callback = await browser.authorize(await browser.start('hostile'));
    expect((await browser.callback(callback)).headers.get('location')).toBe('/');
    const sessionsAfterFirst = (await sessionsAndIdentities(t)).sessions;
    const replay = await browser.callback(callback);
    expect(errorCode(replay)).toBe('OAUTH_STATE_INVALID');
    expect(a.hits.token).toBe(1);
    expect((await sessionsAndIdentities(t)).sessions).toBe(sessionsAfterFirst);
  });

  it('OIDC-06 mix-up: an answer for provider A delivered to provider B\'s callback is refused, no token endpoint is called', async () => {
    const browser = new OAuthBrowser(t);
    const callbackA = await browser.authorize(await browser.start('hostile'));
    const atB = new URL(callbackA);
    atB.pathname = '/auth/oauth/hostile2/callback';
    const res = await browser.callback(atB);
    expect(errorCode(res)).toBe('OAUTH_PROVIDER_MISMATCH');
    expect(a.hits.token + b.hits.token).toBe(0);
    expect(await sessionsAndIdentities(t)).toEqual({ sessions: 0, identities: 0 });
  });

  it('OIDC-06 mix-up: an answer claiming to come from provider B at provider A\'s callback is refused (RFC 9207 iss)', async () => {
    const browser = new OAuthBrowser(t);
    const callbackA = await browser.authorize(await browser.start('hostile'));
    callbackA.searchParams.set('iss', b.issuer);
    const res = await browser.callback(callbackA);
    expect(errorCode(res)).toBe('OAUTH_INVALID_RESPONSE');
    expect(a.hits.token + b.hits.token).toBe(0);
  });

  it('OIDC-01/02: every attempt gets a fresh state, nonce and S256 PKCE challenge; the verifier never leaves the server', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const url = await new OAuthBrowser(t).start('hostile');
      const p = url.searchParams;
      expect(p.get('code_challenge_method')).toBe('S256');
      expect(p.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(p.has('code_verifier')).toBe(false);
      for (const v of [p.get('state')!, p.get('nonce')!, p.get('code_challenge')!]) seen.add(v);
    }
    expect(seen.size).toBe(9);
  });

  it('OIDC-01: the transaction cookie is __Host-, HttpOnly, Secure, SameSite=Lax and short-lived; the row stores only its hash', async () => {
    const res = await t.request('/auth/oauth/hostile', { headers: { accept: 'text/html' } });
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith('__Host-gatehouse-oauth='))!;
    expect(cookie).toMatch(/; Path=\/; Max-Age=600; HttpOnly; Secure; SameSite=Lax$/);
    const secret = cookie.slice('__Host-gatehouse-oauth='.length, cookie.indexOf(';'));
    const row = await t.database.kysely.selectFrom('gatehouse_oauth_transactions').selectAll().executeTakeFirstOrThrow();
    expect(row.binding_hash).not.toBe(secret);
    expect(JSON.stringify(row)).not.toContain(secret);
  });

  it('consent denied at the provider ends on the error page with no session and no token exchange', async () => {
    const browser = new OAuthBrowser(t);
    const url = await browser.start('hostile');
    const denied = new URL('http://localhost:3000/auth/oauth/hostile/callback');
    denied.search = new URLSearchParams({ error: 'access_denied', state: url.searchParams.get('state')!, iss: a.issuer }).toString();
    const res = await browser.callback(denied);
    expect(res.headers.get('location')).toBe('/auth/sign-in?error=OAUTH_ACCESS_DENIED');
    expect(a.hits.token).toBe(0);
    expect(await failureReasons(t)).toEqual(['access_denied']);
  });

  it('an API client (Accept: application/json) gets the one JSON error shape instead of a redirect', async () => {
    const res = await new OAuthBrowser(t).send('/auth/oauth/hostile/callback?code=x&state=y', { accept: 'application/json', site: 'cross-site' });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: { code: 'OAUTH_STATE_INVALID', message: expect.any(String) } });
  });

  it('an unknown provider is a 404 in the JSON error shape', async () => {
    const res = await t.request('/auth/oauth/nope');
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
  });

  it('REDIR-02: the redirect_uri comes from configuration, not from the Host the request arrived on', async () => {
    const res = await t.auth.handler(new Request('http://evil.example/auth/oauth/hostile', { headers: { accept: 'text/html' } }), { ip: '203.0.113.30' });
    const url = new URL(res.headers.get('location')!);
    expect(url.searchParams.get('redirect_uri')).toBe('http://localhost:3000/auth/oauth/hostile/callback');
  });

  for (const [returnTo, expected] of [
    ['/posts?page=2#top', '/posts?page=2#top'],
    ['//evil.example/x', '/'],
    ['/\\evil.example', '/'],
    ['https://evil.example/', '/'],
    ['/%2F%2Fevil.example', '/'],
    ['javascript:alert(1)', '/'],
    ['/@evil.example', '/@evil.example'],
  ] as const) {
    it(`REDIR-01: returnTo ${JSON.stringify(returnTo)} lands on ${JSON.stringify(expected)}`, async () => {
      const res = await new OAuthBrowser(t).signIn('hostile', returnTo);
      expect(res.headers.get('location')).toBe(expected);
    });
  }

  it('HEAD on the start and callback changes nothing: 405 with Allow: GET, no transaction stored or taken', async () => {
    const rows = () => t.database.kysely.selectFrom('gatehouse_oauth_transactions').select('id').where('ip', '=', '192.0.2.88').execute();
    const checker = new OAuthBrowser(t, '192.0.2.88');
    const head = await checker.send('/auth/oauth/hostile', { method: 'HEAD' });
    expect(head.status).toBe(405);
    expect(head.headers.get('allow')).toBe('GET');
    expect(await rows()).toHaveLength(0);
    // /oauth/providers is also /oauth/:provider: each method once in Allow.
    const post = await checker.send('/auth/oauth/providers', { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    // A real browser's callback still works after a HEAD of the same URL (a prefetcher, a link scanner).
    const browser = new OAuthBrowser(t, '192.0.2.88');
    const callback = await browser.authorize(await browser.start('hostile'));
    expect(await rows()).toHaveLength(1);
    expect((await browser.send(`${callback.pathname}${callback.search}`, { method: 'HEAD', site: 'cross-site' })).status).toBe(405);
    expect(await rows()).toHaveLength(1);
    const res = await browser.callback(callback);
    expect(res.status).toBe(302);
    expect(res.headers.getSetCookie().some((c) => c.startsWith('__Host-gatehouse-session='))).toBe(true);
  });

  it('RATE-04: pending transactions per client IP are bounded; the next start is a 429 with Retry-After', async () => {
    for (let i = 0; i < 20; i++) await new OAuthBrowser(t, '192.0.2.77').start('hostile');
    const res = await new OAuthBrowser(t, '192.0.2.77').send('/auth/oauth/hostile', { accept: 'application/json' });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).not.toBeNull();
    const rows = await t.database.kysely.selectFrom('gatehouse_oauth_transactions').select('id').where('ip', '=', '192.0.2.77').execute();
    expect(rows).toHaveLength(20);
  });

  it('ERR-02: a provider that goes down after the redirect ends with OAUTH_PROVIDER_UNAVAILABLE and no session', async () => {
    const down = await startHostileIdp();
    const t2 = await setup([down]);
    try {
      const browser = new OAuthBrowser(t2);
      const callback = await browser.authorize(await browser.start('hostile'));
      await down.close();
      const res = await browser.callback(callback);
      expect(errorCode(res)).toBe('OAUTH_PROVIDER_UNAVAILABLE');
      expect(await sessionsAndIdentities(t2)).toEqual({ sessions: 0, identities: 0 });
    } finally {
      await t2.close();
    }
  });
});

describe('provider failures and auth_time', () => {
  it('ERR-02: an unreachable JWKS (503) ends with OAUTH_PROVIDER_UNAVAILABLE, no session, no identity', async () => {
    const idp = await startHostileIdp();
    const t = await setup([idp]);
    try {
      idp.defect = 'jwks-unavailable';
      const browser = new OAuthBrowser(t);
      const res = await browser.signIn('hostile');
      expect(errorCode(res)).toBe('OAUTH_PROVIDER_UNAVAILABLE');
      expect(idp.hits.jwks).toBe(1);
      expect(await sessionsAndIdentities(t)).toEqual({ sessions: 0, identities: 0 });
    } finally {
      await t.close();
      await idp.close();
    }
  });

  it('OIDC-10: with maxAgeSeconds, max_age is sent and an old or missing auth_time is refused', async () => {
    const idp = await startHostileIdp();
    const t = await getTestInstance({
      oauth: { providers: [oidcProvider({ id: 'hostile', name: 'H', issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret, maxAgeSeconds: 300 })] },
    });
    try {
      idp.claims = { auth_time: Math.floor(Date.now() / 1000) - 3600 };
      expect(errorCode(await new OAuthBrowser(t).signIn('hostile'))).toBe('OAUTH_INVALID_RESPONSE');
      expect(idp.lastAuthorizeParams?.get('max_age')).toBe('300');
      idp.claims = { auth_time: undefined };
      expect(errorCode(await new OAuthBrowser(t).signIn('hostile'))).toBe('OAUTH_INVALID_RESPONSE');
      expect(await failureReasons(t)).toEqual([expect.stringMatching(/auth_time/), expect.stringMatching(/auth_time/)]);
      idp.claims = {};
      expect((await new OAuthBrowser(t).signIn('hostile')).headers.get('location')).toBe('/');
    } finally {
      await t.close();
      await idp.close();
    }
  });
});

describe('provider keys (OIDC-11)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('an unknown kid costs at most one JWKS fetch per minute, however many tokens carry it', async () => {
    const idp = await startHostileIdp();
    const t = await setup([idp]);
    try {
      expect((await new OAuthBrowser(t).signIn('hostile')).headers.get('location')).toBe('/');
      expect(idp.hits.jwks).toBe(1);
      idp.defect = 'unknown-kid';
      for (let i = 0; i < 3; i++) expect(errorCode(await new OAuthBrowser(t).signIn('hostile'))).toBe('OAUTH_INVALID_RESPONSE');
      expect(idp.hits.jwks).toBe(1);
    } finally {
      await t.close();
      await idp.close();
    }
  });

  it('after the provider rotates its key, sign-in works again with one JWKS refetch', async () => {
    const idp = await startHostileIdp({ alg: 'ES256' });
    const t = await setup([idp]);
    try {
      expect((await new OAuthBrowser(t).signIn('hostile')).headers.get('location')).toBe('/');
      await idp.rotateKey();
      // The cached key set is younger than a minute: the new kid is refused without a refetch...
      expect(errorCode(await new OAuthBrowser(t).signIn('hostile'))).toBe('OAUTH_INVALID_RESPONSE');
      expect(idp.hits.jwks).toBe(1);
      // ...and a minute later one refetch finds it.
      vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 61_000 });
      t.clock.advance(61_000);
      expect((await new OAuthBrowser(t).signIn('hostile')).headers.get('location')).toBe('/');
      expect(idp.hits.jwks).toBe(2);
    } finally {
      await t.close();
      await idp.close();
    }
  });
});
