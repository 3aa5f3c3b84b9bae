import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { randomToken, sha256 } from '../lib/crypto.js';

/**
 * Refresh tokens are `<id>.<secret>`: a 128-bit id and a 256-bit secret (RT-01, SESS-01),
 * carrying no user data; only SHA-256(secret) is stored (SESS-02).
 *
 * A family's first token is random. Each successor is derived with HMAC-SHA-256 from a
 * server key and the parent's id, so the server can hand the SAME successor to every
 * request that presents the parent inside the grace window (RT-04) without storing any
 * secret. Nobody without the server key can compute it.
 */
export interface MintedRefreshToken {
  id: string;
  token: string;
  secretHash: string;
}

const TOKEN_PATTERN = /^([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;

export function mintRefreshToken(): MintedRefreshToken {
  const id = randomToken(16);
  const secret = randomToken(32);
  return { id, token: `${id}.${secret}`, secretHash: sha256(secret) };
}

export function parseRefreshToken(token: string | null): { id: string; secret: string } | null {
  if (token === null) return null;
  const match = TOKEN_PATTERN.exec(token);
  return match === null ? null : { id: match[1]!, secret: match[2]! };
}

/** The key successors are derived with: HKDF of the configured secret, for this purpose only. */
export function successorKey(secret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, 'gatehouse', 'gatehouse refresh successors v1', 32));
}

export function successorOf(key: Buffer, parentId: string): MintedRefreshToken {
  const id = createHmac('sha256', key).update(`id:${parentId}`).digest().subarray(0, 16).toString('base64url');
  const secret = createHmac('sha256', key).update(`secret:${parentId}`).digest().toString('base64url');
  return { id, token: `${id}.${secret}`, secretHash: sha256(secret) };
}

/**
 * The browser marker: `<session id>.<HMAC>` in the `__Host-gatehouse-refreshable` cookie (Path=/,
 * so every sign-in route sees it, unlike the refresh cookie). It names the browser's refresh
 * family even after its access cookie expired, so a sign-in can end it (SESS-03). Nobody without
 * the server key can make one: a marker naming someone else's session cannot be forged.
 */
export function markerKey(secret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, 'gatehouse', 'gatehouse browser marker v1', 32));
}

const MARKER_PATTERN = /^([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;

export function browserMarker(key: Buffer, sessionId: string): string {
  return `${sessionId}.${createHmac('sha256', key).update(sessionId).digest('base64url')}`;
}

/** The session id an authentic marker names, else null. */
export function markedSession(key: Buffer, marker: string | null): string | null {
  if (marker === null) return null;
  const match = MARKER_PATTERN.exec(marker);
  if (match === null) return null;
  const expected = createHmac('sha256', key).update(match[1]!).digest();
  const presented = Buffer.from(match[2]!, 'base64url');
  return presented.length === expected.length && timingSafeEqual(presented, expected) ? match[1]! : null;
}
