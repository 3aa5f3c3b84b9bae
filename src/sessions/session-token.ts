import { randomBytes } from 'node:crypto';
import { sha256, sha256Matches } from '../lib/crypto.js';

/**
 * A session token is `<id>.<secret>`: a 128-bit random id (the row's primary key) and a
 * 256-bit random secret, both from the CSPRNG and carrying no user data (SESS-01). The
 * database keeps only SHA-256(secret) (SESS-02), so a leaked table row does not sign anyone in.
 */
export interface MintedSessionToken {
  id: string;
  token: string;
  secretHash: string;
}

const ID_BYTES = 16;
const SECRET_BYTES = 32;
const TOKEN_PATTERN = /^([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;

export function mintSessionToken(): MintedSessionToken {
  // One read from the CSPRNG, split into two disjoint parts: the id and the secret share no bytes.
  const bytes = randomBytes(ID_BYTES + SECRET_BYTES);
  const id = bytes.toString('base64url', 0, ID_BYTES);
  const secret = bytes.toString('base64url', ID_BYTES);
  return { id, token: `${id}.${secret}`, secretHash: sha256(secret) };
}

/** Splits a presented token; anything not shaped exactly like one we mint is null. */
export function parseSessionToken(token: string): { id: string; secret: string } | null {
  const match = TOKEN_PATTERN.exec(token);
  if (match === null) return null;
  return { id: match[1]!, secret: match[2]! };
}

/** Compares the presented secret with the stored hash in constant time (TIME-01). */
export function secretMatches(secret: string, storedHash: string): boolean {
  return sha256Matches(secret, storedHash);
}
