// Self-test of the hostile OpenID Provider and the fake GitHub (tests/support), with openid-client 6
// as the relying party. Two things are proven here: the harness really serves each defect (the
// library refuses it for the right reason), and which defects openid-client does NOT refuse by
// itself, so Gatehouse's own checks on top of it are needed (see "left to the relying party").
import { createHash, randomBytes } from 'node:crypto';
import { decodeProtectedHeader } from 'jose';
import {
  ClientSecretBasic,
  allowInsecureRequests,
  authorizationCodeGrant,
  buildAuthorizationUrl,
  calculatePKCECodeChallenge,
  discovery,
  enableNonRepudiationChecks,
  fetchUserInfo,
  randomNonce,
  randomPKCECodeVerifier,
  randomState,
  type Configuration,
} from 'openid-client';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeGitHub, type FakeGitHub } from './support/fake-github.js';
import { startHostileIdp, type Defect, type HostileIdp, type HostileIdpOptions } from './support/hostile-idp.js';

const REDIRECT_URI = 'http://localhost:3000/auth/callback/hostile';

let idp: HostileIdp | undefined;
let github: FakeGitHub | undefined;
afterEach(async () => {
  await idp?.close();
  await github?.close();
  idp = undefined;
  github = undefined;
});

async function start(options?: HostileIdpOptions): Promise<HostileIdp> {
  idp = await startHostileIdp(options);
  return idp;
}

async function startGitHub(): Promise<FakeGitHub> {
  github = await startFakeGitHub();
  return github;
}

function configure(provider: HostileIdp, { nonRepudiation = true } = {}): Promise<Configuration> {
  const execute = nonRepudiation ? [allowInsecureRequests, enableNonRepudiationChecks] : [allowInsecureRequests];
  return discovery(
    new URL(provider.issuer),
    provider.clientId,
    { id_token_signed_response_alg: provider.alg },
    ClientSecretBasic(provider.clientSecret),
    { execute },
  );
}

interface Transaction {
  callback: URL;
  pkceCodeVerifier: string;
  expectedState: string;
  expectedNonce: string;
}

/** Starts a sign-in and follows the provider's redirect up to (not into) the callback. */
async function authorize(config: Configuration): Promise<Transaction> {
  const pkceCodeVerifier = randomPKCECodeVerifier();
  const expectedState = randomState();
  const expectedNonce = randomNonce();
  const url = buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI,
    scope: 'openid email profile',
    code_challenge: await calculatePKCECodeChallenge(pkceCodeVerifier),
    code_challenge_method: 'S256',
    state: expectedState,
    nonce: expectedNonce,
  });
  const response = await fetch(url, { redirect: 'manual' });
  expect(response.status).toBe(302);
  const location = response.headers.get('location');
  if (location === null) throw new Error('authorize: no Location header');
  return { callback: new URL(location), pkceCodeVerifier, expectedState, expectedNonce };
}

function redeem(config: Configuration, transaction: Transaction) {
  const { callback, ...checks } = transaction;
  return authorizationCodeGrant(config, callback, { ...checks, idTokenExpected: true });
}

/** Flattens an openid-client error and its causes: message, code and OAuth `error` of each level. */
function explain(error: unknown): string {
  const parts: string[] = [];
  for (let current: unknown = error; current instanceof Error; current = current.cause) {
    parts.push(current.message);
    if ('code' in current && typeof current.code === 'string') parts.push(current.code);
    if ('error' in current && typeof current.error === 'string') parts.push(current.error);
  }
  return parts.join(' | ');
}

async function failureOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return explain(error);
  }
  throw new Error('expected the relying party to refuse, but it accepted');
}

async function signIn(provider: HostileIdp, options?: { nonRepudiation?: boolean }) {
  const config = await configure(provider, options);
  return redeem(config, await authorize(config));
}

