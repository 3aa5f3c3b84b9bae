import { unknownPermission, unknownPermissionWarning, type Authz } from './authz/index.js';
import { createAuditLog } from './audit/audit-log.js';
import type { GatehouseOptions } from './config/options.js';
import { DEFAULTS, resolveConfig, type ResolvedConfig } from './config/resolve.js';
import type { Core } from './core.js';
import { ForbiddenError, NotFoundError, UnauthenticatedError } from './errors.js';
import { readCookie, SESSION_COOKIE } from './http/cookies.js';
import { authenticateCookies, openSession, withSignOutCookies } from './http/session-cookies.js';
import { createJwtMode, type JwtMode } from './jwt/jwt-mode.js';
import { createRevocations, type Revocations } from './revocation/revocations.js';
import { createCachedSessions } from './sessions/session-cache.js';
import { assertFresh } from './http/context.js';
import { NO_STORE, toErrorResponse } from './http/errors.js';
import { createHandler, withRequestId, type Handler, type RequestContext } from './http/handler.js';
import { createOAuthFlow } from './oauth/flow.js';
import { checkCsrf } from './protect/csrf.js';
import { checkReadiness, jwtReadiness, type ReadinessReport } from './ops/health.js';
import { createMetrics, NO_METRICS, signInObserver, timedValidation, type MetricsRecorder } from './ops/metrics.js';
import { createClientIpResolver, ipKey } from './protect/client-ip.js';
import { createRateLimiter, type RateLimiter } from './protect/rate-limit.js';
import { createSessions, freezeResult, toSession, toSessionResult } from './sessions/sessions.js';
import type { Session, SessionResult } from './sessions/types.js';
import type { SessionWithUser, Storage } from './storage/contract.js';
import { databaseKind, openDatabase, type Database } from './storage/database.js';
import { migrate, type MigrateResult } from './storage/migrate.js';
import { createSqlStorage } from './storage/sql-storage.js';
import { createUsers, type Users } from './users/users.js';

export interface CreateSessionOptions {
  /** How the user proved who they are ("passkey", "oauth", or your own method's name). */
  method: string;
  context?: RequestContext;
}

export interface CreateSessionResult {
  session: Session;
  /** Set-Cookie and Cache-Control: copy them onto your response. The token is only in Set-Cookie. */
  headers: Headers;
}

export interface Gatehouse {
  readonly authz: Authz;
  readonly config: ResolvedConfig;
  /** The HTTP API (`/auth/...`) as Request -> Response. */
  handler: Handler;
  /** The signed-in user and session for a request, or null. Role and disabled flag are current. */
  getSession(request: Request): Promise<SessionResult | null>;
  /**
   * getSession from the raw `Cookie` header, for adapters that can read it without building a
   * web Request (on @hono/node-server, `gatehouse/hono` reads it straight from Node's request).
   */
  getSessionFromCookie(cookieHeader: string | null): Promise<SessionResult | null>;
  /** Like getSession, but throws UnauthenticatedError (401). */
  requireSession(request: Request): Promise<SessionResult>;
  /** 401 when signed out, 403 when the user's role lacks `permission`. */
  requirePermission(request: Request, permission: string): Promise<SessionResult>;
  /** Throws ReauthenticationRequiredError (403) unless the user signed in within `maxAgeSeconds`. */
  requireFresh(result: SessionResult, maxAgeSeconds?: number): void;
  /** Throws CsrfError (403) for a cross-site unsafe request. Use it on your own cookie-authenticated routes. */
  verifyOrigin(request: Request): void;
  /** Throws RateLimitedError (429) when the client has used up the named limit. */
  rateLimit(request: Request, limit: 'session' | 'admin', context?: RequestContext): Promise<void>;
  /**
   * Signs a user in: always mints a new token, ends any session this browser already had
   * (no fixation), and returns the Set-Cookie to send. Sign-in methods call this after
   * they verified the user.
   */
  createSession(userId: string, request: Request, options: CreateSessionOptions): Promise<CreateSessionResult>;
  /** Set-Cookie/Cache-Control headers that sign the browser out (after ending the session server-side). */
  signOutHeaders(): Headers;
  /** JWT mode only (undefined with database sessions): key rotation, the JWKS, feed state. See docs/jwt.md. */
  jwt: JwtMode | undefined;
  users: Users;
  /** The storage contract implementation, for advanced use and tests. */
  storage(): Promise<Storage>;
  limiter(): Promise<RateLimiter>;
  /** Applies pending migrations. */
  migrate(): Promise<MigrateResult>;
  /**
   * Whether this instance can serve: database reachable, migrations current, Redis reachable
   * when configured. For a `/readyz` endpoint (200 when `ready`, else 503). Never includes
   * connection strings or driver messages.
   */
  readiness(): Promise<ReadinessReport>;
  /** Prometheus exposition (`metrics: true`), or a 404 JSON error when metrics are off. */
  metrics(): Promise<Response>;
  /** Turns any thrown error into the JSON error response (a 5xx is logged, with `context.requestId` when given). */
  errorResponse(error: unknown, context?: RequestContext): Response;
  close(): Promise<void>;
}

