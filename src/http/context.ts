import type { Core } from '../core.js';
import { ForbiddenError, ReauthenticationRequiredError, UnauthenticatedError } from '../errors.js';
import type { SessionWithUser } from '../storage/contract.js';
import { readCookie, SESSION_COOKIE } from './cookies.js';
import { authenticateCookies } from './session-cookies.js';

/** What a route knows about the request it serves. The session is looked up at most once. */
export interface RouteContext {
  core: Core;
  request: Request;
  url: URL;
  params: Readonly<Record<string, string>>;
  /** The client IP (see protect/client-ip.ts), or null when the adapter passed none. */
  ip: string | null;
  userAgent: string | null;
  /** The session cookie's value, if the browser sent one. */
  token: string | null;
  current(): Promise<SessionWithUser | null>;
  /** 401 unless signed in. */
  requireSession(): Promise<SessionWithUser>;
  /** 401 unless signed in, 403 unless the session's role has the permission (AUTHZ-01/04). */
  requirePermission(permission: string): Promise<SessionWithUser>;
  /** 403 REAUTHENTICATION_REQUIRED unless the user signed in recently (SESS-10). */
  requireFresh(found: SessionWithUser, maxAgeSeconds?: number): void;
}

export function assertFresh(authTime: number, maxAgeSeconds: number, now: number): void {
  if (now - authTime > maxAgeSeconds * 1000) throw new ReauthenticationRequiredError(maxAgeSeconds);
}

export function createRouteContext(
  core: Core,
  request: Request,
  url: URL,
  params: Record<string, string>,
  socketIp: string | undefined,
): RouteContext {
  const token = readCookie(request.headers.get('cookie'), SESSION_COOKIE);
  let lookup: ReturnType<typeof authenticateCookies> | undefined;
  const authenticate = () => (lookup ??= authenticateCookies(core, request.headers.get('cookie')));
  const current = async (): Promise<SessionWithUser | null> => (await authenticate()).found;
  const requireSession = async (): Promise<SessionWithUser> => {
    const { found, error } = await authenticate();
    // JWT mode says why (ACCESS_TOKEN_EXPIRED: refresh and retry).
    if (found === null) throw error ?? new UnauthenticatedError();
    return found;
  };
  return {
    core,
    request,
    url,
    params,
    ip: core.clientIp(socketIp, request.headers),
    userAgent: request.headers.get('user-agent'),
    token,
    current,
    requireSession,
    async requirePermission(permission) {
      const found = await requireSession();
      // The role comes from the database row loaded with the session, never from the request (AUTHZ-04).
      if (!core.config.authz.can(found.user.role, permission)) throw new ForbiddenError();
      return found;
    },
    requireFresh(found, maxAgeSeconds = core.config.freshAgeSeconds) {
      assertFresh(found.session.authTime, maxAgeSeconds, core.config.now());
    },
  };
}