describe('hostile IdP with no defect is a valid OpenID Provider', () => {
  it.each(['RS256', 'ES256'] as const)('%s: code + PKCE flow succeeds, ID token and userinfo agree', async (alg) => {
    const provider = await start({ alg });
    const config = await configure(provider);
    const tokens = await redeem(config, await authorize(config));

    expect(decodeProtectedHeader(tokens.id_token ?? '')).toMatchObject({ alg });
    expect(tokens.claims()).toMatchObject({
      iss: provider.issuer,
      aud: provider.clientId,
      sub: 'hostile-alice',
      email: 'alice@example.com',
      email_verified: true,
      name: 'Alice',
    });
    const userinfo = await fetchUserInfo(config, tokens.access_token, 'hostile-alice');
    expect(userinfo).toMatchObject({ sub: 'hostile-alice', email: 'alice@example.com', email_verified: true });
    expect(provider.lastAuthorizeParams?.get('code_challenge_method')).toBe('S256');
    expect(provider.hits).toEqual({ discovery: 1, authorize: 1, token: 1, jwks: 1, userinfo: 1 });
  });

  it('applies claim overrides to the ID token and userinfo', async () => {
    const provider = await start();
    provider.claims = { email: 'mallory@example.com', email_verified: false };
    const config = await configure(provider);
    const tokens = await redeem(config, await authorize(config));
    expect(tokens.claims()).toMatchObject({ email: 'mallory@example.com', email_verified: false });
    expect(await fetchUserInfo(config, tokens.access_token, 'hostile-alice')).toMatchObject({ email_verified: false });
  });

  it('omits iss from the authorization response when RFC 9207 support is switched off', async () => {
    const provider = await start({ supportsIssParameter: false });
    const config = await configure(provider);
    const transaction = await authorize(config);
    expect(transaction.callback.searchParams.has('iss')).toBe(false);
    await expect(redeem(config, transaction)).resolves.toHaveProperty('id_token');
  });

  it('codes are single-use and bound to the PKCE verifier and redirect_uri', async () => {
    const provider = await start();
    const config = await configure(provider);
    const transaction = await authorize(config);
    await redeem(config, transaction);
    expect(await failureOf(redeem(config, transaction))).toMatch(/invalid_grant/);

    const other = await authorize(config);
    expect(await failureOf(redeem(config, { ...other, pkceCodeVerifier: randomPKCECodeVerifier() }))).toMatch(/invalid_grant/);
    expect(await failureOf(redeem(config, other))).toMatch(/invalid_grant/); // the failed attempt burnt the code

    const third = await authorize(config);
    const elsewhere = new URL(third.callback.search, 'http://localhost:3000/auth/callback/other');
    expect(await failureOf(redeem(config, { ...third, callback: elsewhere }))).toMatch(/invalid_grant/);
  });
});

