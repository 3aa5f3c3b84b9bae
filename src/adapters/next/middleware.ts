/**
 * gatehouse/next/middleware: a sign-in gate for Next's `middleware.ts` / `proxy.ts` that runs in
 * the edge runtime. It imports no Node API, no database and no other Gatehouse module (a test
 * reads this file's imports), so the edge bundle stays small and builds.
 *
 * It is a redirect for people, not the security check:
 * - database sessions (default): the edge cannot open the database, so only the PRESENCE of the
 *   session cookie is checked. A missing cookie redirects to the sign-in page; a present one may
 *   still be expired or revoked, which `getSession()` / `requirePermission()` on the server
 *   decide on every request. Keep those checks in your pages and actions.
 * - JWT mode: pass `verify`, a function that checks the access token's signature and claims
 *   (wire it to Gatehouse's `verifyAccessToken` with your JWKS). Without a valid token the
 *   request is redirected too.
 *
 * ```ts
 * // proxy.ts (Next 16) or middleware.ts
 * import { createAuthMiddleware } from 'gatehouse/next/middleware';
 * const gate = createAuthMiddleware({ protect: ['/dashboard', '/account'] });
 * export default (request: Request) => gate(request);
 * export const config = { matcher: ['/dashboard/:path*', '/account/:path*'] };
 * ```
 */

/** Same names as the server's (src/http/cookies.ts); repeated so this file imports nothing. */
const SESSION_COOKIE = '__Host-gatehouse-session';
const ACCESS_COOKIE = '__Host-gatehouse-access';

export interface AuthMiddlewareOptions {
  /** Paths that need a signed-in user: path prefixes (`'/account'` covers `/account/...`) or a predicate. */
  protect: readonly string[] | ((pathname: string) => boolean);
  /** Where signed-out people go. Default `/sign-in`. The page they wanted is passed as `?next=/path`. */
  signInPath?: string;
  /**
   * JWT mode: verifies the access token from `__Host-gatehouse-access` and resolves with its
   * claims, or rejects. Must be edge-safe (e.g. jose with a JWKS URL).
   */
  verify?: (token: string) => Promise<unknown>;
}

/** The middleware: resolves with a redirect for a signed-out request to a protected path, or `undefined` to go on. */
export type AuthMiddleware = (request: Request) => Promise<Response | undefined>;

function readCookie(header: string | null, name: string): string | null {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

function matcher(protect: AuthMiddlewareOptions['protect']): (pathname: string) => boolean {
  if (typeof protect === 'function') return protect;
  // '/account' and '/account/' both mean the page and everything under it, not '/accounting'.
  const prefixes = protect.map((prefix) => prefix.replace(/\/+$/, ''));
  return (pathname) => prefixes.some((prefix) => pathname === prefix || pathname.startsWith(`${prefix}/`));
}

/** Builds the sign-in gate. */
export function createAuthMiddleware(options: AuthMiddlewareOptions): AuthMiddleware {
  const isProtected = matcher(options.protect);
  const signInPath = options.signInPath ?? '/sign-in';
  const { verify } = options;

  const signedIn = async (cookieHeader: string | null): Promise<boolean> => {
    if (verify === undefined) {
      const token = readCookie(cookieHeader, SESSION_COOKIE);
      return token !== null && token !== '';
    }
    const token = readCookie(cookieHeader, ACCESS_COOKIE);
    if (token === null || token === '') return false;
    try {
      await verify(token);
      return true;
    } catch {
      return false; // expired, forged or unverifiable: the server decides again after sign-in
    }
  };

  return async (request) => {
    const url = new URL(request.url);
    if (!isProtected(url.pathname) || (await signedIn(request.headers.get('cookie')))) return undefined;
    // Same origin as the request: Next turns the Location into a relative one.
    const target = new URL(signInPath, url);
    target.searchParams.set('next', `${url.pathname}${url.search}`);
    return new Response(null, { status: 307, headers: { location: target.toString(), 'cache-control': 'no-store' } });
  };
}
