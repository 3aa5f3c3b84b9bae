import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** `bytes` random bytes from the operating system's CSPRNG, base64url encoded (SESS-01). */
export function randomToken(bytes: number): string {
  return randomBytes(bytes).toString('base64url');
}

/** SHA-256 of a UTF-8 string, base64url encoded. Used to store secrets only as hashes (SESS-02). */
export function sha256(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('base64url');
}

/** Constant-time comparison of two strings, so timing does not leak how many bytes matched (TIME-01). */
export function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  if (left.length !== right.length) return false;
  return timingSafeEqual(left, right);
}
