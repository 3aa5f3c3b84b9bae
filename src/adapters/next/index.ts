/**
 * gatehouse/next: Gatehouse in a Next.js App Router app (Next 15/16).
 *
 * ```ts
 * // app/auth/[...gatehouse]/route.ts: the whole auth API
 * export const { GET, POST, PATCH, DELETE } = routeHandlers(auth);
 *
 * // lib/auth.ts: for server components, server actions and route handlers
 * export const { getSession, requireSession, requirePermission, verifyOrigin } = createNextAuth(auth);
 * ```
 *
 * This module runs on the Node.js runtime (Gatehouse opens the database). The edge-safe part,
 * for `middleware.ts` / `proxy.ts`, is `gatehouse/next/middleware`.
 *
 * `next` is an optional peer dependency: `next/headers` is imported only when a helper runs
 * without an explicit `headers` option, so the package loads without Next installed.
 */
import { ConfigurationError } from '../../errors.js';
import type { Gatehouse } from '../../gatehouse.js';
import type { SessionResult } from '../../sessions/types.js';
import type * as NextHeaders from 'next/headers.js';

type RouteHandler = (request: Request) => Promise<Response>;

export interface RouteHandlersOptions {
  /**
   * The client's IP for rate limits and the audit log. A Next route handler sees no socket,
   * and `next start` keeps an `X-Forwarded-For` the client sent, so no header is trusted by
   * default and every client shares one rate-limit bucket (limited, never unlimited). Behind
   * a proxy that overwrites the header (Vercel, most load balancers), read it here, e.g.
   * `(request) => request.headers.get('x-real-ip') ?? undefined`. See docs/adapters.md.
   */
  ip?: (request: Request) => string | undefined;
}

/**
 * The route handlers of the whole auth API, for a catch-all route at your `basePath`:
 * `app/auth/[...gatehouse]/route.ts` with `export const { GET, POST, PATCH, DELETE } = routeHandlers(auth)`.
 */
export function routeHandlers(auth: Gatehouse, options: RouteHandlersOptions = {}): Record<'GET' | 'POST' | 'PATCH' | 'DELETE', RouteHandler> {
  if (options.ip === undefined && process.env.NODE_ENV === 'production') {
    // One shared bucket: one client spending the failed-sign-in budget makes every user wait.
    auth.config.logger.warn(
      "routeHandlers(auth) has no `ip` option: Gatehouse cannot see the client's address in Next, so every client shares one rate-limit bucket and one client's failed attempts throttle everyone. Behind a proxy that sets the header, pass routeHandlers(auth, { ip: (request) => request.headers.get('x-real-ip') ?? undefined }). See docs/adapters.md.",
    );
  }
  const handle: RouteHandler = (request) => auth.handler(request, { ip: options.ip?.(request) });
  return { GET: handle, POST: handle, PATCH: handle, DELETE: handle };
}

export interface NextAuthOptions {
  /** Where the request headers come from. Default: `headers()` from `next/headers`. Tests pass their own. */
  headers?: () => Promise<Headers>;
}

export interface NextAuth {
  /** `{ user, session }` or null. For server components, server actions and route handlers. */
  getSession(): Promise<SessionResult | null>;
  /** Throws UnauthenticatedError (401) when signed out. */
  requireSession(): Promise<SessionResult>;
  /**
   * For server actions: throws UnauthenticatedError (401) when signed out and ForbiddenError
   * (403) without the permission. Catch `AuthError` to answer the form; `error.code` is stable.
   */
  requirePermission(permission: string): Promise<SessionResult>;
  /**
   * For server actions: throws CsrfError (403) unless the request came from one of the
   * configured origins. Next already compares a server action's Origin with its Host; this
   * checks it against your configuration instead, which a forged Host cannot change.
   */
  verifyOrigin(): Promise<void>;
}

async function nextHeaders(): Promise<Headers> {
  let next: typeof NextHeaders;
  try {
    // `next/headers.js`, not `next/headers`: Next has no exports map, and Node's ESM loader
    // (which loads this file when the app lists gatehouse in serverExternalPackages) adds no
    // extension. Bundlers resolve both spellings to the same file.
    next = await import('next/headers.js');
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ConfigurationError(`gatehouse/next needs the \`next\` package (or pass \`headers\` to createNextAuth). Loading next/headers failed: ${reason}`);
  }
  return next.headers();
}

/** Session helpers that read the current request through `next/headers`. */
export function createNextAuth(auth: Gatehouse, options: NextAuthOptions = {}): NextAuth {
  const readHeaders = options.headers ?? nextHeaders;
  const origin = auth.config.origins[0]!;
  // Only the headers matter to these checks; the URL is the configured origin, never the Host.
  const current = async (method = 'GET') => new Request(`${origin}/`, { method, headers: new Headers(await readHeaders()) });

  return {
    getSession: async () => auth.getSession(await current()),
    requireSession: async () => auth.requireSession(await current()),
    requirePermission: async (permission) => auth.requirePermission(await current(), permission),
    // A server action is always a POST: check it as one.
    verifyOrigin: async () => auth.verifyOrigin(await current('POST')),
  };
}