describe('defects openid-client refuses (with enableNonRepudiationChecks)', () => {
  // Each defect must fail for ITS reason: a harness bug failing for another reason would not pass.
  const refused: Array<[Defect, RegExp]> = [
    ['bad-signature', /JWT signature verification failed/],
    ['alg-none', /unexpected JWT "alg" header parameter/],
    ['hs256-client-secret', /unexpected JWT "alg" header parameter/],
    ['wrong-iss', /unexpected JWT "iss" \(issuer\) claim value/],
    ['missing-iss', /JWT "iss" \(issuer\) claim missing/],
    ['wrong-aud', /unexpected JWT "aud" \(audience\) claim value/],
    ['missing-aud', /JWT "aud" \(audience\) claim missing/],
    ['expired', /"exp" \(expiration time\) claim value, expiration is past/],
    ['missing-sub', /JWT "sub" \(subject\) claim missing/],
    ['wrong-nonce', /unexpected ID Token "nonce" claim value/],
    ['missing-nonce', /JWT "nonce" \(nonce\) claim missing/],
    ['replayed-nonce', /unexpected ID Token "nonce" claim value/],
    ['unknown-kid', /OAUTH_KEY_SELECTION_FAILED/],
    ['discovery-issuer-mismatch', /discovered metadata issuer does not match the expected issuer/],
    ['auth-response-iss-mismatch', /unexpected "iss" \(issuer\) response parameter value/],
  ];

  it.each(refused)('%s', async (defect, reason) => {
    const provider = await start();
    if (defect === 'replayed-nonce') {
      await authorize(await configure(provider)); // an earlier, abandoned attempt whose nonce gets replayed
    }
    provider.defect = defect;
    expect(await failureOf(signIn(provider))).toMatch(reason);
  });

  it.each(['None', 'NONE', 'nOnE'] as const)('alg-none spelled %s', async (noneAlg) => {
    const provider = await start({ noneAlg });
    provider.defect = 'alg-none';
    const config = await configure(provider);
    const transaction = await authorize(config);
    const form = new URLSearchParams({
      grant_type: 'authorization_code',
      code: transaction.callback.searchParams.get('code') ?? '',
      redirect_uri: REDIRECT_URI,
      code_verifier: transaction.pkceCodeVerifier,
      client_id: provider.clientId,
      client_secret: provider.clientSecret,
    });
    // The harness really serves that spelling (checked on a direct token request)...
    const body: unknown = await (await fetch(`${provider.issuer}/token`, { method: 'POST', body: form })).json();
    const idToken = typeof body === 'object' && body !== null && 'id_token' in body ? String(body.id_token) : '';
    expect(decodeProtectedHeader(idToken).alg).toBe(noneAlg);
    expect(idToken.endsWith('.')).toBe(true);
    // ...and the relying party refuses it.
    expect(await failureOf(signIn(provider))).toMatch(/unexpected JWT "alg" header parameter/);
  });

  it('auth-response-iss-mismatch is refused before the code is redeemed (RFC 9207)', async () => {
    const provider = await start();
    provider.defect = 'auth-response-iss-mismatch';
    await failureOf(signIn(provider));
    expect(provider.hits.authorize).toBe(1);
    expect(provider.hits.token).toBe(0);
  });

  it('discovery-issuer-mismatch stops before any authorization request', async () => {
    const provider = await start();
    provider.defect = 'discovery-issuer-mismatch';
    await failureOf(configure(provider));
    expect(provider.hits).toMatchObject({ discovery: 1, authorize: 0, token: 0 });
  });

  it('unknown-kid: one JWKS fetch, no refetch while the cached set is younger than 60 s', async () => {
    const provider = await start();
    provider.defect = 'unknown-kid';
    await failureOf(signIn(provider));
    expect(provider.hits.jwks).toBe(1);
  });
});

// Pins what the library lets through, so Gatehouse knows its own checks are needed. If one of these
// starts failing, openid-client became stricter: keep Gatehouse's check, update this list.
describe('left to the relying party: openid-client 6 accepts these', () => {
  const now = () => Math.floor(Date.now() / 1000);
  const served: Array<[Defect, (claims: Record<string, unknown>) => void]> = [
    ['iat-future', (claims) => expect(claims.iat).toBeGreaterThan(now() + 3000)],
    ['iat-past', (claims) => expect(claims.iat).toBeLessThan(now() - 7000)],
    ['extra-aud', (claims) => expect(claims).toMatchObject({ aud: ['gatehouse-test', 'https://untrusted.example'], azp: 'gatehouse-test' })],
    ['wrong-azp', (claims) => expect(claims).toMatchObject({ aud: 'gatehouse-test', azp: 'someone-else' })],
  ];

  it.each(served)('%s', async (defect, check) => {
    const provider = await start();
    provider.defect = defect;
    const tokens = await signIn(provider);
    check({ ...tokens.claims() });
  });

  it('bad-signature when enableNonRepudiationChecks is NOT used (no JWKS fetch at all)', async () => {
    const provider = await start();
    provider.defect = 'bad-signature';
    const tokens = await signIn(provider, { nonRepudiation: false });
    expect(tokens.claims()).toMatchObject({ sub: 'hostile-alice' });
    expect(provider.hits.jwks).toBe(0);
  });
});

describe('JWKS and key rotation', () => {
  it('rotateKey() signs the next ID token with the new kid; the JWKS publishes both, public parts only', async () => {
    const provider = await start();
    const before = await signIn(provider);
    const oldKid = decodeProtectedHeader(before.id_token ?? '').kid;
    const newKid = await provider.rotateKey();
    expect(newKid).not.toBe(oldKid);

    const after = await signIn(provider); // fresh Configuration: fresh JWKS
    expect(decodeProtectedHeader(after.id_token ?? '').kid).toBe(newKid);
    const jwks: unknown = await (await fetch(`${provider.issuer}/jwks`)).json();
    expect(jwks).toMatchObject({ keys: [{ kid: oldKid, use: 'sig', alg: 'RS256' }, { kid: newKid, use: 'sig', alg: 'RS256' }] });
    expect(JSON.stringify(jwks)).not.toMatch(/"(d|p|q|dp|dq|qi)":/);
  });

  it('a Configuration that fetched the JWKS < 60 s ago does not refetch for a rotated kid', async () => {
    const provider = await start({ alg: 'ES256' });
    const config = await configure(provider);
    await redeem(config, await authorize(config));
    expect(provider.hits.jwks).toBe(1);
    await provider.rotateKey();
    expect(await failureOf(redeem(config, await authorize(config)))).toMatch(/OAUTH_KEY_SELECTION_FAILED/);
    expect(provider.hits.jwks).toBe(1);
  });
});

