import { GatehouseClientError } from './errors.js';
import { createAuthFetch } from './refresh.js';

/** Options every helper takes. */
export interface ClientOptions {
  /** Where the Gatehouse handler is mounted. Default `/auth`. */
  basePath?: string;
  /** Aborts the request (and a running passkey dialog); the helper then throws `CANCELLED`. */
  signal?: AbortSignal;
}

export const DEFAULT_BASE_PATH = '/auth';

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Seconds from a Retry-After header: delta-seconds or an HTTP date (RFC 9110 10.2.3). */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000));
}

/** True for the DOMException (or Error) named `name`, without trusting its class. */
export function hasName(error: unknown, ...names: string[]): boolean {
  return typeof error === 'object' && error !== null && 'name' in error && typeof error.name === 'string' && names.includes(error.name);
}

/** The server's `{ error: { code, message } }` as a GatehouseClientError. */
async function errorFrom(res: Response): Promise<GatehouseClientError> {
  const body: unknown = await res.json().catch(() => null);
  const error = isRecord(body) && isRecord(body.error) ? body.error : null;
  const code = error !== null && typeof error.code === 'string' ? error.code : `HTTP_${res.status}`;
  const message = error !== null && typeof error.message === 'string' ? error.message : `The server answered ${res.status}. Try again later.`;
  const retryAfterSeconds = res.status === 429 ? parseRetryAfter(res.headers.get('retry-after')) : undefined;
  return new GatehouseClientError(code, message, { status: res.status, retryAfterSeconds });
}

/**
 * Calls the Gatehouse JSON API. Same-origin credentials only: the session lives in an
 * HttpOnly cookie that this code never reads or sends by hand (tokens never touch JS).
 * Returns the parsed JSON body, or null for 204.
 */
export async function callApi(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, options: ClientOptions & { body?: unknown } = {}): Promise<unknown> {
  const base = (options.basePath ?? DEFAULT_BASE_PATH).replace(/\/+$/, '');
  const headers: Record<string, string> = { accept: 'application/json' };
  // Every unsafe request is JSON: the server refuses other content types (CSRF-01/02).
  if (method !== 'GET') headers['content-type'] = 'application/json';
  let res: Response;
  try {
    // JWT mode: an expired access token is refreshed once and the call retried (see refresh.ts).
    res = await createAuthFetch({ basePath: base })(`${base}${path}`, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      credentials: 'same-origin',
      cache: 'no-store',
      signal: options.signal,
    });
  } catch (error) {
    if (hasName(error, 'AbortError')) throw new GatehouseClientError('CANCELLED', 'The request was cancelled.', { cause: error });
    throw new GatehouseClientError('NETWORK_ERROR', 'Could not reach the server. Check your connection and try again.', { cause: error });
  }
  if (!res.ok) throw await errorFrom(res);
  if (res.status === 204) return null;
  try {
    return (await res.json()) as unknown;
  } catch (error) {
    throw new GatehouseClientError('BAD_RESPONSE', 'The server sent an unexpected answer. Try again later.', { status: res.status, cause: error });
  }
}

export function badResponse(what: string): GatehouseClientError {
  return new GatehouseClientError('BAD_RESPONSE', `The server sent an unexpected answer (${what}). Try again later.`);
}
