// A hostile OpenID Provider on loopback for relying-party tests. With `defect = null` it is a
// correct, minimal OP (authorization code + PKCE S256, RFC 9207 `iss`); set `defect` to make it
// serve exactly one violation of OpenID Connect Core 1.0 section 3.1.3.7 (or of discovery /
// RFC 9207), so a test can prove the relying party refuses it. Test support only: no persistence,
// no consent screen, every user is the one configured user.
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { clientCredentials, readBody, safeEqual, sendJson } from './http.js';
import {
  SignJWT,
  UnsecuredJWT,
  base64url,
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  type CryptoKey,
  type JWK,
  type JWTPayload,
} from 'jose';

export type Defect =
  | 'bad-signature' // valid token whose signature bytes are altered
  | 'alg-none' // unsecured JWT; header alg spelled as `noneAlg` ('none' by default)
  | 'hs256-client-secret' // HS256 signed with the client secret
  | 'wrong-iss'
  | 'missing-iss'
  | 'wrong-aud'
  | 'missing-aud'
  | 'extra-aud' // aud: [clientId, 'https://untrusted.example'] with azp = clientId
  | 'wrong-azp' // aud: clientId, azp: 'someone-else'
  | 'expired' // exp 10 minutes ago (iat 20 minutes ago)
  | 'iat-past' // iat 2 hours ago, exp 1 hour in the future
  | 'iat-future' // iat 1 hour in the future, exp 2 hours in the future
  | 'missing-sub'
  | 'wrong-nonce'
  | 'missing-nonce'
  | 'replayed-nonce' // nonce of the PREVIOUS authorization request (a fresh random one if there was none)
  | 'unknown-kid' // signed with a key whose kid is NOT in the JWKS
  | 'discovery-issuer-mismatch' // discovery document's "issuer" differs from the URL it is served under
  | 'auth-response-iss-mismatch' // authorization response carries iss=<some other issuer>
  | 'jwks-unavailable' // the JWKS endpoint answers 503 (the ID token itself is valid)
  | 'token-hangs'; // the token endpoint accepts the request and never answers

/** Spellings of the unsecured-JWS algorithm for the 'alg-none' defect (RFC 8725 2.1: refuse them all). */
export type NoneAlg = 'none' | 'None' | 'NONE' | 'nOnE';

export interface HostileIdpOptions {
  alg?: 'RS256' | 'ES256'; // default 'RS256'
  clientId?: string; // default 'gatehouse-test'
  clientSecret?: string; // default 'test-secret-0123456789abcdef'
  email?: string; // default 'alice@example.com'
  emailVerified?: boolean; // default true
  sub?: string; // default 'hostile-alice'
  name?: string; // default 'Alice'
  /** Default true: discovery advertises authorization_response_iss_parameter_supported and the auth response carries iss. */
  supportsIssParameter?: boolean;
  /** Header alg used by the 'alg-none' defect; default 'none'. Also settable on the handle. */
  noneAlg?: NoneAlg;
}

export interface HostileIdp {
  issuer: string; // `http://127.0.0.1:${port}`
  clientId: string;
  clientSecret: string;
  alg: 'RS256' | 'ES256';
  /** Settable; null = a perfectly valid provider. */
  defect: Defect | null;
  /** Settable: header alg spelling for the 'alg-none' defect. */
  noneAlg: NoneAlg;
  /** Override claims for the next ID tokens (merged over the valid claims, before the defect), e.g. { email: 'x', email_verified: false }. */
  claims: Record<string, unknown>;
  /** Counts of requests per endpoint, to prove that no token exchange / no JWKS refetch happened. */
  hits: { discovery: number; authorize: number; token: number; jwks: number; userinfo: number };
  /** The parameters of the last authorization request (state, nonce, code_challenge, redirect_uri, scope, client_id...). */
  lastAuthorizeParams: URLSearchParams | null;
  /** Rotates the signing key: new kid signs from now on, JWKS publishes both. Returns the new kid. */
  rotateKey(): Promise<string>;
  close(): Promise<void>;
}

