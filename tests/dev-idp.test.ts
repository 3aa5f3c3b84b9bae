import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigurationError } from '../src/errors.js';
import { DEV_IDP_USERS, startDevIdp, type DevIdp } from '../src/dev-idp/dev-idp.js';
import { Agent, authorize as authorizeAt, type Choice } from './support/dev-idp-agent.js';

const REDIRECT_URI = 'http://localhost:3000/auth/oauth/dev/callback';
/** Plays the browser at the dev IdP up to this file's default redirect URI. */
const authorize = (agent: Agent, start: URL, choice: Choice, redirectUri = REDIRECT_URI) => authorizeAt(agent, start, choice, redirectUri);
const SECRET_REDIRECT_URI = 'http://localhost:3000/auth/oauth/dev-secret/callback';

interface SignIn {
  callback: URL;
  chooserShown: boolean;
  tokens?: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
}

/** One relying-party sign-in: PKCE S256 + state + nonce, then the code exchange. */
async function signIn(config: client.Configuration, choice: Choice, options: { agent?: Agent; redirectUri?: string } = {}): Promise<SignIn> {
  const redirectUri = options.redirectUri ?? REDIRECT_URI;
  const pkceCodeVerifier = client.randomPKCECodeVerifier();
  const expectedState = client.randomState();
  const expectedNonce = client.randomNonce();
  const start = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'openid email profile',
    code_challenge: await client.calculatePKCECodeChallenge(pkceCodeVerifier),
    code_challenge_method: 'S256',
    state: expectedState,
    nonce: expectedNonce,
  });
  const { callback, chooserShown } = await authorize(options.agent ?? new Agent(), start, choice, redirectUri);
  if (callback.searchParams.has('error')) return { callback, chooserShown };
  const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier, expectedState, expectedNonce, idTokenExpected: true });
  return { callback, chooserShown, tokens };
}

async function relyingParty(idp: DevIdp, clientId = 'gatehouse-test', auth?: client.ClientAuth): Promise<client.Configuration> {
  const config = await client.discovery(new URL(idp.issuer), clientId, undefined, auth ?? client.None(), { execute: [client.allowInsecureRequests] });
  client.enableNonRepudiationChecks(config);
  return config;
}

