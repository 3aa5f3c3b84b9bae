import type { Redis } from 'ioredis';
import type { Authz } from '../authz/index.js';
import type { OAuthOptions } from '../oauth/config.js';
import type { Database } from '../storage/database.js';

/** A limit: at most `points` requests per `durationSeconds` window, per key. */
export interface LimitOptions {
  points: number;
  durationSeconds: number;
}

export type LimitName = 'session' | 'admin' | 'ceremony' | 'credentialIp' | 'credentialAccount';

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
  /** Accept ceremonies run inside a cross-origin iframe. Default false. */
  allowCrossOrigin?: boolean;
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
    /** Seconds without activity before a session ends. Default 7 days. */
    idleTimeoutSeconds?: number;
    /** Seconds after sign-in when a session ends regardless of activity. Default 30 days. */
    absoluteLifetimeSeconds?: number;
    /** Activity is written at most once per this many seconds per session. Default 15 minutes. */
    touchIntervalSeconds?: number;
    /** A session counts as fresh (for sensitive actions) this long after sign-in. Default 10 minutes. */
    freshAgeSeconds?: number;
  };
  passkeys?: PasskeyOptions;
  /** Sign-in with OpenID Connect providers and GitHub (docs/oauth.md). */
  oauth?: OAuthOptions;
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
