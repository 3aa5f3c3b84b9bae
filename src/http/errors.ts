import { AuthError, MethodNotAllowedError, RateLimitedError } from '../errors.js';
import type { GatehouseLogger } from '../config/options.js';

/** The one JSON error shape: `{ "error": { "code", "message" } }`. */
export interface ErrorBody {
  error: { code: string; message: string };
}

export const NO_STORE = 'no-store';

/**
 * The single place where failures become HTTP responses. An AuthError keeps its status
 * and code; anything else is a 500 with a generic message: no stack, SQL, library text,
 * path or token ever reaches the client (ERR-01). The details go to the server log only.
 */
export function toErrorResponse(error: unknown, logger?: GatehouseLogger, extraHeaders?: Headers): Response {
  const headers = new Headers(extraHeaders);
  headers.set('content-type', 'application/json; charset=utf-8');
  headers.set('cache-control', NO_STORE);
  if (error instanceof AuthError) {
    if (error instanceof RateLimitedError) headers.set('retry-after', String(error.retryAfterSeconds));
    if (error instanceof MethodNotAllowedError) headers.set('allow', error.allow.join(', '));
    if (error.status >= 500) {
      const cause = error.cause instanceof Error ? error.cause.message : undefined;
      logger?.error(`${error.code}: ${error.message}`, cause === undefined ? undefined : { cause });
    }
    const body: ErrorBody = { error: { code: error.code, message: error.message } };
    return new Response(JSON.stringify(body), { status: error.status, headers });
  }
  logger?.error('unexpected error', { error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  const body: ErrorBody = { error: { code: 'INTERNAL_ERROR', message: 'Something went wrong on our side. Try again later.' } };
  return new Response(JSON.stringify(body), { status: 500, headers });
}

/** A JSON response that no cache may keep (SESS-11). A `Headers` passed in is completed and used, not copied. */
export function json(body: unknown, status = 200, headers?: HeadersInit): Response {
  const h = headers instanceof Headers ? headers : new Headers(headers);
  h.set('content-type', 'application/json; charset=utf-8');
  h.set('cache-control', NO_STORE);
  return new Response(JSON.stringify(body), { status, headers: h });
}

export function noContent(headers?: HeadersInit): Response {
  const h = new Headers(headers);
  h.set('cache-control', NO_STORE);
  return new Response(null, { status: 204, headers: h });
}
