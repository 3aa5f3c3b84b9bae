import * as client from 'openid-client';
import { clientBucket } from '../protect/client-ip.js';
import type { Core } from '../core.js';
import { AuthError, RateLimitedError } from '../errors.js';
import { readCookie } from '../http/cookies.js';
import { randomToken, sha256 } from '../lib/crypto.js';
import type { IdentityRecord, OAuthIntent, OAuthTransactionRecord, UserRecord } from '../storage/contract.js';
import type { ResolvedOAuth, ResolvedProvider } from './config.js';
import { fetchGitHubIdentity } from './github.js';
import { createSealer, type Sealer } from './seal.js';

/**
 * The OAuth 2.0 / OpenID Connect relying party. openid-client does the protocol: PKCE,
 * state, RFC 9207 `iss`, the code exchange and the ID token's signature and claims. This
 * module adds what a library cannot know: which browser started the attempt, which
 * provider it belongs to, the checks OIDC Core leaves to the client (untrusted audiences,
 * `iat` bounds) and what an identity means for accounts (docs/oauth.md).
 */
export const OAUTH_COOKIE = '__Host-gatehouse-oauth';

export type OAuthErrorCode =
  | 'OAUTH_STATE_INVALID'
  | 'OAUTH_PROVIDER_MISMATCH'
  | 'OAUTH_ACCESS_DENIED'
  | 'OAUTH_PROVIDER_ERROR'
  | 'OAUTH_PROVIDER_UNAVAILABLE'
  | 'OAUTH_INVALID_RESPONSE'
  | 'OAUTH_EMAIL_NOT_VERIFIED'
  | 'OAUTH_ACCOUNT_EXISTS'
  | 'OAUTH_IDENTITY_TAKEN'
  | 'OAUTH_LINK_SESSION_CHANGED';

export class OAuthError extends AuthError {
  /** A short machine reason for the audit log (never shown to users). */
  readonly reason: string;
  /** The failed attempt, once its transaction was found: a failed link goes back to where it started. */
  attempt: Pick<OAuthTransactionRecord, 'intent' | 'returnTo'> | null = null;
  constructor(code: OAuthErrorCode, message: string, reason: string, status = 400, options?: { cause?: unknown }) {
    super(code, status, message, options);
    this.reason = reason;
  }
}

/** A verified provider identity: who the provider says signed in, after every check passed. */
export interface ProviderIdentity {
  issuer: string;
  subject: string;
  email: string | null;
  emailVerified: boolean;
  name: string;
  tokens: { accessToken: string; refreshToken: string | null; expiresAt: number | null };
}

export interface StartInput {
  request: Request;
  provider: ResolvedProvider;
  intent: OAuthIntent;
  returnTo: string;
  userId: string | null;
  ip: string | null;
}

export interface CallbackResult {
  transaction: OAuthTransactionRecord;
  identity: ProviderIdentity;
}

export interface OAuthFlow {
  readonly settings: ResolvedOAuth;
  /** Stores a new transaction; returns the provider's authorization URL and the cookie binding it to this browser. */
  start(input: StartInput): Promise<{ url: string; setCookie: string }>;
  /**
   * Finishes an attempt at `provider`'s callback. Throws OAuthError before any code
   * exchange when the browser, state, provider or `iss` do not match (OIDC-03/05/06).
   */
  callback(request: Request, provider: ResolvedProvider): Promise<CallbackResult>;
  /** Seals provider tokens for storage when the app opted in; null otherwise. */
  sealTokens(identity: ProviderIdentity): Promise<string | null>;
  /** Drops cached discovery documents (tests; a provider that changed its metadata). */
  reset(): void;
}

const SECRET = /^[A-Za-z0-9_-]{43}$/;

export function oauthCookie(secret: string, maxAgeSeconds: number): string {
  // SameSite=Lax, not Strict: the callback is a cross-site top-level GET from the provider.
  return `${OAUTH_COOKIE}=${secret}; Path=/; Max-Age=${Math.floor(maxAgeSeconds)}; HttpOnly; Secure; SameSite=Lax`;
}

export function clearedOAuthCookie(): string {
  return `${OAUTH_COOKIE}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax`;
}

