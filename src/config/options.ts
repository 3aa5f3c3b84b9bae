import type { UiOptions } from '../ui/config.js';
import type { Redis } from 'ioredis';
import type { JWK } from 'jose';
import type { Authz } from '../authz/index.js';
import type { OAuthOptions } from '../oauth/config.js';
import type { Database } from '../storage/database.js';

/** A limit: at most `points` requests per `durationSeconds` window, per key. */
export interface LimitOptions {
  points: number;
  durationSeconds: number;
}

export type LimitName = 'session' | 'admin' | 'ceremony' | 'credentialIp' | 'credentialAccount' | 'refresh';

export interface GatehouseLogger {
  warn(message: string, details?: Record<string, unknown>): void;
  error(message: string, details?: Record<string, unknown>): void;
}

export interface PasskeyOptions {
  /** Relying party name shown by the authenticator. Default: the RP ID. */
  rpName?: string;
  /** RP ID: the origin's host or a registrable suffix of it. Default: the first origin's host. */
  rpId?: string;
  /** Origins whose ceremonies are accepted (exact match). Default: `origin`. */
  origins?: readonly string[];
  /** User verification (biometrics/PIN) for sign-in and registration. Default "required". */
  userVerification?: 'required' | 'preferred';
  /** How long a ceremony's challenge stays usable. Default 300 seconds. */
  challengeTtlSeconds?: number;
  /** Unexpired ceremonies one client IP may have open at once. Default 20. */
  maxPendingPerIp?: number;
  /**
   * Origins allowed to embed your sign-in in an iframe (WebAuthn's `topOrigin`), exact
   * `scheme://host[:port]` each. Default none: a ceremony run inside a cross-origin iframe is
   * refused. A cross-origin ceremony that names no top origin (Safari) is always refused.
   */
  topOrigins?: string[];
  /** Replaced by `topOrigins` (a yes/no could not say WHICH sites may embed you); `true` fails at startup, `false` is the default. */
  allowCrossOrigin?: false;
}

export interface JwtOptions {
  /**
   * Encrypts the signing keys at rest; at least 32 characters, the same on every instance
   * (e.g. from GATEHOUSE_JWT_SECRET). Required in JWT mode.
   */
  secret?: string;
  /** The `iss` of access tokens. Default: the first origin. */
  issuer?: string;
  /** The `aud` of access tokens. Default: the issuer. */
  audience?: string;
  /**
   * Private JWKs (Ed25519 or P-256, each with a `kid`) to sign with instead of generated,
   * database-stored keys: the first signs, all verify. Default: generated and stored encrypted.
   */
  signingKeys?: readonly JWK[];
  /** "EdDSA" (Ed25519, default) or "ES256" (P-256), for keys generated from now on. */
  algorithm?: 'EdDSA' | 'ES256';
  /** Access token lifetime. Default 900 (15 minutes), which is also the maximum. */
  accessTokenTtlSeconds?: number;
  /**
   * Lifts the 15-minute cap on `accessTokenTtlSeconds`. Services that verify tokens on their
   * own (verifyAccessToken) cannot see a revocation before the token expires: a deliberate,
   * logged opt-out, never a default.
   */
  dangerouslyAllowAccessTokensOver15Minutes?: true;
  /** Clock skew tolerated on exp/nbf/iat. Default 5 seconds. */
  leewaySeconds?: number;
  /** A just-rotated refresh token returns the same successor for this long (two tabs). Default 10 seconds. */
  refreshGraceSeconds?: number;
  /** Verified access tokens remembered, so a repeated token skips the signature check. Default 10,000. */
  verifiedTokenCacheSize?: number;
  /** Redis for the revocation feed (pub/sub). Default: `rateLimit.redis`; else PostgreSQL LISTEN/NOTIFY or in process. */
  redis?: string | Redis;
  /** The Redis channel / PostgreSQL NOTIFY channel of the revocation feed. Default "gatehouse_revocations". */
  channel?: string;
}

export interface GatehouseOptions {
  /** An open database (`openDatabase(url)`) or a URL: `sqlite:./data/gatehouse.db`, `postgres://...`. */
  database: Database | string;
  /**
   * The exact origin(s) the app is served from, e.g. `https://app.example.com`. Used for
   * CSRF Origin checks. Must be https, except http://localhost for development.
   */
  origin: string | readonly string[];
  /** Where the handler is mounted. Default `/auth`. */
  basePath?: string;
  /** Roles and permissions (from `gatehouse/authz`). Default: member + admin. */
  authz?: Authz;
  session?: {
    /**
     * "database" (default): an opaque session token in a `__Host-` cookie, looked up on each
     * request. "jwt": a short-lived access JWT plus a rotating refresh token (docs/jwt.md); the
     * session row is the refresh family, and `absoluteLifetimeSeconds` is its lifetime (default 7 days).
     */
    strategy?: 'database' | 'jwt';
    /** Seconds without activity before a session ends. Default 7 days. */
    idleTimeoutSeconds?: number;
    /** Seconds after sign-in when a session ends regardless of activity. Default 30 days (7 days in JWT mode). */
    absoluteLifetimeSeconds?: number;
    /** Activity is written at most once per this many seconds per session. Default 15 minutes. */
    touchIntervalSeconds?: number;
    /** A session counts as fresh (for sensitive actions) this long after sign-in. Default 10 minutes. */
    freshAgeSeconds?: number;
    /**
     * Database strategy: an in-process cache of validated sessions, invalidated on every
     * instance through the revocation feed and bypassed while the feed is down
     * (docs/sessions.md, "Session cache"). Default on (10,000 entries, 300 s). `false` turns
     * it off. Several processes on one SQLite file hear each other through the revocations table.
     */
    cache?: false | { maxEntries?: number; maxAgeSeconds?: number };
  };
  passkeys?: PasskeyOptions;
  /** Sign-in with OpenID Connect providers and GitHub (docs/oauth.md). */
  oauth?: OAuthOptions;
  /** The built-in pages: sign in, sign up, recovery, account, admin (docs/ui.md). On by default; `false` turns them off. */
  ui?: UiOptions | false;
  /** JWT mode (`session.strategy: "jwt"`); see docs/jwt.md for every default and why. */
  jwt?: JwtOptions;
  csrf?: {
    /** Accept `Sec-Fetch-Site: same-site` (sibling subdomains). Default false. */
    allowSameSite?: boolean;
  };
  rateLimit?: {
    /** Share limits across instances through Redis: a URL or an ioredis client. Default: in memory. */
    redis?: string | Redis;
    /** Override individual limits. */
    limits?: Partial<Record<LimitName, LimitOptions>>;
  };
  /**
   * Proxies whose X-Forwarded-For you trust, as IPs or CIDRs (e.g. `["10.0.0.0/8"]`). Empty by
   * default: the client IP is the socket address and forwarding headers are ignored (RATE-03).
   */
  trustedProxies?: readonly string[];
  /**
   * Prometheus metrics through `auth.metrics()` (prom-client). Default false: nothing is
   * measured and prom-client is never loaded. See docs/operations.md.
   */
  metrics?: boolean;
  /** Largest JSON body accepted, in bytes. Default 16 KiB. */
  maxBodyBytes?: number;
  logger?: GatehouseLogger;
  /** Clock in milliseconds, for tests. Default `Date.now`. */
  now?: () => number;
}
