/**
 * gatehouse/hono: Gatehouse in a Hono app. Hono already hands out the web Request
 * (`c.req.raw`), so this is the handler, a guard and the client IP.
 *
 * ```ts
 * const gatehouse = createHonoAdapter(auth);
 * app.onError(gatehouse.onError);                     // AuthError -> the JSON error shape
 * app.all('/auth/*', gatehouse.handler);
 * app.get('/api/posts', gatehouse.requirePermission('posts:read'), (c) => c.json({ user: c.get('gatehouse').user }));
 * ```
 *
 * Only types come from `hono` (an optional peer dependency), and no Node API is used: the
 * module runs wherever Hono runs.
 */
import type { Context, ErrorHandler, Handler, MiddlewareHandler } from 'hono';
import { unknownPermission, unknownPermissionWarning } from '../authz/index.js';
import type { Gatehouse } from '../gatehouse.js';
import type { SessionResult } from '../sessions/types.js';

/** Hono context variables set by the guards: `c.get('gatehouse')`. */
export interface GatehouseVariables {
  gatehouse: SessionResult;
}

export interface HonoAdapterOptions {
  /**
   * The client's address as the runtime sees it (the socket, never a header). Default: the
   * socket of `@hono/node-server` (`c.env.incoming.socket.remoteAddress`). On other runtimes
   * pass theirs, e.g. `(c) => getConnInfo(c).remote.address` from `hono/bun` or `hono/deno`.
   */
  ip?: (c: Context) => string | undefined;
}

export interface HonoAdapter {
  /** Route handler for `app.all('/auth/*', handler)` (your `basePath`). */
  handler: Handler;
  /** `{ user, session }` or null. */
  getSession(c: Context): Promise<SessionResult | null>;
  /** Guard: 401 when signed out; sets `c.get('gatehouse')`. */
  requireSession(): MiddlewareHandler<{ Variables: GatehouseVariables }>;
  /** Guard: 401 when signed out, 403 without the permission; sets `c.get('gatehouse')`. */
  requirePermission(permission: string): MiddlewareHandler<{ Variables: GatehouseVariables }>;
  /** Guard: 403 CSRF_REFUSED for a cross-site unsafe request (for your own cookie-authenticated routes). */
  verifyOrigin(): MiddlewareHandler;
  /** `app.onError(onError)`: AuthError (and anything else) -> the JSON error response; Hono's HTTPException -> its own response. */
  onError: ErrorHandler;
  /** The client IP this adapter passes to Gatehouse, for your own `auth.rateLimit(...)` calls. */
  ip(c: Context): string | undefined;
}

/** `c.env.incoming.socket.remoteAddress` when the app runs on @hono/node-server; parsed, not cast. */
function nodeServerAddress(c: Context): string | undefined {
  const env: unknown = c.env;
  if (typeof env !== 'object' || env === null || !('incoming' in env)) return undefined;
  const incoming: unknown = env.incoming;
  if (typeof incoming !== 'object' || incoming === null || !('socket' in incoming)) return undefined;
  const socket: unknown = incoming.socket;
  if (typeof socket !== 'object' || socket === null || !('remoteAddress' in socket)) return undefined;
  return typeof socket.remoteAddress === 'string' ? socket.remoteAddress : undefined;
}

/**
 * The Cookie header straight from Node's IncomingMessage on @hono/node-server (null when the
 * request has none), or undefined on other runtimes. Reading `c.req.raw.headers` there would
 * first build a web Headers object from every header of the request, for one value.
 */
function nodeServerCookie(c: Context): string | null | undefined {
  const env: unknown = c.env;
  if (typeof env !== 'object' || env === null || !('incoming' in env)) return undefined;
  const incoming: unknown = env.incoming;
  if (typeof incoming !== 'object' || incoming === null || !('headers' in incoming)) return undefined;
  const headers: unknown = incoming.headers;
  if (typeof headers !== 'object' || headers === null) return undefined;
  const cookie: unknown = 'cookie' in headers ? headers.cookie : undefined;
  return typeof cookie === 'string' ? cookie : null;
}

/**
 * Hono's `HTTPException` (thrown by its bodyLimit, basicAuth, bearerAuth, csrf, validator ...
 * middleware) carries the response to send. Recognised the way Hono's own default error handler
 * does, by its `getResponse` method: this module imports no Hono code, and a second copy of hono
 * would defeat `instanceof`.
 */
function httpException(error: unknown): { getResponse(): Response } | null {
  if (!(error instanceof Error) || !('getResponse' in error) || typeof error.getResponse !== 'function') return null;
  return error as Error & { getResponse(): Response };
}

/** Gatehouse for Hono. */
export function createHonoAdapter(auth: Gatehouse, options: HonoAdapterOptions = {}): HonoAdapter {
  const ip = options.ip ?? nodeServerAddress;
  const guard =
    (check: (request: Request) => Promise<SessionResult>): MiddlewareHandler<{ Variables: GatehouseVariables }> =>
    async (c, next) => {
      c.set('gatehouse', await check(c.req.raw));
      await next();
    };

  return {
    handler: (c) => auth.handler(c.req.raw, { ip: ip(c) }),
    getSession: (c) => {
      const cookie = nodeServerCookie(c);
      return cookie === undefined ? auth.getSession(c.req.raw) : auth.getSessionFromCookie(cookie);
    },
    requireSession: () => guard((request) => auth.requireSession(request)),
    requirePermission: (permission) => {
      // A guard is made once, at startup: a permission no role has is said there, once.
      if (unknownPermission(auth.authz, permission)) auth.config.logger.warn(unknownPermissionWarning(permission));
      return guard((request) => auth.requirePermission(request, permission));
    },
    verifyOrigin: () => async (c, next) => {
      auth.verifyOrigin(c.req.raw);
      await next();
    },
    // Hono's own HTTPException keeps its response (a 413, or a 401 with WWW-Authenticate), as
    // Hono's default handler would send it; replacing that handler must not make them 500s.
    onError: (error) => httpException(error)?.getResponse() ?? auth.errorResponse(error),
    ip,
  };
}
