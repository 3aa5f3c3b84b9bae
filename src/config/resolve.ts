import { isIP } from 'node:net';
import { z } from 'zod';
import { defaultAuthz, type Authz } from '../authz/index.js';
import { ConfigurationError } from '../errors.js';
import { oauthSchema, resolveOAuth, type ResolvedOAuth } from '../oauth/config.js';
import type { GatehouseLogger, GatehouseOptions, LimitName, LimitOptions } from './options.js';
import { resolveUi, uiSchema, type ResolvedUi } from '../ui/config.js';
import { JWT_DEFAULTS, jwtOptionsSchema, resolveJwt, type ResolvedJwtConfig } from './jwt.js';

const MINUTE = 60;
const DAY = 24 * 60 * MINUTE;

/** Defaults, with the reasons in docs/sessions.md, docs/rate-limiting.md and docs/csrf.md. */
export const DEFAULTS = {
  basePath: '/auth',
  idleTimeoutSeconds: 7 * DAY,
  absoluteLifetimeSeconds: 30 * DAY,
  touchIntervalSeconds: 15 * MINUTE,
  freshAgeSeconds: 10 * MINUTE,
  maxBodyBytes: 16 * 1024,
  challengeTtlSeconds: 5 * MINUTE,
  maxPendingPerIp: 20,
  recoveryCodes: 10,
  // Validated sessions kept per instance; an entry is re-read from the database after 5 minutes
  // at the latest, whatever the feed says (docs/sessions.md).
  sessionCache: { maxEntries: 10_000, maxAgeSeconds: 300 },
  // How long a revocation is kept for the session cache: longer than any entry can live.
  revocationChannel: 'gatehouse_revocations',
  jwt: JWT_DEFAULTS,
  limits: {
    // Reads of /auth/session and friends: generous, it only stops floods.
    session: { points: 600, durationSeconds: MINUTE },
    admin: { points: 120, durationSeconds: MINUTE },
    // Passkey and recovery endpoints, per client IP: a person needs a handful per minute.
    ceremony: { points: 60, durationSeconds: MINUTE },
    // Failed credential attempts per client IP and per account: the window bounds any lock-out.
    credentialIp: { points: 30, durationSeconds: 5 * MINUTE },
    credentialAccount: { points: 10, durationSeconds: 15 * MINUTE },
    // POST /auth/token/refresh per client IP: a tab refreshes about 4 times an hour.
    refresh: { points: 120, durationSeconds: MINUTE },
  } satisfies Record<LimitName, LimitOptions>,
} as const;

export interface ResolvedConfig {
  origins: readonly string[];
  basePath: string;
  authz: Authz;
  idleTimeoutMs: number;
  absoluteLifetimeMs: number;
  touchIntervalMs: number;
  freshAgeSeconds: number;
  /** "database" or "jwt"; `jwt` holds the JWT settings in JWT mode, else null. */
  strategy: 'database' | 'jwt';
  /** The session cache (database strategy), or null when off. */
  sessionCache: { maxEntries: number; maxAgeMs: number } | null;
  jwt: ResolvedJwtConfig | null;
  allowSameSite: boolean;
  passkeys: {
    rpId: string;
    rpName: string;
    origins: readonly string[];
    userVerification: 'required' | 'preferred';
    challengeTtlMs: number;
    maxPendingPerIp: number;
    /** Origins that may embed the ceremonies in an iframe (`topOrigin`); empty: none. */
    topOrigins: readonly string[];
  };
  limits: Record<LimitName, LimitOptions>;
  /** Null when no OAuth/OIDC provider is configured. */
  oauth: ResolvedOAuth | null;
  /** The built-in pages, or null with `ui: false`. */
  ui: ResolvedUi | null;
  trustedProxies: readonly string[];
  maxBodyBytes: number;
  metrics: boolean;
  logger: GatehouseLogger;
  now: () => number;
}

const seconds = (max: number) => z.number().int().positive().max(max);
const limit = z.object({ points: z.number().int().positive().max(1_000_000), durationSeconds: seconds(DAY) }).strict();

