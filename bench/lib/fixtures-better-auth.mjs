// The Better Auth database for target (e): its own schema (getMigrations), users signed up
// through its API, and sessions created by its own internal adapter, so every row is its format.
import { createHmac } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { betterAuth } from 'better-auth';
import { getMigrations } from 'better-auth/db/migration';
import { DATA_DIR, progress } from './config.mjs';
import { applySqlitePragmas } from './fixtures-gatehouse.mjs';

export const BETTER_AUTH_FILE = join(DATA_DIR, 'better-auth.db');
const PASSWORD = 'correct horse battery staple';

/**
 * The one Better Auth configuration used for setup and for the server: defaults plus
 * email+password. No cookie cache (the default), so every getSession reads the database.
 */
export function createBetterAuth(file, secret) {
  const database = new BetterSqlite3(file);
  applySqlitePragmas(database);
  const options = {
    database,
    baseURL: 'http://localhost:3000',
    secret,
    emailAndPassword: { enabled: true },
  };
  if (options.session?.cookieCache?.enabled) throw new Error('the bench must run Better Auth without the cookie cache');
  return { auth: betterAuth(options), options, database };
}

/**
 * Better Auth signs its session cookie as `token.base64(HMAC-SHA256(secret, token))`,
 * URL-encoded (better-call's signCookieValue). Every cookie made here is then checked
 * through auth.api.getSession, so a format change fails the setup instead of the numbers.
 */
function signedCookie(name, token, secret) {
  const signature = createHmac('sha256', secret).update(token).digest('base64');
  return `${name}=${encodeURIComponent(`${token}.${signature}`)}`;
}

function removeSqlite(file) {
  for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true });
}

export async function createBetterAuthSqlite({ rows, pool, users, secret }) {
  mkdirSync(DATA_DIR, { recursive: true });
  removeSqlite(BETTER_AUTH_FILE);
  const { auth, options, database } = createBetterAuth(BETTER_AUTH_FILE, secret);
  try {
    const { runMigrations } = await getMigrations(options);
    await runMigrations();

    // Sign-up hashes the password with scrypt (about 0.5-1 s each here), so only a few users.
    const started = Date.now();
    const userIds = [];
    let apiCookie = null;
    for (let i = 0; i < users; i++) {
      const { headers, response } = await auth.api.signUpEmail({
        body: { email: `bench-${i}@example.com`, password: PASSWORD, name: `Bench ${i}` },
        returnHeaders: true,
      });
      userIds.push(response.user.id);
      apiCookie ??= headers.getSetCookie()[0].split(';')[0];
    }
    progress(`  better-auth: ${users} users signed up through the API in ${((Date.now() - started) / 1000).toFixed(1)}s`);

    const context = await auth.$context;
    const cookieName = context.authCookies.sessionToken.name;
    const tokens = [{ cookie: apiCookie, userId: userIds[0] }];
    const extra = rows - users; // each sign-up already created one session
    const stride = Math.floor(extra / Math.max(1, pool - 1));
    const reportEvery = Math.max(2000, Math.ceil(extra / 5));
    for (let i = 0; i < extra; i++) {
      const userId = userIds[i % userIds.length];
      const session = await context.internalAdapter.createSession(userId);
      if (i % stride === 0 && tokens.length < pool) tokens.push({ cookie: signedCookie(cookieName, session.token, secret), userId });
      if ((i + 1) % reportEvery === 0) progress(`  better-auth: ${(i + 1 + users).toLocaleString('en')} / ${rows.toLocaleString('en')} sessions`);
    }
    progress(`  better-auth: verifying ${tokens.length} cookies through auth.api.getSession`);
    for (const { cookie, userId } of tokens) {
      const result = await auth.api.getSession({ headers: new Headers({ cookie }) });
      if (result?.user.id !== userId) throw new Error('a bench session cookie did not authenticate through Better Auth');
    }
    database.pragma('wal_checkpoint(TRUNCATE)');
    return { name: 'better-auth', file: BETTER_AUTH_FILE, tokens, userIds, cleanup: async () => removeSqlite(BETTER_AUTH_FILE) };
  } finally {
    database.close();
  }
}