describe('dev IdP', () => {
  let idp: DevIdp;
  let config: client.Configuration;

  beforeAll(async () => {
    idp = await startDevIdp({
      clients: [
        { clientId: 'gatehouse-test', redirectUris: [REDIRECT_URI] },
        { clientId: 'gatehouse-secret', clientSecret: 'dev-secret', redirectUris: [SECRET_REDIRECT_URI] },
        { clientId: 'gatehouse-post', clientSecret: 'post-secret', tokenEndpointAuthMethod: 'client_secret_post', redirectUris: [SECRET_REDIRECT_URI] },
      ],
    });
    config = await relyingParty(idp);
  });
  afterAll(() => idp.close());

  it('publishes discovery for a code-flow-only, PKCE S256, ES256, iss-returning provider', async () => {
    expect(idp.issuer).toMatch(/^http:\/\/localhost:\d+$/);
    const metadata = config.serverMetadata();
    expect(metadata.issuer).toBe(idp.issuer);
    expect(metadata.authorization_response_iss_parameter_supported).toBe(true);
    expect(metadata.code_challenge_methods_supported).toEqual(['S256']);
    expect(metadata.response_types_supported).toEqual(['code']);
    expect(metadata.id_token_signing_alg_values_supported).toEqual(['ES256']);
    expect(metadata.scopes_supported).toEqual(expect.arrayContaining(['openid', 'email', 'profile']));
    expect(metadata.token_endpoint_auth_methods_supported).toEqual(expect.arrayContaining(['client_secret_basic', 'client_secret_post', 'none']));
  });

  it('signs Alice in: the ID token carries sub, email, email_verified and name; userinfo agrees', async () => {
    const browser = new Agent();
    const { callback, chooserShown, tokens } = await signIn(config, { sub: 'dev-alice' }, { agent: browser });
    // A browser stores these over plain http on localhost / 127.0.0.1: not Secure, host-only, Lax.
    const names = browser.setCookies.map((c) => c.slice(0, c.indexOf('=')));
    expect(names).toEqual(expect.arrayContaining(['_interaction', '_interaction_resume', '_session']));
    for (const cookie of browser.setCookies) {
      expect(cookie).not.toMatch(/;\s*secure/i);
      expect(cookie).not.toMatch(/;\s*domain=/i);
      expect(cookie).toMatch(/;\s*samesite=lax/i);
      expect(cookie).toMatch(/;\s*httponly/i);
    }
    expect(chooserShown).toBe(true);
    // RFC 9207: the authorization response names its issuer.
    expect(callback.searchParams.get('iss')).toBe(idp.issuer);
    const claims = tokens?.claims();
    expect(claims).toMatchObject({ iss: idp.issuer, aud: 'gatehouse-test', sub: 'dev-alice', email: 'alice@example.com', email_verified: true, name: 'Alice' });
    expect(decodeProtectedHeader(tokens?.id_token ?? '').alg).toBe('ES256');
    const userinfo = await client.fetchUserInfo(config, tokens?.access_token ?? '', 'dev-alice');
    expect(userinfo).toMatchObject({ sub: 'dev-alice', email: 'alice@example.com', email_verified: true, name: 'Alice' });
  });

  it('reports Uma\'s address as unverified', async () => {
    const { tokens } = await signIn(config, { sub: 'dev-uma' });
    expect(tokens?.claims()).toMatchObject({ sub: 'dev-uma', email: 'uma@example.com', email_verified: false, name: 'Unverified Uma' });
  });

  it('Cancel sends error=access_denied (with iss) back to the relying party', async () => {
    const { callback, tokens } = await signIn(config, 'cancel');
    expect(tokens).toBeUndefined();
    expect(callback.searchParams.get('error')).toBe('access_denied');
    expect(callback.searchParams.get('iss')).toBe(idp.issuer);
  });

  it('refuses an authorization request without PKCE', async () => {
    const start = client.buildAuthorizationUrl(config, { redirect_uri: REDIRECT_URI, scope: 'openid', state: 'xyz' });
    const { callback, chooserShown } = await authorize(new Agent(), start, { sub: 'dev-alice' });
    expect(chooserShown).toBe(false);
    expect(callback.searchParams.get('error')).toBe('invalid_request');
    expect(callback.searchParams.get('error_description')).toMatch(/PKCE/);
  });

  it('asks again on the next sign-in and lets the same browser switch to another user', async () => {
    const browser = new Agent();
    const first = await signIn(config, { sub: 'dev-alice' }, { agent: browser });
    expect(first.tokens?.claims()?.sub).toBe('dev-alice');
    const second = await signIn(config, { sub: 'dev-bob' }, { agent: browser });
    expect(second.chooserShown).toBe(true);
    expect(second.tokens?.claims()).toMatchObject({ sub: 'dev-bob', email: 'bob@example.com' });
  });

  it('authenticates confidential clients (client_secret_basic, client_secret_post) and rejects a wrong secret', async () => {
    const post = await relyingParty(idp, 'gatehouse-post', client.ClientSecretPost('post-secret'));
    expect((await signIn(post, { sub: 'dev-alice' }, { redirectUri: SECRET_REDIRECT_URI })).tokens?.claims()?.sub).toBe('dev-alice');

    const confidential = await relyingParty(idp, 'gatehouse-secret', client.ClientSecretBasic('dev-secret'));
    const { tokens } = await signIn(confidential, { sub: 'dev-bob' }, { redirectUri: SECRET_REDIRECT_URI });
    expect(tokens?.claims()?.sub).toBe('dev-bob');

    const wrong = await relyingParty(idp, 'gatehouse-secret', client.ClientSecretBasic('not-the-secret'));
    await expect(signIn(wrong, { sub: 'dev-bob' }, { redirectUri: SECRET_REDIRECT_URI })).rejects.toMatchObject({
      status: 401,
      cause: [{ parameters: { error: 'invalid_client' } }],
    });
  });

  it('rotateKeys() signs new ID tokens with a new kid and keeps the old key in the JWKS', async () => {
    const before = await signIn(config, { sub: 'dev-alice' });
    const oldKid = decodeProtectedHeader(before.tokens?.id_token ?? '').kid;
    expect(oldKid).toBeTypeOf('string');

    const newKid = await idp.rotateKeys();
    expect(newKid).not.toBe(oldKid);
    const jwksUri = config.serverMetadata().jwks_uri ?? '';
    const jwks = (await (await fetch(jwksUri)).json()) as { keys: { kid: string; d?: string }[] };
    expect(jwks.keys.map((k) => k.kid)).toEqual([newKid, oldKid]);
    expect(jwks.keys.every((k) => k.d === undefined)).toBe(true);

    // A relying party with a fresh JWKS cache (oauth4webapi refetches a cached JWKS on an
    // unknown kid only once it is 60 s old).
    const after = await signIn(await relyingParty(idp), { sub: 'dev-alice' });
    const idToken = after.tokens?.id_token ?? '';
    expect(decodeProtectedHeader(idToken).kid).toBe(newKid);
    const { payload } = await jwtVerify(idToken, createRemoteJWKSet(new URL(jwksUri)), { issuer: idp.issuer, audience: 'gatehouse-test', algorithms: ['ES256'] });
    expect(payload.sub).toBe('dev-alice');
    // The old token still verifies against the published JWKS.
    // gatehouse-audit-ignore jwt-verify-options -- this assertion is about key rotation only; the audience is checked above
    await expect(jwtVerify(before.tokens?.id_token ?? '', createRemoteJWKSet(new URL(jwksUri)), { issuer: idp.issuer, currentDate: new Date() })).resolves.toBeDefined();
  });

  it('rejects unusable options with a ConfigurationError', async () => {
    await expect(startDevIdp({ clients: [] })).rejects.toBeInstanceOf(ConfigurationError);
    await expect(startDevIdp({ clients: [{ clientId: 'x', redirectUris: ['not a url'] }] })).rejects.toThrow(/redirect URI/);
    await expect(startDevIdp({ issuer: 'http://localhost:9000/oidc', clients: [{ clientId: 'x', redirectUris: [REDIRECT_URI] }] })).rejects.toThrow(/no path/);
  });

  it('has three default users with stable subs', () => {
    expect(DEV_IDP_USERS.map((u) => [u.sub, u.email, u.emailVerified])).toEqual([
      ['dev-alice', 'alice@example.com', true],
      ['dev-bob', 'bob@example.com', true],
      ['dev-uma', 'uma@example.com', false],
    ]);
  });
});

