import type { IssuedTokens } from '../jwt/jwt-mode.js';

/**
 * JWT mode's cookies. The access JWT rides in a `__Host-` cookie like the database
 * session (COOK-01/02). The refresh token rides in a `__Secure-` cookie whose Path is the
 * refresh endpoint only, so the browser sends it nowhere else (COOK-04); SameSite=Strict,
 * since only same-site fetches ever refresh. A third cookie, with no secret in it, says a
 * refresh family exists: a request whose access cookie the browser already dropped then
 * gets ACCESS_TOKEN_EXPIRED (refresh and retry) instead of UNAUTHENTICATED. Its value is the
 * browser marker (session id + server HMAC), so a sign-in can end this browser's previous
 * family even after the access cookie expired (SESS-03); it authenticates nothing. Every
 * Max-Age ends with its token (COOK-06).
 */
export const ACCESS_COOKIE = '__Host-gatehouse-access';
export const REFRESH_COOKIE = '__Secure-gatehouse-refresh';
export const REFRESHABLE_COOKIE = '__Host-gatehouse-refreshable';

const seconds = (ms: number): number => Math.max(0, Math.floor(ms / 1000));

export function refreshPath(basePath: string): string {
  return `${basePath}/token/refresh`;
}

export function jwtCookies(tokens: IssuedTokens, basePath: string, now: number): string[] {
  const family = seconds(tokens.refreshExpiresAt - now);
  return [
    `${ACCESS_COOKIE}=${tokens.accessToken}; Path=/; Max-Age=${seconds(tokens.accessExpiresAt - now)}; HttpOnly; Secure; SameSite=Lax`,
    `${REFRESH_COOKIE}=${tokens.refreshToken}; Path=${refreshPath(basePath)}; Max-Age=${family}; HttpOnly; Secure; SameSite=Strict`,
    `${REFRESHABLE_COOKIE}=${tokens.marker}; Path=/; Max-Age=${family}; HttpOnly; Secure; SameSite=Lax`,
  ];
}

export function clearedJwtCookies(basePath: string): string[] {
  return [
    `${ACCESS_COOKIE}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax`,
    `${REFRESH_COOKIE}=; Path=${refreshPath(basePath)}; Max-Age=0; HttpOnly; Secure; SameSite=Strict`,
    `${REFRESHABLE_COOKIE}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax`,
  ];
}