const schema = z
  .object({
    // Checked below with a message that says what to pass.
    database: z.unknown().optional(),
    origin: z.union([z.string(), z.array(z.string()).min(1)], {
      error: "must be your site's origin as a string, e.g. https://app.example.com (or a non-empty array of them)",
    }),
    basePath: z.string().regex(/^\/[A-Za-z0-9/_-]*[A-Za-z0-9_-]$/, 'must look like /auth').optional(),
    authz: z.unknown().optional(),
    session: z
      .object({
        strategy: z.enum(['database', 'jwt']).optional(),
        idleTimeoutSeconds: seconds(365 * DAY).optional(),
        absoluteLifetimeSeconds: seconds(365 * DAY).optional(),
        touchIntervalSeconds: seconds(DAY).optional(),
        freshAgeSeconds: seconds(DAY).optional(),
        cache: z
          .union([
            z.literal(false),
            z.object({ maxEntries: z.number().int().min(1).max(10_000_000).optional(), maxAgeSeconds: z.number().int().min(1).max(3600).optional() }).strict(),
          ])
          .optional(),
      })
      .strict()
      .optional(),
    jwt: jwtOptionsSchema.optional(),
    csrf: z.object({ allowSameSite: z.boolean().optional() }).strict().optional(),
    passkeys: z
      .object({
        rpName: z.string().min(1).max(100).optional(),
        rpId: z.string().min(1).max(253).optional(),
        origins: z.array(z.string()).min(1).optional(),
        userVerification: z.enum(['required', 'preferred']).optional(),
        challengeTtlSeconds: z.number().int().min(30).max(15 * MINUTE).optional(),
        maxPendingPerIp: z.number().int().min(1).max(10_000).optional(),
        topOrigins: z.array(z.string()).max(20).optional(),
        allowCrossOrigin: z.unknown().optional(),
      })
      .strict()
      .optional(),
    oauth: oauthSchema.optional(),
    ui: uiSchema.optional(),
    rateLimit: z
      .object({
        redis: z.unknown().optional(),
        limits: z.partialRecord(z.enum(['session', 'admin', 'ceremony', 'credentialIp', 'credentialAccount', 'refresh']), limit).optional(),
      })
      .strict()
      .optional(),
    trustedProxies: z.array(z.string()).optional(),
    maxBodyBytes: z.number().int().min(1024).max(1024 * 1024).optional(),
    metrics: z.boolean().optional(),
    logger: z.unknown().optional(),
    now: z.unknown().optional(),
  })
  .strict();

/** Checks an origin is exact (scheme://host[:port], nothing else) and can carry Secure cookies. */
function checkOrigin(origin: string): string {
  // What the user most likely meant, for the messages: the host (and port) with the right scheme.
  const suggestion = () => {
    const bare = origin.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').replace(/\/.*$/, '');
    return `${/^(localhost|127\.0\.0\.1|\[::1\])(:|$)/.test(bare) ? 'http' : 'https'}://${bare}`;
  };
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    throw new ConfigurationError(`origin "${origin}" is not a URL: write the exact origin with its scheme, e.g. ${origin.includes('.') || origin.startsWith('localhost') ? suggestion() : 'https://app.example.com'}`);
  }
  // "localhost:3000" parses as a URL whose scheme is "localhost:" (its origin is "null").
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigurationError(`origin "${origin}" must start with https:// (or http:// for localhost): use ${suggestion()}`);
  }
  if (url.origin !== origin.replace(/\/$/, '')) {
    throw new ConfigurationError(`origin "${origin}" must be exactly scheme://host[:port]: lower case, no default port, no path. Use ${url.origin}`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLocalOrigin(url.origin))) {
    throw new ConfigurationError(
      `origin "${origin}" must use https: session cookies are Secure and browsers drop them on plain http (only http://localhost is exempt).`,
    );
  }
  return url.origin;
}

/**
 * A Redis URL with another scheme (`https://host:6379`) was accepted and failed later as
 * "connect ENOENT //host:6379", far from the mistake. Every form ioredis takes still passes:
 * `redis://` and `rediss://` URLs, `host:port`, `//host:port`, a port, a socket path. (A client
 * object is taken as it is.)
 */
function checkRedisUrl(where: string, redis: unknown): void {
  if (redis === undefined || typeof redis !== 'string') return;
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(redis)?.[1]?.toLowerCase();
  if (scheme !== undefined && scheme !== 'redis' && scheme !== 'rediss') {
    const shown = redis.replace(/\/\/[^@/]*@/, '//***@');
    throw new ConfigurationError(`${where} "${shown}" is not a Redis URL: write redis://host:6379 (or rediss://host:6380 for TLS), with /N for a database number.`);
  }
}

/** Widest ranges accepted as "our proxies": anything wider trusts the whole Internet's X-Forwarded-For. */
const MIN_PROXY_PREFIX = { 4: 8, 6: 7 } as const;