/** Whether a failure came from reaching the provider (network, timeout, 5xx) rather than from what it said. */
function isUnreachable(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e !== undefined && e !== null && depth < 6; depth++) {
    if (e instanceof Error) {
      if (e.name === 'TimeoutError' || e.name === 'AbortError' || (e instanceof TypeError && /fetch failed/i.test(e.message))) return true;
      if ('code' in e && typeof e.code === 'string' && /^(ECONN|ENOTFOUND|EAI_|ETIMEDOUT|UND_ERR)/.test(e.code)) return true;
      if (e instanceof client.ResponseBodyError && e.status >= 500) return true;
      e = e.cause;
    } else if (e instanceof Response) {
      return e.status >= 500;
    } else {
      return false;
    }
  }
  return false;
}

/** openid-client wraps oauth4webapi's error, which says which check failed (and which claim). */
function innermostMessage(error: unknown): string {
  let message = '';
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 6; depth++) {
    message = e.message;
    const cause: unknown = e.cause;
    if (typeof cause === 'object' && cause !== null && !(cause instanceof Error) && 'claim' in cause && typeof cause.claim === 'string') {
      return `${message} (${cause.claim})`;
    }
    e = cause;
  }
  return message;
}

/** Maps whatever openid-client or the network threw to one of our codes. */
export function toOAuthError(error: unknown, stage: 'discovery' | 'callback'): OAuthError {
  if (error instanceof OAuthError) return error;
  if (error instanceof client.AuthorizationResponseError) {
    if (error.error === 'access_denied') return new OAuthError('OAUTH_ACCESS_DENIED', 'Sign-in was cancelled at the provider.', 'access_denied', 400, { cause: error });
    return new OAuthError('OAUTH_PROVIDER_ERROR', 'The provider refused the sign-in. Try again.', `provider_error:${error.error}`.slice(0, 80), 400, { cause: error });
  }
  if (isUnreachable(error)) {
    return new OAuthError('OAUTH_PROVIDER_UNAVAILABLE', 'The provider could not be reached. Try again in a moment.', `${stage}_unreachable`, 503, { cause: error });
  }
  if (error instanceof client.ResponseBodyError) {
    return new OAuthError('OAUTH_PROVIDER_ERROR', 'The provider refused the sign-in. Try again.', `token_error:${error.error}`.slice(0, 80), 400, { cause: error });
  }
  // The reason (audit log only, never the client) keeps the library's words: which check failed.
  const code = error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : 'invalid';
  const detail = innermostMessage(error).replace(/[^A-Za-z0-9 "_.-]/g, '').slice(0, 120);
  return new OAuthError('OAUTH_INVALID_RESPONSE', 'The provider sent a response that failed validation. No sign-in happened.', `${stage}:${code}: ${detail}`, 400, { cause: error });
}

function stringClaim(value: unknown): string | null {
  return typeof value === 'string' && value.length > 0 ? value : null;
}

/**
 * OIDC Core 3.1.3.7 checks that openid-client leaves to the client (OIDC-09/10): every
 * audience must be trusted, `azp` (when present) must be us, and `iat` must be recent and
 * not in the future.
 */
function checkIdTokenClaims(claims: client.IDToken, rp: ResolvedProvider, settings: ResolvedOAuth, nowSeconds: number): void {
  if (rp.provider.kind !== 'oidc') return;
  const { clientId } = rp.provider;
  const trusted = new Set([clientId, ...(rp.provider.trustedAudiences ?? [])]);
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!audiences.includes(clientId) || audiences.some((a) => !trusted.has(a))) {
    throw new OAuthError('OAUTH_INVALID_RESPONSE', 'The provider sent a response that failed validation. No sign-in happened.', 'id_token:aud_untrusted');
  }
  if (claims.azp !== undefined && claims.azp !== clientId) {
    throw new OAuthError('OAUTH_INVALID_RESPONSE', 'The provider sent a response that failed validation. No sign-in happened.', 'id_token:azp');
  }
  const tolerance = settings.clockToleranceSeconds;
  if (claims.iat > nowSeconds + tolerance || claims.iat < nowSeconds - settings.maxIdTokenAgeSeconds - tolerance) {
    throw new OAuthError('OAUTH_INVALID_RESPONSE', 'The provider sent a response that failed validation. No sign-in happened.', 'id_token:iat');
  }
}

export function createOAuthFlow(core: Core, settings: ResolvedOAuth): OAuthFlow {
  const configurations = new Map<string, Promise<client.Configuration>>();
  const sealer: Sealer | null = settings.tokenSecret === null ? null : createSealer(settings.tokenSecret, 'gatehouse oauth provider tokens v1');

  async function build(rp: ResolvedProvider): Promise<client.Configuration> {
    const { provider } = rp;
    const metadata: Partial<client.ClientMetadata> = { [client.clockTolerance]: settings.clockToleranceSeconds };
    if (provider.kind === 'oidc') {
      // One expected algorithm (OIDC-07); signature checks on, not TLS alone (enableNonRepudiationChecks).
      metadata.id_token_signed_response_alg = provider.idTokenAlg ?? 'RS256';
      const auth = provider.clientSecret === undefined ? client.None() : client.ClientSecretBasic(provider.clientSecret);
      const execute = rp.allowHttp ? [client.enableNonRepudiationChecks, client.allowInsecureRequests] : [client.enableNonRepudiationChecks];
      // discovery() refuses a document whose issuer differs from the configured one (OIDC-12).
      return client.discovery(new URL(provider.issuer), provider.clientId, metadata, auth, { execute, timeout: settings.httpTimeoutSeconds });
    }
    const base = (provider.baseUrl ?? 'https://github.com').replace(/\/$/, '');
    const auth = provider.clientSecret === undefined ? client.None() : client.ClientSecretPost(provider.clientSecret);
    const config = new client.Configuration(
      { issuer: base, authorization_endpoint: `${base}/login/oauth/authorize`, token_endpoint: `${base}/login/oauth/access_token` },
      provider.clientId,
      metadata,
      auth,
    );
    config.timeout = settings.httpTimeoutSeconds;
    if (rp.allowHttp) client.allowInsecureRequests(config);
    return config;
  }

  function configuration(rp: ResolvedProvider): Promise<client.Configuration> {
    let found = configurations.get(rp.provider.id);
    if (found === undefined) {
      found = build(rp);
      configurations.set(rp.provider.id, found);
      // A failed discovery is retried by the next attempt, not cached.
      found.catch(() => configurations.delete(rp.provider.id));
    }
    return found;
  }

  async function oidcIdentity(config: client.Configuration, rp: ResolvedProvider, tokens: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers): Promise<Omit<ProviderIdentity, 'tokens'>> {
    const claims = tokens.claims();
    if (claims === undefined) throw new OAuthError('OAUTH_INVALID_RESPONSE', 'The provider sent no ID token. No sign-in happened.', 'id_token:missing');
    checkIdTokenClaims(claims, rp, settings, Math.floor(core.config.now() / 1000));
    let email = stringClaim(claims.email);
    let verified = claims.email_verified === true;
    let name = stringClaim(claims.name) ?? stringClaim(claims.preferred_username);
    if (email === null && config.serverMetadata().userinfo_endpoint !== undefined) {
      // The ID token may carry only `sub`; userinfo must then be for the same subject (OIDC Core 5.3.4).
      const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
      email = stringClaim(info.email);
      verified = info.email_verified === true;
      name ??= stringClaim(info.name);
    }
    if (rp.provider.kind === 'oidc' && rp.provider.trustEmail === true && email !== null) verified = true;
    return { issuer: claims.iss, subject: claims.sub, email, emailVerified: verified, name: name ?? '' };
  }

  return {
    settings,

    async start(input) {
      const config = await configuration(input.provider).catch((error: unknown) => {
        throw toOAuthError(error, 'discovery');
      });
      const now = core.config.now();
      // Fresh per attempt, from the CSPRNG (OIDC-01, SESS-01); the verifier never leaves the server.
      const state = client.randomState();
      const nonce = client.randomNonce();
      const codeVerifier = client.randomPKCECodeVerifier();
      const secret = randomToken(32);
      const record: OAuthTransactionRecord = {
        id: randomToken(16),
        bindingHash: sha256(secret),
        provider: input.provider.provider.id,
        intent: input.intent,
        state,
        nonce,
        codeVerifier,
        returnTo: input.returnTo,
        userId: input.userId,
        // The client as per-IP bounds count it (an IPv6 /64 is one client).
        ip: clientBucket(input.ip),
        createdAt: now,
        expiresAt: now + settings.transactionTtlMs,
      };
      const previous = readCookie(input.request.headers.get('cookie'), OAUTH_COOKIE);
      const replaces = previous !== null && SECRET.test(previous) ? sha256(previous) : undefined;
      const store = await core.storage();
      if (!(await store.insertOAuthTransaction(record, core.config.passkeys.maxPendingPerIp, replaces))) {
        throw new RateLimitedError(settings.transactionTtlMs / 1000);
      }
      const params: Record<string, string> = {
        redirect_uri: input.provider.redirectUri,
        scope: input.provider.scopes.join(' '),
        state,
        // S256 only, whatever the provider advertises (OIDC-02).
        code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
        code_challenge_method: 'S256',
      };
      if (input.provider.provider.kind === 'oidc') {
        params.nonce = nonce;
        if (input.provider.provider.maxAgeSeconds !== undefined) params.max_age = String(input.provider.provider.maxAgeSeconds);
      }
      const url = client.buildAuthorizationUrl(config, params);
      return { url: url.href, setCookie: oauthCookie(secret, settings.transactionTtlMs / 1000) };
    },

    async callback(request, rp) {
      const secret = readCookie(request.headers.get('cookie'), OAUTH_COOKIE);
      if (secret === null || !SECRET.test(secret)) {
        throw new OAuthError('OAUTH_STATE_INVALID', 'This sign-in link expired or was started in another browser. Start again.', 'no_transaction_cookie');
      }
      const store = await core.storage();
      const incoming = new URL(request.url);
      // Taken with one atomic DELETE, and only with its own state: a replayed callback finds
      // nothing (OIDC-03), and a forged one (any page can send the browser here) takes nothing.
      const transaction = await store.consumeOAuthTransaction(sha256(secret), incoming.searchParams.get('state') ?? '', core.config.now());
      if (transaction === null) {
        throw new OAuthError('OAUTH_STATE_INVALID', 'This sign-in link expired, was already used, or does not belong to the attempt this browser started. Start again.', 'no_transaction');
      }
      // Mix-up defence: the answer must arrive at the provider the attempt was started with (OIDC-06).
      if (transaction.provider !== rp.provider.id) {
        throw new OAuthError('OAUTH_PROVIDER_MISMATCH', 'This answer came from a different provider than the one you chose. Start again.', 'provider_mismatch');
      }
      // The redirect_uri sent with the code is the configured one, never the request's (REDIR-02).
      const currentUrl = new URL(rp.redirectUri);
      currentUrl.search = incoming.search;
      if (incoming.searchParams.get('state') !== transaction.state) {
        throw new OAuthError('OAUTH_STATE_INVALID', 'This sign-in answer does not belong to the attempt this browser started. Start again.', 'state_mismatch');
      }
      try {
        const config = await configuration(rp);
        const tokens = await client.authorizationCodeGrant(config, currentUrl, {
          pkceCodeVerifier: transaction.codeVerifier,
          expectedState: transaction.state,
          ...(rp.provider.kind === 'oidc'
            ? { expectedNonce: transaction.nonce, idTokenExpected: true, ...(rp.provider.maxAgeSeconds === undefined ? {} : { maxAge: rp.provider.maxAgeSeconds }) }
            : {}),
        });
        const found = rp.provider.kind === 'oidc' ? await oidcIdentity(config, rp, tokens) : await fetchGitHubIdentity(config, rp.provider, tokens.access_token);
        const expiresIn = tokens.expiresIn();
        return {
          transaction,
          identity: {
            ...found,
            tokens: {
              accessToken: tokens.access_token,
              refreshToken: tokens.refresh_token ?? null,
              expiresAt: expiresIn === undefined ? null : core.config.now() + expiresIn * 1000,
            },
          },
        };
      } catch (error) {
        const failure = toOAuthError(error, 'callback');
        failure.attempt = transaction;
        throw failure;
      }
    },

    async sealTokens(identity) {
      if (sealer === null) return null;
      return sealer.seal(JSON.stringify(identity.tokens));
    },

    reset() {
      configurations.clear();
    },
  };
}

/** What the callback does with a verified identity, per intent (OIDC-13). */
export type Resolution =
  | { kind: 'signed_in'; user: UserRecord; identity: IdentityRecord }
  | { kind: 'signed_up'; user: UserRecord; identity: IdentityRecord }
  | { kind: 'linked'; user: UserRecord; identity: IdentityRecord; automatic: boolean };
