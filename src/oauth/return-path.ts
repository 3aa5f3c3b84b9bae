const PLACEHOLDER_ORIGIN = 'https://return-path.invalid';

/**
 * A post-sign-in destination: only a same-origin relative path, else `fallback` (REDIR-01).
 * Refused: absolute and scheme-relative URLs (`//evil`, `/\evil`), backslashes, control
 * characters, encoded slashes/backslashes (which some servers decode into `//`), userinfo,
 * `javascript:` and anything that resolves outside this origin.
 */
export function safeReturnPath(value: string | null | undefined, fallback = '/'): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 512) return fallback;
  if (!value.startsWith('/') || value.startsWith('//')) return fallback;
  // eslint-disable-next-line no-control-regex
  if (/[\\\u0000-\u001f\u007f]/.test(value) || /%(2f|5c|00)/i.test(value)) return fallback;
  let url: URL;
  try {
    url = new URL(value, PLACEHOLDER_ORIGIN);
  } catch {
    return fallback;
  }
  if (url.origin !== PLACEHOLDER_ORIGIN || url.username !== '' || url.password !== '') return fallback;
  // Dot segments can collapse into `//host` ("/..//evil"): check what comes out, not only what went in.
  const path = `${url.pathname}${url.search}${url.hash}`;
  return path.startsWith('//') ? fallback : path;
}