describe('dev IdP shutdown', () => {
  it('close() frees the port', async () => {
    const idp = await startDevIdp({ clients: [{ clientId: 'c', redirectUris: [REDIRECT_URI] }] });
    const port = Number(new URL(idp.issuer).port);
    // A keep-alive connection must not hold the server open.
    expect((await fetch(`${idp.issuer}/.well-known/openid-configuration`)).status).toBe(200);
    await idp.close();
    await expect(fetch(`${idp.issuer}/.well-known/openid-configuration`)).rejects.toThrow();
    const probe = createServer();
    probe.listen(port, '127.0.0.1');
    await once(probe, 'listening');
    await new Promise<void>((resolve) => probe.close(() => resolve()));
  });
});

const root = join(import.meta.dirname, '..');
const cli = join(root, 'dist', 'src', 'cli', 'main.js');

describe('gatehouse dev-idp', { timeout: 60_000 }, () => {
  it('documents its options in --help', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [cli, 'dev-idp', '--help'], { cwd: root });
    expect(stdout).toMatch(/^Usage: gatehouse dev-idp /);
    for (const option of ['--port', '--host', '--client-id', '--client-secret', '--redirect-uri']) expect(stdout).toContain(option);
    const top = await promisify(execFile)(process.execPath, [cli, '--help'], { cwd: root });
    expect(top.stdout).toContain('dev-idp');
  });

  it('serves discovery until SIGTERM and prints how to point the app at it', async () => {
    const child = spawn(process.execPath, [cli, 'dev-idp', '--port', '0', '--redirect-uri', 'http://localhost:3000/a', '--redirect-uri', 'http://localhost:3000/b,http://localhost:3000/c'], { cwd: root });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = once(child, 'exit');
    while (!stdout.includes('Press Ctrl+C')) {
      if (child.exitCode !== null) throw new Error(`dev-idp exited early: ${stdout}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const issuer = /issuer\s+(http:\/\/localhost:\d+)/.exec(stdout)?.[1] ?? '';
    expect(stdout).toContain(`OAUTH_DEV_ISSUER=${issuer} OAUTH_DEV_CLIENT_ID=gatehouse-demo`);
    expect(stdout).toContain('http://localhost:3000/a, http://localhost:3000/b, http://localhost:3000/c');
    const discovery = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as { issuer: string };
    expect(discovery.issuer).toBe(issuer);
    child.kill('SIGTERM');
    const [code] = await exited;
    expect(code).toBe(0);
    expect(stdout).toContain('Dev IdP stopped.');
  });
});
