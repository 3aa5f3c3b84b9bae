import type { GatehouseLogger } from '../config/options.js';
import type { Core } from '../core.js';
import { NO_METRICS } from '../ops/metrics.js';
import { BadRequestError, CsrfError, MethodNotAllowedError, NotFoundError } from '../errors.js';
import { checkCsrf } from '../protect/csrf.js';
import { ipKey } from '../protect/client-ip.js';
import { createRouteContext } from './context.js';
import { toErrorResponse } from './errors.js';
import { adminRoutes } from './routes/admin.js';
import { sessionRoutes } from './routes/session.js';
import { sessionsRoutes } from './routes/sessions.js';
import type { Route } from './routes/types.js';
import { oauthRoutes } from './routes/oauth.js';
import { passkeyRoutes } from './routes/passkeys.js';
import { recoveryRoutes } from './routes/recovery.js';
import { tokenRoutes } from './routes/token.js';
import { createPageKit } from '../ui/layout.js';
import { uiRoutes } from '../ui/routes.js';

/** What the adapter knows about the connection that a web Request does not carry. */
export interface RequestContext {
  /** The socket's remote address. Forwarding headers count only through `trustedProxies`. */
  ip?: string | undefined;
  /** Your request id (the one your access log writes): added to what Gatehouse logs about this request. */
  requestId?: string | undefined;
}

/** The logger with the request id in every line's details, so a 5xx is found next to its access-log line. */
export function withRequestId(logger: GatehouseLogger, requestId: string | undefined): GatehouseLogger {
  if (requestId === undefined) return logger;
  return {
    warn: (message, details) => logger.warn(message, { ...details, requestId }),
    error: (message, details) => logger.error(message, { ...details, requestId }),
  };
}

export type Handler = (request: Request, context?: RequestContext) => Promise<Response>;

interface CompiledRoute {
  route: Route;
  pattern: RegExp;
  names: string[];
  /**
   * The methods it answers. HEAD is GET without the body (RFC 9110 9.3.2: monitors and link
   * checkers send it), except on a GET that writes: HEAD must change nothing.
   */
  methods: string[];
}

function compile(route: Route): CompiledRoute {
  const names: string[] = [];
  const source = route.path
    .split('/')
    .map((segment) => {
      if (segment === '*') {
        names.push('*');
        return '(.+)';
      }
      if (!segment.startsWith(':')) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      names.push(segment.slice(1));
      return '([^/]+)';
    })
    .join('/');
  const methods = route.method !== 'GET' ? [route.method] : route.writes === true ? ['GET'] : ['GET', 'HEAD'];
  return { route, pattern: new RegExp(`^${source}$`), names, methods };
}

const ALL_ROUTES: Route[] = [...sessionRoutes, ...sessionsRoutes, ...passkeyRoutes, ...recoveryRoutes, ...oauthRoutes, ...adminRoutes, ...tokenRoutes];

/** One CSRF event per client IP per minute at most: a flood of refusals must not flood the log. */
function createCsrfEventThrottle(): (ip: string, now: number) => boolean {
  const last = new Map<string, number>();
  return (ip, now) => {
    const previous = last.get(ip);
    if (previous !== undefined && now - previous < 60_000) return false;
    if (last.size > 10_000) last.clear();
    last.set(ip, now);
    return true;
  };
}

/** The whole HTTP API as `Request -> Response`, so any framework can mount it. */
export function createHandler(core: Core): Handler {
  const kit = core.config.ui === null ? null : createPageKit(core, core.config.ui);
  const routes = [...ALL_ROUTES, ...(kit === null ? [] : uiRoutes(kit))].map(compile);
  const { basePath } = core.config;
  const shouldLogCsrf = createCsrfEventThrottle();

  const { metrics } = core;
  const measured = metrics !== NO_METRICS;

  const handle = async (request: Request, context: RequestContext, matched: { route: string }): Promise<Response> => {
    let ctx: ReturnType<typeof createRouteContext> | undefined;
    let page = false;
    try {
      const url = new URL(request.url);
      if (!url.pathname.startsWith(`${basePath}/`)) throw new NotFoundError();
      const path = url.pathname.slice(basePath.length);
      const allowed: string[] = [];
      let match: { compiled: CompiledRoute; values: string[] } | undefined;
      for (const compiled of routes) {
        const m = compiled.pattern.exec(path);
        if (m === null) continue;
        const methods = compiled.methods;
        if (!methods.includes(request.method)) {
          allowed.push(...methods);
          continue;
        }
        match = { compiled, values: m.slice(1) };
        break;
      }
      if (match === undefined) {
        // Several routes can match one path (/oauth/providers is also /oauth/:provider): each method once.
        if (allowed.length > 0) throw new MethodNotAllowedError([...new Set(allowed)]);
        throw new NotFoundError();
      }
      matched.route = match.compiled.route.path;
      page = match.compiled.route.page === true;
      const params: Record<string, string> = {};
      match.compiled.names.forEach((name, i) => {
        params[name] = match.values[i] ?? '';
      });
      ctx = createRouteContext(core, request, url, params, context.ip);
      // %00 decodes to NUL: no parameter takes one, and PostgreSQL refuses it in text (a 503 otherwise).
      if (url.search.includes('%00')) throw new BadRequestError('VALIDATION_FAILED', 'The query string contains a NUL character (%00), which no parameter accepts.');
      // CSRF first: a refused request touches nothing, not even the rate-limit counters.
      checkCsrf(request, { origins: core.config.origins, allowSameSite: core.config.allowSameSite });
      const { limit } = match.compiled.route;
      if (limit !== null) await (await core.limiter()).consume(limit, ipKey(ctx.ip));
      return await match.compiled.route.run(ctx);
    } catch (error) {
      if (error instanceof CsrfError) metrics.csrfRefused();
      if (error instanceof CsrfError && ctx !== undefined && shouldLogCsrf(ctx.ip ?? 'unknown', core.config.now())) {
        core.audit.recordInBackground('csrf.refused', {
          ip: ctx.ip,
          userAgent: ctx.userAgent,
          data: { reason: error.reason, method: request.method, path: ctx.url.pathname },
        });
      }
      const logger = withRequestId(core.config.logger, context.requestId);
      if (page && kit !== null) return kit.errorPage(error, logger);
      return toErrorResponse(error, logger);
    }
  };

  /** The GET answer without its body, for HEAD. */
  const headOrGet = async (request: Request, context: RequestContext, matched: { route: string }): Promise<Response> => {
    const response = await handle(request, context, matched);
    if (request.method !== 'HEAD') return response;
    await response.body?.cancel();
    return new Response(null, { status: response.status, statusText: response.statusText, headers: response.headers });
  };

  if (!measured) return (request, context = {}) => headOrGet(request, context, { route: '' });
  return async (request, context = {}) => {
    const started = performance.now();
    // Route TEMPLATES only (`/passkeys/:id`): a label per id would grow without bound.
    const matched = { route: 'unmatched' };
    const response = await headOrGet(request, context, matched);
    metrics.request(matched.route, request.method, response.status, (performance.now() - started) / 1000);
    return response;
  };
}
