// The JWT-mode database for targets (f) and (g): users signed in through Gatehouse in JWT
// mode, one access token per pool slot, all proven through the library before use.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { DATA_DIR, GATEHOUSE_ENTRY, progress } from './config.mjs';

const ORIGIN = 'http://localhost:3000';
const quiet = { warn: () => {}, error: () => {} };

/**
 * The JWT settings every JWT target uses. The access token lives an hour here (the loud
 * opt-out) only so a long bench run never outlives its tokens; the lifetime does not change
 * the per-request work.
 */
export function jwtOptions(secret) {
  return { session: { strategy: 'jwt' }, jwt: { secret, accessTokenTtlSeconds: 3600, dangerouslyAllowAccessTokensOver15Minutes: true } };
}

export const JWT_ISSUER = ORIGIN;

export async function createGatehouseJwtSqlite({ pool, users, secret }) {
  mkdirSync(DATA_DIR, { recursive: true });
  const file = join(DATA_DIR, 'gatehouse-jwt.db');
  const cleanup = async () => {
    for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true });
  };
  await cleanup();
  const databaseUrl = `sqlite:${file}`;
  const { createGatehouse, ACCESS_COOKIE } = await import(GATEHOUSE_ENTRY.href);
  const auth = createGatehouse({ database: databaseUrl, origin: ORIGIN, logger: quiet, ...jwtOptions(secret) });
  try {
    await auth.migrate();
    const userIds = [];
    for (let i = 0; i < users; i++) userIds.push((await auth.users.create({ email: `bench-jwt-${i}@example.com` })).id);
    const started = Date.now();
    const tokens = [];
    for (let i = 0; i < pool; i++) {
      const userId = userIds[i % userIds.length];
      const { headers } = await auth.createSession(userId, new Request(`${ORIGIN}/`), { method: 'passkey' });
      const line = headers.getSetCookie().find((c) => c.startsWith(`${ACCESS_COOKIE}=`));
      tokens.push({ cookie: line.split(';')[0], userId });
    }
    for (const { cookie, userId } of tokens) {
      const result = await auth.getSession(new Request(`${ORIGIN}/`, { headers: { cookie } }));
      if (result?.user.id !== userId) throw new Error('a bench access token did not authenticate through Gatehouse');
    }
    // The servers' forged-token check changes the last character of tokens[0]; keep one whose last
    // character is not 'A', where 'A' -> 'B' only flips unused base64url bits (plain jose accepts that).
    const first = tokens.findIndex((t) => !t.cookie.endsWith('A'));
    tokens.unshift(...tokens.splice(first, 1));
    const jwks = await auth.jwt.jwks();
    progress(`  gatehouse-jwt: ${pool.toLocaleString('en')} sessions signed in (JWT mode) in ${((Date.now() - started) / 1000).toFixed(1)}s, every token verified`);
    return { name: 'gatehouse-jwt', databaseUrl, file, tokens, userIds, jwks, cleanup };
  } finally {
    await auth.close();
  }
}