/** Builds a Gatehouse instance. Configuration is validated now; the database opens on first use. */
export function createGatehouse(options: GatehouseOptions): Gatehouse {
  const config = resolveConfig(options);
  if (typeof options.database === 'string') databaseKind(options.database);

  let databasePromise: Promise<Database> | undefined;
  let openedDatabase: Database | undefined;
  const database = (): Promise<Database> =>
    (databasePromise ??= (typeof options.database === 'string' ? openDatabase(options.database) : Promise.resolve(options.database)).then((db) => {
      openedDatabase = db;
      return db;
    }));
  let storagePromise: Promise<Storage> | undefined;
  // JWT mode and the session cache share one revocation state and feed; the storage is wrapped
  // so every session end and account change is also a revocation on every instance.
  let revocations: Revocations | undefined;
  let jwt: JwtMode | undefined;
  const storage = (): Promise<Storage> =>
    (storagePromise ??= database().then((db) => (revocations === undefined ? createSqlStorage(db) : revocations.wrapStorage(createSqlStorage(db)))));
  if (config.jwt !== null) {
    // A revocation must outlive every access token it refuses: one TTL and the leeway (+1 s for whole-second exp).
    const lifetimeMs = (config.jwt.accessTokenTtlSeconds + config.jwt.leewaySeconds + 1) * 1000;
    revocations = createRevocations({ config, storage, database, redis: config.jwt.redis, channel: config.jwt.channel, lifetimeMs, reloadMs: config.jwt.revocationReloadMs });
  } else if (config.sessionCache !== null) {
    // ... and every cache entry it must drop: the entry's maximum age plus a minute.
    const lifetimeMs = config.sessionCache.maxAgeMs + 60_000;
    revocations = createRevocations({ config, storage, database, redis: options.rateLimit?.redis, channel: DEFAULTS.revocationChannel, lifetimeMs, reloadMs: 30_000 });
  }

  const metrics = config.metrics ? createMetrics() : null;
  const recorder: MetricsRecorder = metrics ?? NO_METRICS;
  if (metrics !== null) {
    metrics.onCollect((set) => {
      const stats = databasePromise === undefined ? undefined : openedDatabase?.poolStats?.();
      if (stats === undefined) return;
      set('db_pool_connections', { state: 'total' }, stats.total);
      set('db_pool_connections', { state: 'idle' }, stats.idle);
      set('db_pool_connections', { state: 'waiting' }, stats.waiting);
    });
  }
  const audit = createAuditLog(storage, config.now, config.logger, metrics === null ? undefined : signInObserver(recorder));
  let limiterPromise: Promise<RateLimiter> | undefined;
  const limiter = (): Promise<RateLimiter> =>
    (limiterPromise ??= createRateLimiter({
      limits: config.limits,
      redis: options.rateLimit?.redis,
      onRefused: (name) => recorder.rateLimited(name),
      onLimited: (name, key) => {
        // Only the kind of key is kept: an account key may hold an email, which does not belong in the log.
        const ip = key.startsWith('ip:') && key !== 'ip:unknown' ? key.slice(3) : null;
        audit.recordInBackground('rate_limited', { ip, data: { limit: name, key: key.slice(0, Math.max(0, key.indexOf(':'))) || 'other' } });
      },
    }));

  const plainSessions = createSessions(storage, config, audit);
  const sessions = timedValidation(
    revocations !== undefined && config.sessionCache !== null
      ? createCachedSessions({ inner: plainSessions, storage, revocations, config, settings: config.sessionCache, metrics: recorder })
      : plainSessions,
    recorder,
  );
  const users = createUsers(storage, config, audit);
  /** Permissions already warned about as held by no role (once each). */
  const warnedPermissions = new Set<string>();
  const clientIp = createClientIpResolver(config.trustedProxies);
  if (config.jwt !== null && revocations !== undefined) jwt = createJwtMode({ config, settings: config.jwt, storage, database, audit, revocations, metrics: recorder });
  const core: Core = { config, storage, limiter, sessions, users, audit, clientIp, jwt, oauth: null, metrics: recorder };
  if (config.oauth !== null) core.oauth = createOAuthFlow(core, config.oauth);

  // A cache hit returns the same validated object until it changes: its public result is built
  // once and shared (frozen, read-only), so a hit allocates nothing.
  const results = new WeakMap<SessionWithUser, SessionResult>();
  const shared = config.sessionCache !== null && jwt === undefined;
  const resultOf = (found: SessionWithUser): SessionResult => {
    if (!shared) return toSessionResult(found);
    let result = results.get(found);
    if (result === undefined) {
      result = freezeResult(toSessionResult(found));
      results.set(found, result);
    }
    return result;
  };
  const getSessionFromCookie = async (cookie: string | null): Promise<SessionResult | null> => {
    // Database strategy: straight to the (cached) validation, no intermediate result object.
    const found = jwt === undefined ? await sessions.validate(readCookie(cookie, SESSION_COOKIE)) : (await authenticateCookies(core, cookie)).found;
    return found === null ? null : resultOf(found);
  };
  const getSession = (request: Request): Promise<SessionResult | null> => getSessionFromCookie(request.headers.get('cookie'));
  const requireSession = async (request: Request): Promise<SessionResult> => {
    const { found, error } = await authenticateCookies(core, request.headers.get('cookie'));
    if (found === null) throw error ?? new UnauthenticatedError();
    return resultOf(found);
  };

  return {
    authz: config.authz,
    config,
    handler: createHandler(core),
    getSession,
    getSessionFromCookie,
    requireSession,
    async requirePermission(request, permission) {
      const result = await requireSession(request);
      // After the session: anonymous requests cannot fill the set. At most 100 names are
      // remembered (an app that builds names per request gets its first 100 warnings, not one per request).
      if (unknownPermission(config.authz, permission) && !warnedPermissions.has(permission) && warnedPermissions.size < 100) {
        warnedPermissions.add(permission);
        config.logger.warn(unknownPermissionWarning(permission));
      }
      if (!config.authz.can(result.user.role, permission)) throw new ForbiddenError();
      return result;
    },
    requireFresh(result, maxAgeSeconds = config.freshAgeSeconds) {
      assertFresh(result.session.authTime.getTime(), maxAgeSeconds, config.now());
    },
    verifyOrigin(request) {
      checkCsrf(request, { origins: config.origins, allowSameSite: config.allowSameSite });
    },
    async rateLimit(request, name, context = {}) {
      await (await limiter()).consume(name, ipKey(clientIp(context.ip, request.headers)));
    },
    async createSession(userId, request, opts) {
      // This browser's previous session ends too (SESS-03), in both modes.
      const cookieHeader = request.headers.get('cookie');
      const { created, cookies } = await openSession(
        core,
        userId,
        { method: opts.method, ip: clientIp(opts.context?.ip, request.headers), userAgent: request.headers.get('user-agent'), previousToken: readCookie(cookieHeader, SESSION_COOKIE) },
        cookieHeader,
      );
      const headers = new Headers({ 'cache-control': NO_STORE });
      for (const cookie of cookies) headers.append('set-cookie', cookie);
      return { session: toSession(created.session), headers };
    },
    signOutHeaders() {
      return withSignOutCookies(core, new Headers({ 'cache-control': NO_STORE }));
    },
    jwt,
    users,
    storage,
    limiter,
    migrate: async () => migrate(await database()),
    readiness: () =>
      checkReadiness({
        database,
        limiter,
        redisConfigured: options.rateLimit?.redis !== undefined,
        extra: jwt === undefined ? [] : [() => jwtReadiness(jwt)],
      }),
    async metrics() {
      if (metrics === null) return toErrorResponse(new NotFoundError('Metrics are off: createGatehouse({ metrics: true }).'));
      const body = await metrics.text();
      return new Response(body, { status: 200, headers: { 'content-type': metrics.contentType, 'cache-control': NO_STORE } });
    },
    errorResponse: (error, context) => toErrorResponse(error, withRequestId(config.logger, context?.requestId)),
    async close() {
      await jwt?.close();
      await revocations?.close();
      if (limiterPromise) await (await limiterPromise).close();
      if (databasePromise && typeof options.database === 'string') await (await databasePromise).close();
    },
  };
}