/**
 * A trusted proxy is an address or a CIDR of addresses that really are your proxies. A
 * catch-all (0.0.0.0/0, ::/0) would let every client name its own IP in X-Forwarded-For and
 * reset every per-IP limit (RATE-03), so ranges wider than /8 (IPv4) or /7 (IPv6) are refused.
 */
function checkTrustedProxy(entry: string): void {
  const [address = '', prefix, ...rest] = entry.split('/');
  const family = isIP(address);
  const bits = prefix === undefined ? null : Number(prefix);
  if (family === 0 || rest.length > 0 || (bits !== null && (!/^\d{1,3}$/.test(prefix!) || bits > (family === 4 ? 32 : 128)))) {
    throw new ConfigurationError(`trustedProxies entry "${entry}" is not an IP address or CIDR such as 10.0.0.0/8 or fd00::/8.`);
  }
  const min = MIN_PROXY_PREFIX[family as 4 | 6];
  if (bits !== null && bits < min) {
    throw new ConfigurationError(
      `trustedProxies entry "${entry}" is too wide (/${bits}): it would trust X-Forwarded-For from almost any client, which could then pick its own IP and escape every rate limit. List your proxies' own addresses or subnets (at least /${min}).`,
    );
  }
}

/**
 * The RP ID must be the origin's host or a registrable suffix of it (WebAuthn 5.1.3 /
 * HTML "is a registrable domain suffix"), otherwise browsers refuse every ceremony.
 */
function resolvePasskeys(options: GatehouseOptions, origins: readonly string[]): ResolvedConfig['passkeys'] {
  const p = options.passkeys ?? {};
  // `false` was the default and means what no option means; only `true` asked for something gone.
  if ((p as { allowCrossOrigin?: unknown }).allowCrossOrigin === true) {
    throw new ConfigurationError(
      'passkeys.allowCrossOrigin was replaced by passkeys.topOrigins: list the exact origins allowed to embed your sign-in in an iframe, e.g. topOrigins: ["https://portal.example.com"] (or remove the option).',
    );
  }
  const rpId = (p.rpId ?? new URL((p.origins ?? origins)[0]!).hostname).toLowerCase();
  // A bare top-level label ("com") is a public suffix: browsers refuse every ceremony for it.
  if (p.rpId !== undefined && !rpId.includes('.') && rpId !== 'localhost') {
    throw new ConfigurationError(`passkeys.rpId "${rpId}" is a top-level domain; browsers refuse it. Use your site's domain, e.g. example.com.`);
  }
  const covered = (origin: string): boolean => {
    const host = new URL(origin).hostname;
    return host === rpId || host.endsWith(`.${rpId}`);
  };
  // Explicit passkey origins must all fit the RP ID; by default, the app origins that fit it.
  const passkeyOrigins = p.origins === undefined ? origins.filter(covered) : p.origins.map(checkOrigin);
  for (const origin of passkeyOrigins) {
    if (!covered(origin)) {
      throw new ConfigurationError(`passkeys.rpId "${rpId}" does not cover origin ${origin}: use its host (${new URL(origin).hostname}) or a parent domain of it.`);
    }
  }
  if (passkeyOrigins.length === 0) throw new ConfigurationError(`passkeys.rpId "${rpId}" covers none of the origins; set passkeys.rpId to your site's domain.`);
  return {
    rpId,
    rpName: p.rpName ?? rpId,
    origins: passkeyOrigins,
    userVerification: p.userVerification ?? 'required',
    challengeTtlMs: (p.challengeTtlSeconds ?? DEFAULTS.challengeTtlSeconds) * 1000,
    maxPendingPerIp: p.maxPendingPerIp ?? DEFAULTS.maxPendingPerIp,
    topOrigins: (p.topOrigins ?? []).map(checkOrigin),
  };
}

function isLocalOrigin(origin: string): boolean {
  const { hostname } = new URL(origin);
  return hostname === 'localhost' || hostname === '127.0.0.1' || hostname === '[::1]';
}

/**
 * A development origin left in a production configuration: browsers at the real address then
 * fail every CSRF check and passkey ceremony, which looks like a Gatehouse bug. A warning, not
 * an error: running a production build on your own machine is legitimate.
 */
function warnAboutLocalOrigins(origins: readonly string[], logger: GatehouseLogger): void {
  if (process.env.NODE_ENV !== 'production') return;
  for (const origin of origins.filter(isLocalOrigin)) {
    logger.warn(
      `origin ${origin} is a local development origin but NODE_ENV is production. Browsers at your real address will fail CSRF checks and passkey ceremonies: set origin to the site's https origin (e.g. https://app.example.com). Ignore this when running a production build on your own machine.`,
    );
  }
}

