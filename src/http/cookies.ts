/**
 * Cookies that carry tokens. The session cookie uses the `__Host-` prefix, so browsers
 * only accept it with Secure, Path=/ and no Domain (RFC 6265bis 4.1.3.2, COOK-01): a
 * sibling subdomain cannot plant or overwrite it. HttpOnly keeps it away from page
 * scripts (COOK-02); SameSite=Lax is defence in depth, CSRF checks do the real work (COOK-03).
 */
export const SESSION_COOKIE = '__Host-gatehouse-session';

/**
 * Reads one cookie by exact, case-sensitive name (COOK-05). When a name appears more than
 * once, the first occurrence wins: browsers list the most specific path first, and a
 * `__Host-` cookie can only have Path=/, so this is deterministic.
 */
export function readCookie(header: string | null, name: string): string | null {
  if (header === null || header === '') return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

/**
 * Reads a cookie that must appear at most once: null when it is missing OR repeated. For a
 * `__Secure-` cookie (the refresh token, whose Path is its route, so it cannot be `__Host-`): a
 * sibling subdomain can plant one with a Domain attribute, and browsers send the older one
 * first. With two of them, neither is trusted (COOK-05).
 */
export function readUniqueCookie(header: string | null, name: string): string | null {
  if (header === null || header === '') return null;
  let found: string | null = null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1 || part.slice(0, eq).trim() !== name) continue;
    if (found !== null) return null;
    found = part.slice(eq + 1).trim();
  }
  return found;
}

/** Set-Cookie for a session token. Max-Age never exceeds the session's remaining lifetime (COOK-06). */
export function sessionCookie(token: string, maxAgeSeconds: number): string {
  const maxAge = Math.max(0, Math.floor(maxAgeSeconds));
  return `${SESSION_COOKIE}=${token}; Path=/; Max-Age=${maxAge}; HttpOnly; Secure; SameSite=Lax`;
}

/** Set-Cookie that removes the session cookie. */
export function clearedSessionCookie(): string {
  return `${SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax`;
}