describe('fake GitHub', () => {
  const CALLBACK = 'http://localhost:3000/auth/callback/github';

  async function authorizeGitHub(server: FakeGitHub, verifier: string): Promise<URL> {
    const url = new URL('/login/oauth/authorize', server.baseUrl);
    url.search = new URLSearchParams({
      client_id: server.clientId,
      redirect_uri: CALLBACK,
      scope: 'read:user user:email',
      state: 'state-123',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    }).toString();
    const response = await fetch(url, { redirect: 'manual' });
    expect(response.status).toBe(302);
    return new URL(response.headers.get('location') ?? '');
  }

  function exchange(server: FakeGitHub, code: string, verifier: string, accept = 'application/json'): Promise<Response> {
    return fetch(`${server.baseUrl}/login/oauth/access_token`, {
      method: 'POST',
      headers: { accept },
      body: new URLSearchParams({ client_id: server.clientId, client_secret: server.clientSecret, code, redirect_uri: CALLBACK, code_verifier: verifier }),
    });
  }

  it('code exchange with PKCE, then /api/user and /api/user/emails', async () => {
    const server = await startGitHub();
    const verifier = randomBytes(32).toString('base64url');
    const callback = await authorizeGitHub(server, verifier);
    expect(`${callback.origin}${callback.pathname}`).toBe(CALLBACK);
    expect(callback.searchParams.get('state')).toBe('state-123');
    expect(callback.searchParams.has('iss')).toBe(false);

    const tokenResponse = await exchange(server, callback.searchParams.get('code') ?? '', verifier);
    const token: unknown = await tokenResponse.json();
    expect(token).toMatchObject({ token_type: 'bearer', scope: 'read:user,user:email' });
    const accessToken = typeof token === 'object' && token !== null && 'access_token' in token ? String(token.access_token) : '';
    expect(accessToken).toMatch(/^gho_/);

    const api = (path: string, authorization = `Bearer ${accessToken}`) =>
      fetch(`${server.baseUrl}/api${path}`, { headers: { authorization, accept: 'application/vnd.github+json' } });
    expect(await (await api('/user')).json()).toMatchObject({ id: 4242, login: 'octo', email: null });
    expect(await (await api('/user/emails')).json()).toEqual([
      { email: 'octo@example.com', primary: true, verified: true, visibility: 'private' },
      { email: 'octo-old@example.com', primary: false, verified: false, visibility: null },
    ]);
    expect((await api('/user', 'Bearer gho_forged')).status).toBe(401);
    expect(server.hits).toEqual({ authorize: 1, token: 1, user: 2, emails: 1 });
  });

  it('token errors come back as HTTP 200 with an error member, like github.com', async () => {
    const server = await startGitHub();
    const verifier = randomBytes(32).toString('base64url');
    const code = (await authorizeGitHub(server, verifier)).searchParams.get('code') ?? '';

    const wrongVerifier = await exchange(server, code, randomBytes(32).toString('base64url'));
    expect(wrongVerifier.status).toBe(200);
    expect(await wrongVerifier.json()).toMatchObject({ error: 'bad_verification_code' });
    const reused = await exchange(server, code, verifier); // the failed attempt burnt the code
    expect(await reused.json()).toMatchObject({ error: 'bad_verification_code' });

    const formCode = (await authorizeGitHub(server, verifier)).searchParams.get('code') ?? '';
    const form = await exchange(server, formCode, verifier, '*/*'); // no JSON asked for: form-encoded
    expect(new URLSearchParams(await form.text()).get('access_token')).toMatch(/^gho_/);
  });
});