function isAuthz(value: unknown): value is Authz {
  return typeof value === 'object' && value !== null && 'can' in value && 'roles' in value && 'canAssign' in value;
}

const consoleLogger: GatehouseLogger = {
  warn: (message, details) => console.warn(`[gatehouse] ${message}`, details ?? ''),
  error: (message, details) => console.error(`[gatehouse] ${message}`, details ?? ''),
};

/** Validates options at startup; every mistake becomes a ConfigurationError saying what to fix. */
export function resolveConfig(options: GatehouseOptions): ResolvedConfig {
  const parsed = schema.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.join('.') || 'options';
    throw new ConfigurationError(`${where}: ${issue?.message ?? 'invalid'}`);
  }
  if (options.database === undefined || options.database === null || options.database === '') {
    throw new ConfigurationError('database is required: pass openDatabase(url) or a URL such as sqlite:./data/gatehouse.db');
  }
  const origins = (typeof options.origin === 'string' ? [options.origin] : [...options.origin]).map(checkOrigin);
  if (options.authz !== undefined && !isAuthz(options.authz)) {
    throw new ConfigurationError('authz must come from defineAuthz() in gatehouse/authz');
  }
  const s = options.session ?? {};
  const strategy = s.strategy ?? 'database';
  // In JWT mode the session is the refresh family: 7 days by default (docs/jwt.md).
  const absolute = s.absoluteLifetimeSeconds ?? (strategy === 'jwt' ? JWT_DEFAULTS.familyLifetimeSeconds : DEFAULTS.absoluteLifetimeSeconds);
  const idle = s.idleTimeoutSeconds ?? (strategy === 'jwt' ? Math.min(DEFAULTS.idleTimeoutSeconds, absolute) : DEFAULTS.idleTimeoutSeconds);
  const touch = s.touchIntervalSeconds ?? DEFAULTS.touchIntervalSeconds;
  if (idle > absolute) {
    throw new ConfigurationError(`session.idleTimeoutSeconds (${idle}) cannot exceed session.absoluteLifetimeSeconds (${absolute}).`);
  }
  if (touch >= idle) {
    throw new ConfigurationError(`session.touchIntervalSeconds (${touch}) must be shorter than session.idleTimeoutSeconds (${idle}).`);
  }
  for (const proxy of options.trustedProxies ?? []) checkTrustedProxy(proxy);
  checkRedisUrl('rateLimit.redis', options.rateLimit?.redis);
  checkRedisUrl('jwt.redis', options.jwt?.redis);
  if (options.jwt !== undefined && strategy !== 'jwt') {
    throw new ConfigurationError("jwt options are set but session.strategy is not 'jwt': set session: { strategy: 'jwt' } to use JWT mode, or remove the jwt options.");
  }
  const basePath = options.basePath ?? DEFAULTS.basePath;
  const logger = options.logger ?? consoleLogger;
  const passkeys = resolvePasskeys(options, origins);
  warnAboutLocalOrigins([...new Set([...origins, ...passkeys.origins])], logger);
  return {
    origins,
    strategy,
    sessionCache:
      strategy === 'jwt' || s.cache === false
        ? null
        : { maxEntries: s.cache?.maxEntries ?? DEFAULTS.sessionCache.maxEntries, maxAgeMs: (s.cache?.maxAgeSeconds ?? DEFAULTS.sessionCache.maxAgeSeconds) * 1000 },
    jwt: strategy === 'jwt' ? resolveJwt(options, origins, logger) : null,
    passkeys,
    oauth: resolveOAuth(options.oauth, origins, basePath, options.ui === false ? undefined : `${basePath}/sign-in`),
    ui: resolveUi(options.ui, basePath, passkeys.rpName),
    basePath,
    authz: options.authz ?? defaultAuthz,
    idleTimeoutMs: idle * 1000,
    absoluteLifetimeMs: absolute * 1000,
    touchIntervalMs: touch * 1000,
    freshAgeSeconds: s.freshAgeSeconds ?? DEFAULTS.freshAgeSeconds,
    allowSameSite: options.csrf?.allowSameSite ?? false,
    limits: { ...DEFAULTS.limits, ...options.rateLimit?.limits },
    trustedProxies: options.trustedProxies ?? [],
    maxBodyBytes: options.maxBodyBytes ?? DEFAULTS.maxBodyBytes,
    metrics: options.metrics ?? false,
    logger,
    now: options.now ?? Date.now,
  };
}
