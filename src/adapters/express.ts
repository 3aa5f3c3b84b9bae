/**
 * gatehouse/express: Gatehouse in an Express 4/5 app. The conversion is gatehouse/node's; this
 * file adds the Express shapes (middleware, error handler, a permission guard).
 *
 * ```ts
 * const gatehouse = createExpressAdapter(auth);
 * app.use(gatehouse.handler);            // before express.json(): it reads its own bodies
 * app.use(express.json());
 * app.get('/api/posts', gatehouse.requirePermission('posts:read'), (req, res) => {
 *   res.json({ user: res.locals.gatehouse.user });
 * });
 * app.use(gatehouse.errorHandler);       // AuthError -> the JSON error shape
 * ```
 *
 * Only types come from `express` (an optional peer dependency): this module runs without it.
 */
import type { ErrorRequestHandler, Request as ExpressRequest, RequestHandler } from 'express';
import { unknownPermission, unknownPermissionWarning } from '../authz/index.js';
import { AuthError, BadRequestError, PayloadTooLargeError } from '../errors.js';
import type { Gatehouse } from '../gatehouse.js';
import type { SessionResult } from '../sessions/types.js';
import { createNodeAdapter } from './node.js';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Locals {
      /** Set by `requirePermission` / `requireSession`: the signed-in user and session. */
      gatehouse?: SessionResult;
    }
  }
}

export interface ExpressAdapter {
  /** Middleware: answers `basePath/*` (e.g. `/auth/*`) and passes everything else on. Mount before body parsers. */
  handler: RequestHandler;
  /** `{ user, session }` or null, from the cookie only. */
  getSession(req: ExpressRequest): Promise<SessionResult | null>;
  /** Guard: 401 when signed out, else `res.locals.gatehouse` holds the session. */
  requireSession(): RequestHandler;
  /** Guard: 401 when signed out, 403 without the permission, else `res.locals.gatehouse` holds the session. */
  requirePermission(permission: string): RequestHandler;
  /** Guard: 403 CSRF_REFUSED for a cross-site unsafe request (for your own cookie-authenticated routes). */
  verifyOrigin(): RequestHandler;
  /** Error middleware: AuthError (and anything else) -> the JSON error response. Mount last. */
  errorHandler: ErrorRequestHandler;
}

/**
 * Express's own client errors (body-parser's malformed JSON or oversized body, http-errors'
 * `createError(404)`): a 4xx `status` with `expose: true`, which http-errors sets for client
 * errors; and the router's undecodable route parameter (below). They keep their status in the
 * JSON error shape instead of becoming a 500. Null for
 * anything else: an upstream client's error with a 401 `status` (a bad API key of the SERVER's)
 * stays a 500, logged.
 */
function clientError(error: unknown): AuthError | null {
  if (error instanceof AuthError || typeof error !== 'object' || error === null) return null;
  const { status, statusCode, expose, type, limit, message } = error as Record<string, unknown>;
  const code = typeof status === 'number' ? status : statusCode;
  // The router's "Failed to decode param" (a route parameter that is not valid percent-encoding):
  // a URIError with status 400 but no `expose`. Its message repeats the client's bytes.
  if (error instanceof URIError && code === 400) return new BadRequestError('BAD_REQUEST', 'The request path is not valid percent-encoding.');
  if (expose !== true || typeof code !== 'number' || !Number.isInteger(code) || code < 400 || code > 499) return null;
  if (type === 'entity.parse.failed') return new BadRequestError('INVALID_JSON', 'The request body is not valid JSON.');
  if (code === 413 && typeof limit === 'number') return new PayloadTooLargeError(limit);
  const text = typeof message === 'string' && message !== '' ? message : 'The request could not be processed.';
  return new AuthError(code === 400 ? 'BAD_REQUEST' : `HTTP_${code}`, code, text);
}

/**
 * Gatehouse for Express. Mount `handler` with `app.use(handler)` (any mount path works: the
 * original URL decides). The client IP is the socket's remote address; set `trustedProxies` behind a proxy (not Express's `trust proxy`). */
export function createExpressAdapter(auth: Gatehouse): ExpressAdapter {
  const node = createNodeAdapter(auth);
  const guard =
    (check: (req: ExpressRequest) => Promise<SessionResult>): RequestHandler =>
    (req, res, next) => {
      check(req).then((result) => {
        res.locals.gatehouse = result;
        next();
      }, next);
    };

  return {
    handler(req, res, next) {
      node.handle(req, res, req.originalUrl).then((handled) => {
        if (!handled) next();
      }, next);
    },
    getSession: (req) => node.getSession(req),
    requireSession: () => guard((req) => node.requireSession(req)),
    requirePermission: (permission) => {
      // A guard is made once, at startup: a permission no role has is said there, once.
      if (unknownPermission(auth.authz, permission)) auth.config.logger.warn(unknownPermissionWarning(permission));
      return guard((req) => node.requirePermission(req, permission));
    },
    verifyOrigin: () => (req, _res, next) => {
      try {
        auth.verifyOrigin(node.request(req));
        next();
      } catch (error) {
        next(error);
      }
    },
    errorHandler(error: unknown, _req, res, next) {
      if (res.headersSent) {
        next(error);
        return;
      }
      node.sendError(res, clientError(error) ?? error).catch(() => res.destroy());
    },
  };
}
