import { hash, randomBytes, timingSafeEqual } from 'node:crypto';

/** `bytes` random bytes from the operating system's CSPRNG, base64url encoded (SESS-01). */
export function randomToken(bytes: number): string {
  return randomBytes(bytes).toString('base64url');
}

/** SHA-256 of a UTF-8 string, base64url encoded. Used to store secrets only as hashes (SESS-02). */
export function sha256(value: string): string {
  // One-shot crypto.hash (Node >= 20.12): no Hash object per call, about twice as fast on the request path.
  return hash('sha256', value, 'base64url');
}

/**
 * Whether SHA-256(value) equals a stored base64url hash, compared as bytes in constant time
 * (TIME-01). No string encoding of the fresh digest: this runs on every request.
 */
export function sha256Matches(value: string, storedHash: string): boolean {
  const presented = hash('sha256', value, 'buffer');
  const stored = Buffer.from(storedHash, 'base64url');
  return stored.length === presented.length && timingSafeEqual(presented, stored);
}
