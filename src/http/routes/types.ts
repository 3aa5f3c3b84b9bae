import type { LimitName } from '../../config/options.js';
import type { RouteContext } from '../context.js';

export interface Route {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** Path below the base path; `:name` segments become params, a final `*` the rest of the path. */
  path: string;
  /** The rate limit spent per client IP on every call; null for static files. */
  limit: LimitName | null;
  /** A built-in page (or its asset): failures answer as an HTML page, not JSON. */
  page?: true;
  /**
   * A GET that writes (an OAuth start stores a transaction, a callback takes it and signs in):
   * HEAD is refused with 405 instead of running it, so a link checker or prefetcher's HEAD
   * changes nothing.
   */
  writes?: true;
  run(ctx: RouteContext): Promise<Response>;
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}
