// Session rows in Gatehouse's own format, for bulk loading: the token is `<id>.<secret>`
// (16 and 32 random bytes, base64url) and the row keeps only SHA-256(secret), exactly as
// src/sessions/session-token.ts mints them. Every row gets a fresh random id and secret.
import { createHash, randomBytes } from 'node:crypto';

const HOUR = 3600_000;
const DAY = 24 * HOUR;
const USER_AGENT = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36';
const CHUNK = 4096;

/**
 * Yields `rows` session rows spread over `userIds`. `pool` of them, evenly spaced through the
 * insertion order, also carry their plain token (`row.token`) so the bench can present them.
 * Pool rows were just used (no touch due); the rest look like a live table: created in the last
 * 20 days, last seen in the last 6, none expired.
 */
export function* sessionRows({ rows, pool, userIds, now }) {
  const stride = Math.floor(rows / pool);
  let bytes = Buffer.alloc(0);
  for (let i = 0; i < rows; i++) {
    const offset = (i % CHUNK) * 48;
    if (offset === 0) bytes = randomBytes(CHUNK * 48);
    const id = bytes.subarray(offset, offset + 16).toString('base64url');
    const secret = bytes.subarray(offset + 16, offset + 48).toString('base64url');
    const inPool = i % stride === 0 && i / stride < pool;
    const createdAt = now - Math.floor(Math.random() * 20 * DAY);
    const lastSeenAt = inPool ? now : Math.max(createdAt, now - Math.floor(Math.random() * 6 * DAY));
    const absoluteExpiresAt = createdAt + 30 * DAY;
    yield {
      id,
      user_id: userIds[i % userIds.length],
      secret_hash: createHash('sha256').update(secret, 'utf8').digest('base64url'),
      created_at: createdAt,
      last_seen_at: lastSeenAt,
      expires_at: Math.min(lastSeenAt + 7 * DAY, absoluteExpiresAt),
      absolute_expires_at: absoluteExpiresAt,
      auth_time: createdAt,
      amr: 'passkey',
      ip: `203.0.113.${i % 250}`,
      user_agent: USER_AGENT,
      token: inPool ? `${id}.${secret}` : null,
    };
  }
}

export const SESSION_COLUMNS = [
  'id',
  'user_id',
  'secret_hash',
  'created_at',
  'last_seen_at',
  'expires_at',
  'absolute_expires_at',
  'auth_time',
  'amr',
  'ip',
  'user_agent',
];
