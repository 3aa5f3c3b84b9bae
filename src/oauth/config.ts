import { z } from 'zod';
import { ConfigurationError } from '../errors.js';
import type { OAuthProvider } from './providers.js';

export interface OAuthOptions {
  providers: readonly OAuthProvider[];
  /** Where a failed sign-in lands, as `<errorPath>?error=CODE`. A same-origin path. Default: the built-in sign-in page (`<basePath>/sign-in`), or `/sign-in` with `ui: false`. */
  errorPath?: string;
  /** How long a started sign-in may take at the provider. Default 600 seconds. */
  transactionTtlSeconds?: number;
  /** Leeway for ID-token `exp`/`iat`/`nbf`/`auth_time`. Default 30 seconds. */
  clockToleranceSeconds?: number;
  /** Refuse ID tokens issued longer ago than this (`iat`). Default 600 seconds. */
  maxIdTokenAgeSeconds?: number;
  /** Timeout for each request to a provider. Default 10 seconds. */
  httpTimeoutSeconds?: number;
  /**
   * Keep the provider's access/refresh tokens (e.g. to call its API later), encrypted at rest
   * with a key derived from `secret` (at least 32 characters). Default: not stored.
   */
  storeTokens?: { secret: string };
}

export interface ResolvedProvider {
  provider: OAuthProvider;
  /** From configuration, never from the request (REDIR-02). */
  redirectUri: string;
  scopes: readonly string[];
  /** Plain http is allowed only for loopback hosts (tests, the dev IdP). */
  allowHttp: boolean;
}

export interface ResolvedOAuth {
  providers: ReadonlyMap<string, ResolvedProvider>;
  errorPath: string;
  transactionTtlMs: number;
  clockToleranceSeconds: number;
  maxIdTokenAgeSeconds: number;
  httpTimeoutSeconds: number;
  tokenSecret: string | null;
}

export const OAUTH_DEFAULTS = {
  errorPath: '/sign-in',
  transactionTtlSeconds: 600,
  clockToleranceSeconds: 30,
  maxIdTokenAgeSeconds: 600,
  httpTimeoutSeconds: 10,
} as const;

/** Asymmetric algorithms only: an HS* ID token would be checked with the client secret, `none` with nothing. */
const ID_TOKEN_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;

const base = {
  id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/, 'must be lowercase letters, digits and dashes, e.g. "google"'),
  name: z.string().min(1).max(60),
  clientId: z.string().min(1).max(500),
  clientSecret: z.string().min(1).max(2000).optional(),
  linkByVerifiedEmail: z.boolean().optional(),
  scopes: z.array(z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'must be a scope token')).max(50).optional(),
};

const providerSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('oidc'),
      ...base,
      issuer: z.string(),
      idTokenAlg: z.enum(ID_TOKEN_ALGS, { message: `must be one of ${ID_TOKEN_ALGS.join(', ')}` }).optional(),
      maxAgeSeconds: z.number().int().min(0).max(365 * 24 * 3600).optional(),
      trustedAudiences: z.array(z.string().min(1)).max(20).optional(),
      trustEmail: z.boolean().optional(),
    })
    .strict(),
  z.object({ kind: z.literal('github'), ...base, baseUrl: z.string().optional(), apiBaseUrl: z.string().optional() }).strict(),
]);

export const oauthSchema = z
  .object({
    providers: z.array(providerSchema).max(50),
    errorPath: z.string().optional(),
    transactionTtlSeconds: z.number().int().min(60).max(3600).optional(),
    clockToleranceSeconds: z.number().int().min(0).max(300).optional(),
    maxIdTokenAgeSeconds: z.number().int().min(60).max(3600).optional(),
    httpTimeoutSeconds: z.number().int().min(1).max(60).optional(),
    storeTokens: z.object({ secret: z.string().min(32, 'must be at least 32 characters (e.g. `openssl rand -base64 32`)') }).strict().optional(),
  })
  .strict();

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/** An https URL (or http on loopback), without query or fragment. Returns whether it is plain http. */
function checkServerUrl(value: string, where: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigurationError(`${where} "${value}" is not a URL, e.g. https://accounts.google.com`);
  }
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    throw new ConfigurationError(`${where} "${value}" must not carry a query, fragment or credentials.`);
  }
  if (url.protocol === 'https:') return false;
  if (url.protocol === 'http:' && LOOPBACK.has(url.hostname)) return true;
  throw new ConfigurationError(`${where} "${value}" must use https (plain http is accepted only for localhost/127.0.0.1 during development).`);
}

/** Validated OAuth settings, or null when no providers are configured. */
export function resolveOAuth(options: OAuthOptions | undefined, origins: readonly string[], basePath: string, defaultErrorPath: string = OAUTH_DEFAULTS.errorPath): ResolvedOAuth | null {
  if (options === undefined || options.providers.length === 0) return null;
  const providers = new Map<string, ResolvedProvider>();
  for (const [i, provider] of options.providers.entries()) {
    const where = `oauth.providers[${i}] (${provider.id})`;
    if (providers.has(provider.id)) throw new ConfigurationError(`${where}: two providers share the id "${provider.id}"; give each a distinct id.`);
    let allowHttp: boolean;
    if (provider.kind === 'oidc') {
      allowHttp = checkServerUrl(provider.issuer, `${where}.issuer`);
      if (/\{tenant(id)?\}|\/(common|organizations|consumers)\/v2\.0$/i.test(provider.issuer)) {
        throw new ConfigurationError(`${where}.issuer "${provider.issuer}" is a multi-tenant endpoint; use your tenant's own issuer (https://login.microsoftonline.com/<tenant-id>/v2.0).`);
      }
    } else {
      allowHttp = checkServerUrl(provider.baseUrl ?? 'https://github.com', `${where}.baseUrl`);
      allowHttp = checkServerUrl(provider.apiBaseUrl ?? 'https://api.github.com', `${where}.apiBaseUrl`) || allowHttp;
    }
    const scopes = provider.scopes ?? (provider.kind === 'oidc' ? ['openid', 'email', 'profile'] : ['read:user', 'user:email']);
    if (provider.kind === 'oidc' && !scopes.includes('openid')) throw new ConfigurationError(`${where}.scopes must include "openid": without it there is no ID token.`);
    providers.set(provider.id, { provider, redirectUri: `${origins[0]}${basePath}/oauth/${provider.id}/callback`, scopes, allowHttp });
  }
  const errorPath = options.errorPath ?? defaultErrorPath;
  if (!/^\/[A-Za-z0-9/_-]*$/.test(errorPath) || errorPath.startsWith('//')) {
    throw new ConfigurationError(`oauth.errorPath "${errorPath}" must be a same-origin path such as /sign-in.`);
  }
  return {
    providers,
    errorPath,
    transactionTtlMs: (options.transactionTtlSeconds ?? OAUTH_DEFAULTS.transactionTtlSeconds) * 1000,
    clockToleranceSeconds: options.clockToleranceSeconds ?? OAUTH_DEFAULTS.clockToleranceSeconds,
    maxIdTokenAgeSeconds: options.maxIdTokenAgeSeconds ?? OAUTH_DEFAULTS.maxIdTokenAgeSeconds,
    httpTimeoutSeconds: options.httpTimeoutSeconds ?? OAUTH_DEFAULTS.httpTimeoutSeconds,
    tokenSecret: options.storeTokens?.secret ?? null,
  };
}
