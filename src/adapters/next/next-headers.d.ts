/**
 * The one function of Next.js that gatehouse/next calls: `headers()` from `next/headers.js`
 * (async since Next 15). `next` is an optional peer dependency, not installed in this
 * repository, so this ambient declaration stands in for its types. Nothing here is emitted.
 */
declare module 'next/headers.js' {
  /** The incoming request's headers, read-only. */
  export function headers(): Promise<Headers>;
}
