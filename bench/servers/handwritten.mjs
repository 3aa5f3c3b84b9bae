// Target (b), the practical limit: the least work a correct database-session check can do,
// written by hand with nothing in between. Cookie -> token shape -> ONE indexed lookup (the
// session joined with its user, on primary keys) -> SHA-256 of the secret compared in
// constant time -> expiry and disabled checks. Same token format and tables as Gatehouse.
import { createHash, timingSafeEqual } from 'node:crypto';
import BetterSqlite3 from 'better-sqlite3';
import { applySqlitePragmas } from '../lib/fixtures-gatehouse.mjs';

const COOKIE = '__Host-gatehouse-session';
const TOKEN = /^([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;

export function createHandwrittenCheck(file) {
  const db = new BetterSqlite3(file);
  applySqlitePragmas(db);
  const find = db.prepare(`SELECT s.user_id, s.secret_hash, s.expires_at, s.absolute_expires_at, u.disabled
    FROM gatehouse_sessions s JOIN gatehouse_users u ON u.id = s.user_id WHERE s.id = ?`);

  /** The signed-in user's id, or null. */
  function check(request, c) {
    let token = null;
    // The raw Cookie header the cheapest way the server offers (the same as gatehouse/hono reads it).
    const header = c?.env?.incoming?.headers?.cookie ?? request.headers.get('cookie') ?? '';
    for (const part of header.split(';')) {
      const eq = part.indexOf('=');
      if (eq !== -1 && part.slice(0, eq).trim() === COOKIE) {
        token = part.slice(eq + 1).trim();
        break;
      }
    }
    const match = token === null ? null : TOKEN.exec(token);
    if (match === null) return null;
    const row = find.get(match[1]);
    if (row === undefined) return null;
    const presented = createHash('sha256').update(match[2]).digest();
    const stored = Buffer.from(row.secret_hash, 'base64url');
    if (stored.length !== presented.length || !timingSafeEqual(presented, stored)) return null;
    const now = Date.now();
    if (now >= row.expires_at || now >= row.absolute_expires_at || row.disabled !== 0) return null;
    return row.user_id;
  }

  return { check, close: async () => db.close() };
}
