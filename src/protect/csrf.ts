import { CsrfError } from '../errors.js';

export interface CsrfPolicy {
  origins: readonly string[];
  allowSameSite: boolean;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function isSafeMethod(method: string): boolean {
  return SAFE_METHODS.has(method);
}

/**
 * Refuses cross-site state changes (CSRF-03/04). Browsers send Fetch Metadata
 * (`Sec-Fetch-Site`) on every request and a page cannot forge it, so when it is present
 * it decides. Older clients fall back to an exact match of Origin, then Referer, against
 * the configured origins; a request with none of the three is refused, because SameSite
 * alone is not enough (COOK-03). Safe methods pass: they never change state (CSRF-05).
 */
export function checkCsrf(request: Request, policy: CsrfPolicy): void {
  if (isSafeMethod(request.method)) return;
  const site = request.headers.get('sec-fetch-site');
  const origin = request.headers.get('origin');
  if (site !== null) {
    if (site === 'same-origin') return;
    if (site === 'same-site' && policy.allowSameSite && origin !== null && policy.origins.includes(origin)) return;
    // "cross-site", "same-site" (not allowed), and "none" (a user-typed navigation never POSTs).
    throw new CsrfError(`sec-fetch-site: ${site.slice(0, 32)}`);
  }
  if (origin !== null) {
    // "null" (sandboxed frames, some redirects) is never in the list.
    if (policy.origins.includes(origin)) return;
    throw new CsrfError('origin mismatch');
  }
  const referer = request.headers.get('referer');
  if (referer !== null) {
    let refererOrigin: string | null;
    try {
      refererOrigin = new URL(referer).origin;
    } catch {
      refererOrigin = null;
    }
    if (refererOrigin !== null && policy.origins.includes(refererOrigin)) return;
    throw new CsrfError('referer mismatch');
  }
  throw new CsrfError('no origin');
}