/** Issuer value used wherever a defect needs "some other issuer" (mix-up, wrong iss, discovery). */
const OTHER_ISSUER = 'https://attacker.example';
const CODE_LIFETIME_MS = 60_000;

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

interface IssuedCode {
  clientId: string;
  redirectUri: string;
  codeChallenge: string | null;
  nonce: string | undefined;
  previousNonce: string | undefined;
  authTime: number;
  expiresAt: number;
}

interface UserinfoClaims {
  sub: unknown;
  email: unknown;
  email_verified: unknown;
  name: unknown;
}

export async function startHostileIdp(options: HostileIdpOptions = {}): Promise<HostileIdp> {
  const alg = options.alg ?? 'RS256';
  const user = {
    sub: options.sub ?? 'hostile-alice',
    email: options.email ?? 'alice@example.com',
    email_verified: options.emailVerified ?? true,
    name: options.name ?? 'Alice',
  };
  const supportsIssParameter = options.supportsIssParameter ?? true;
  const keys: SigningKey[] = [await createSigningKey(alg)];
  // Never published in the JWKS: the 'unknown-kid' defect signs with it. Created on first use.
  let strayKey: Promise<SigningKey> | undefined;
  const codes = new Map<string, IssuedCode>();
  const accessTokens = new Map<string, UserinfoClaims>();
  let previousNonce: string | undefined;

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) sendJson(response, 500, { error: 'server_error', error_description: String(error) });
      else response.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('hostile-idp: not listening on TCP');

  const idp: HostileIdp = {
    issuer: `http://127.0.0.1:${address.port}`,
    clientId: options.clientId ?? 'gatehouse-test',
    clientSecret: options.clientSecret ?? 'test-secret-0123456789abcdef',
    alg,
    defect: null,
    noneAlg: options.noneAlg ?? 'none',
    claims: {},
    hits: { discovery: 0, authorize: 0, token: 0, jwks: 0, userinfo: 0 },
    lastAuthorizeParams: null,
    async rotateKey() {
      const key = await createSigningKey(alg);
      keys.push(key);
      return key.kid;
    },
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', idp.issuer);
    const route = `${request.method ?? 'GET'} ${url.pathname}`;
    switch (route) {
      case 'GET /.well-known/openid-configuration':
        idp.hits.discovery++;
        return sendJson(response, 200, discoveryDocument());
      case 'GET /authorize':
        idp.hits.authorize++;
        return authorize(url.searchParams, response);
      case 'POST /token':
        idp.hits.token++;
        if (idp.defect === 'token-hangs') return; // never answers (close() ends the connection)
        return token(request, response);
      case 'GET /jwks':
        idp.hits.jwks++;
        if (idp.defect === 'jwks-unavailable') return sendJson(response, 503, { error: 'temporarily_unavailable' });
        return sendJson(response, 200, { keys: keys.map((key) => key.publicJwk) });
      case 'GET /userinfo':
        idp.hits.userinfo++;
        return userinfo(request, response);
      default:
        return sendJson(response, 404, { error: 'not_found' });
    }
  }

  function discoveryDocument(): Record<string, unknown> {
    const base = idp.issuer;
    return {
      // OIDC Discovery 4.3: the relying party must refuse an issuer that differs from the URL used.
      issuer: idp.defect === 'discovery-issuer-mismatch' ? OTHER_ISSUER : base,
      authorization_endpoint: `${base}/authorize`,
      token_endpoint: `${base}/token`,
      jwks_uri: `${base}/jwks`,
      userinfo_endpoint: `${base}/userinfo`,
      response_types_supported: ['code'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: [alg],
      code_challenge_methods_supported: ['S256'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      scopes_supported: ['openid', 'email', 'profile'],
      claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'auth_time', 'nonce', 'email', 'email_verified', 'name'],
      authorization_response_iss_parameter_supported: supportsIssParameter,
    };
  }

  function authorize(params: URLSearchParams, response: ServerResponse): void {
    idp.lastAuthorizeParams = new URLSearchParams(params);
    const redirectUri = params.get('redirect_uri');
    // Errors before the redirect_uri is trusted are shown to the "user", never redirected.
    if (params.get('client_id') !== idp.clientId) return sendJson(response, 400, { error: 'invalid_client' });
    if (redirectUri === null || !URL.canParse(redirectUri)) return sendJson(response, 400, { error: 'invalid_request', error_description: 'redirect_uri' });
    if (params.get('response_type') !== 'code') return sendJson(response, 400, { error: 'unsupported_response_type' });
    const codeChallenge = params.get('code_challenge');
    if (codeChallenge !== null && params.get('code_challenge_method') !== 'S256') {
      return sendJson(response, 400, { error: 'invalid_request', error_description: 'only S256 PKCE is supported' });
    }

    const nonce = params.get('nonce') ?? undefined;
    const code = randomToken();
    codes.set(code, {
      clientId: idp.clientId,
      redirectUri,
      codeChallenge,
      nonce,
      previousNonce,
      authTime: epochSeconds(),
      expiresAt: Date.now() + CODE_LIFETIME_MS,
    });
    previousNonce = nonce;

    const location = new URL(redirectUri);
    location.searchParams.set('code', code);
    const state = params.get('state');
    if (state !== null) location.searchParams.set('state', state);
    // RFC 9207: the defect sends a foreign iss even when the provider does not advertise support.
    if (idp.defect === 'auth-response-iss-mismatch') location.searchParams.set('iss', OTHER_ISSUER);
    else if (supportsIssParameter) location.searchParams.set('iss', idp.issuer);
    response.writeHead(302, { location: location.href, 'cache-control': 'no-store' }).end();
  }

  async function token(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const form = new URLSearchParams(await readBody(request));
    const client = clientCredentials(request.headers.authorization, form, true);
    if (client === null || client.id !== idp.clientId || !safeEqual(client.secret, idp.clientSecret)) {
      response.setHeader('www-authenticate', 'Basic realm="hostile-idp"');
      return sendJson(response, 401, { error: 'invalid_client' });
    }
    if (form.get('grant_type') !== 'authorization_code') return sendJson(response, 400, { error: 'unsupported_grant_type' });

    const code = form.get('code') ?? '';
    const issued = codes.get(code);
    codes.delete(code); // RFC 6749 4.1.2: single use, even when the request below fails
    if (issued === undefined || issued.expiresAt < Date.now() || issued.clientId !== client.id) {
      return sendJson(response, 400, { error: 'invalid_grant', error_description: 'unknown, used or expired code' });
    }
    if (form.get('redirect_uri') !== issued.redirectUri) {
      return sendJson(response, 400, { error: 'invalid_grant', error_description: 'redirect_uri mismatch' });
    }
    const pkceError = checkPkce(issued.codeChallenge, form.get('code_verifier'));
    if (pkceError !== null) return sendJson(response, 400, { error: 'invalid_grant', error_description: pkceError });

    const claims = { ...validClaims(issued), ...idp.claims };
    const accessToken = randomToken();
    accessTokens.set(accessToken, { sub: claims.sub, email: claims.email, email_verified: claims.email_verified, name: claims.name });
    sendJson(response, 200, {
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: 600,
      scope: 'openid email profile',
      id_token: await mintIdToken(applyClaimDefect(claims, issued)),
    });
  }

  function userinfo(request: IncomingMessage, response: ServerResponse): void {
    const match = /^Bearer (.+)$/.exec(request.headers.authorization ?? '');
    const claims = match?.[1] === undefined ? undefined : accessTokens.get(match[1]);
    if (claims === undefined) {
      response.setHeader('www-authenticate', 'Bearer error="invalid_token"');
      return sendJson(response, 401, { error: 'invalid_token' });
    }
    sendJson(response, 200, claims);
  }

  function validClaims(issued: IssuedCode): JWTPayload {
    const now = epochSeconds();
    return {
      iss: idp.issuer,
      aud: idp.clientId,
      sub: user.sub,
      iat: now,
      exp: now + 600,
      auth_time: issued.authTime,
      nonce: issued.nonce,
      email: user.email,
      email_verified: user.email_verified,
      name: user.name,
    };
  }

  function applyClaimDefect(claims: JWTPayload, issued: IssuedCode): JWTPayload {
    const now = epochSeconds();
    const out = { ...claims };
    switch (idp.defect) {
      case 'wrong-iss':
        out.iss = OTHER_ISSUER;
        break;
      case 'missing-iss':
        delete out.iss;
        break;
      case 'wrong-aud':
        out.aud = 'someone-else';
        break;
      case 'missing-aud':
        delete out.aud;
        break;
      case 'extra-aud':
        out.aud = [idp.clientId, 'https://untrusted.example'];
        out.azp = idp.clientId;
        break;
      case 'wrong-azp':
        out.aud = idp.clientId;
        out.azp = 'someone-else';
        break;
      case 'expired':
        out.iat = now - 20 * 60;
        out.exp = now - 10 * 60;
        break;
      case 'iat-past':
        out.iat = now - 2 * 3600;
        out.exp = now + 3600;
        break;
      case 'iat-future':
        out.iat = now + 3600;
        out.exp = now + 2 * 3600;
        break;
      case 'missing-sub':
        delete out.sub;
        break;
      case 'wrong-nonce':
        out.nonce = randomToken();
        break;
      case 'missing-nonce':
        delete out.nonce;
        break;
      case 'replayed-nonce':
        out.nonce = issued.previousNonce ?? randomToken();
        break;
      default:
        break;
    }
    return out;
  }

  async function mintIdToken(claims: JWTPayload): Promise<string> {
    const current = keys[keys.length - 1];
    if (current === undefined) throw new Error('hostile-idp: no signing key');
    switch (idp.defect) {
      case 'alg-none': {
        // gatehouse-audit-ignore jwt-alg-none -- the hostile IdP forges unsigned ID tokens on purpose; the tests check they are refused
        if (idp.noneAlg === 'none') return new UnsecuredJWT(claims).encode();
        // jose only writes the lower-case spelling: splice the other spellings by hand.
        const header = base64url.encode(JSON.stringify({ alg: idp.noneAlg }));
        return `${header}.${base64url.encode(JSON.stringify(claims))}.`;
      }
      case 'hs256-client-secret':
        // RFC 8725 3.1 / OIDC Core 10.1: a client expecting an asymmetric alg must not accept this.
        return new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(idp.clientSecret));
      case 'unknown-kid': {
        strayKey ??= createSigningKey(alg);
        const stray = await strayKey;
        return new SignJWT(claims).setProtectedHeader({ alg, kid: stray.kid }).sign(stray.privateKey);
      }
      case 'bad-signature': {
        const jwt = await new SignJWT(claims).setProtectedHeader({ alg, kid: current.kid }).sign(current.privateKey);
        const [header, payload, signature] = jwt.split('.');
        const bytes = base64url.decode(signature ?? '');
        // Flip one bit of the decoded bytes (editing a base64url character can be a no-op).
        bytes[0] = (bytes[0] ?? 0) ^ 0x01;
        return `${header}.${payload}.${base64url.encode(bytes)}`;
      }
      default:
        return new SignJWT(claims).setProtectedHeader({ alg, kid: current.kid }).sign(current.privateKey);
    }
  }

  return idp;
}

async function createSigningKey(alg: 'RS256' | 'ES256'): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg);
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { kid, privateKey, publicJwk: { ...jwk, kid, alg, use: 'sig' } };
}

/** Returns an error description, or null when the verifier matches (RFC 7636 4.6). */
function checkPkce(challenge: string | null, verifier: string | null): string | null {
  if (challenge === null) {
    // RFC 9700 2.1.1: a verifier without a challenge is a PKCE downgrade attempt.
    return verifier === null ? null : 'code_verifier sent but no code_challenge was';
  }
  if (verifier === null) return 'code_verifier required';
  const computed = createHash('sha256').update(verifier, 'ascii').digest('base64url');
  return safeEqual(computed, challenge) ? null : 'PKCE verification failed';
}



function randomToken(): string {
  return randomBytes(32).toString('base64url');
}

function epochSeconds(): number {
  return Math.floor(Date.now() / 1000);
}


