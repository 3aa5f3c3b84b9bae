import type { LimitName } from '../../config/options.js';
import type { RouteContext } from '../context.js';

export interface Route {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** Path below the base path; `:name` segments become params. */
  path: string;
  /** The rate limit spent per client IP on every call. */
  limit: LimitName;
  run(ctx: RouteContext): Promise<Response>;
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}
