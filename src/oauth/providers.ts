/**
 * Sign-in providers. An OpenID Connect provider is found by its issuer (discovery) and
 * proves identity with a validated ID token. GitHub speaks plain OAuth 2.0 without ID
 * tokens, so its identity comes from its API instead (see docs/oauth.md).
 */

interface ProviderBase {
  /** URL segment and stored name: `/auth/oauth/<id>`. Lowercase letters, digits and dashes. */
  id: string;
  /** Shown on buttons: "Sign in with <name>". */
  name: string;
  clientId: string;
  /** Confidential clients authenticate with it; omit for a public client (PKCE only). */
  clientSecret?: string;
  /**
   * Link a NEW provider identity to an existing account whose email equals the provider's
   * VERIFIED email, at sign-in, without asking. Off by default: turning it on trusts this
   * provider to verify email ownership (pre-account takeover, OIDC-13). Unverified emails never link.
   */
  linkByVerifiedEmail?: boolean;
  /** Scopes to ask for. Default `openid email profile` (OIDC) / `read:user user:email` (GitHub). */
  scopes?: readonly string[];
}

export interface OidcProvider extends ProviderBase {
  kind: 'oidc';
  /** The exact issuer; discovery must report the same value (OIDC-12). */
  issuer: string;
  /** The one algorithm ID tokens must be signed with. Default RS256 (what most providers use). */
  idTokenAlg?: string;
  /** Ask for re-authentication older than this (`max_age`) and check `auth_time`. */
  maxAgeSeconds?: number;
  /** Audiences besides the client id that may appear in `aud`. Default none (OIDC-09). */
  trustedAudiences?: readonly string[];
  /**
   * Treat this provider's `email` as verified even without `email_verified: true`. Only for an
   * identity provider you run (e.g. your own single-tenant Entra ID). Default false.
   */
  trustEmail?: boolean;
}

export interface GitHubProvider extends ProviderBase {
  kind: 'github';
  /** Default https://github.com (GitHub Enterprise: your server's URL). */
  baseUrl?: string;
  /** Default https://api.github.com (Enterprise: `<baseUrl>/api/v3`). */
  apiBaseUrl?: string;
}

export type OAuthProvider = OidcProvider | GitHubProvider;

type Credentials = Pick<ProviderBase, 'clientId' | 'clientSecret' | 'linkByVerifiedEmail' | 'scopes'> & { id?: string; name?: string };

/** Any OpenID Connect provider, by issuer. */
export function oidcProvider(options: Omit<OidcProvider, 'kind'>): OidcProvider {
  return { kind: 'oidc', ...options };
}

/** Google: issuer https://accounts.google.com, RS256 ID tokens, `email_verified` asserted. */
export function googleProvider(options: Credentials & Pick<OidcProvider, 'maxAgeSeconds'>): OidcProvider {
  return { kind: 'oidc', id: 'google', name: 'Google', issuer: 'https://accounts.google.com', idTokenAlg: 'RS256', ...options };
}

/**
 * Microsoft Entra ID, for ONE tenant (its id or verified domain): the multi-tenant
 * endpoints (`common`, `organizations`) publish a templated issuer that cannot be compared
 * exactly, so they are refused. Entra does not send `email_verified`: without `trustEmail`,
 * an Entra identity can sign in to an account it is linked to, but cannot create one.
 */
export function entraIdProvider(options: Credentials & { tenantId: string; trustEmail?: boolean; maxAgeSeconds?: number }): OidcProvider {
  const { tenantId, ...rest } = options;
  return {
    kind: 'oidc',
    id: 'microsoft',
    name: 'Microsoft',
    issuer: `https://login.microsoftonline.com/${tenantId}/v2.0`,
    idTokenAlg: 'RS256',
    ...rest,
  };
}

/** GitHub (OAuth 2.0, no ID token): identity from `GET /user`, email from the primary VERIFIED entry of `GET /user/emails`. */
export function githubProvider(options: Credentials & Pick<GitHubProvider, 'baseUrl' | 'apiBaseUrl'>): GitHubProvider {
  return { kind: 'github', id: 'github', name: 'GitHub', ...options };
}
