import type { JwtOptions } from '../config/options.js';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Gatehouse } from '../gatehouse.js';
import { DEFAULT_DATABASE_URL, type Database } from '../storage/database.js';
import type { Authz } from '../authz/index.js';

/** A CLI mistake: printed as-is with a hint, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface CliConfig {
  databaseUrl: string;
  authz?: Authz;
  /**
   * JWT mode, so revocations reach running instances and `keys rotate` can work. From the config
   * file it takes the app's whole `jwt` options: `keys rotate` must use the app's `algorithm`,
   * `accessTokenTtlSeconds` and `leewaySeconds` (the new key's type, the old key's retirement).
   */
  jwt?: JwtOptions & { secret: string };
  /**
   * The servers' Redis (REDIS_URL). Servers with Redis hear revocations (a disable, a role
   * change, sessions ended) only through it: without it they would notice a change made here at
   * their next reload, up to 30 s later, instead of at once (SESS-09).
   */
  redis?: string;
}

/** Looked for in this order; the TypeScript ones load where Node strips types (22.18+, 24), or through tsx. */
const CONFIG_FILES = ['gatehouse.config.js', 'gatehouse.config.mjs', 'gatehouse.config.ts', 'gatehouse.config.mts'];

/**
 * Settings come from flags, then the environment (DATABASE_URL), then an optional
 * gatehouse.config.{js,mjs,ts,mts} in the current folder whose default export may hold
 * `authz` (your roles) and `databaseUrl`.
 */
export async function loadCliConfig(flags: { 'database-url'?: string; config?: string }, { revokes = false }: { revokes?: boolean } = {}): Promise<CliConfig> {
  const file = flags.config ?? CONFIG_FILES.find((f) => existsSync(resolve(f)));
  let fromFile: Partial<CliConfig> = {};
  if (file !== undefined) {
    const path = resolve(file);
    if (!existsSync(path)) throw new UsageError(`--config ${file}: no such file.`);
    let mod: { default?: Partial<CliConfig> };
    try {
      mod = (await import(pathToFileURL(path).href)) as { default?: Partial<CliConfig> };
    } catch (error) {
      if (typeof error === 'object' && error !== null && 'code' in error && error.code === 'ERR_UNKNOWN_FILE_EXTENSION') {
        throw new UsageError(
          `${file}: Node.js ${process.version} cannot load TypeScript by itself. Write the config as gatehouse.config.mjs, or run the CLI through a loader: npx tsx node_modules/gatehouse/dist/src/cli/main.js <command> --config ${file}`,
        );
      }
      throw error;
    }
    fromFile = mod.default ?? {};
  }
  // JWT mode: GATEHOUSE_SESSION_STRATEGY=jwt + GATEHOUSE_JWT_SECRET (+ REDIS_URL for the feed), or `jwt` in the config file.
  const secret = process.env.GATEHOUSE_JWT_SECRET;
  const wantsJwt = process.env.GATEHOUSE_SESSION_STRATEGY === 'jwt' || Boolean(process.env.GATEHOUSE_JWT_CHANNEL);
  // Only for commands that revoke: `migrate` in a release step without runtime secrets, `users list`, `events` need no JWT mode.
  if (revokes && wantsJwt && (process.env.GATEHOUSE_SESSION_STRATEGY !== 'jwt' || !secret) && fromFile.jwt === undefined) {
    // Run in database mode, the CLI would publish on the default channel, with revocations that
    // live only as long as a session-cache entry: JWT-mode servers would miss them or, minutes
    // later, accept the revoked access tokens again.
    throw new UsageError(
      'JWT-mode servers need the CLI in JWT mode too: set GATEHOUSE_SESSION_STRATEGY=jwt and GATEHOUSE_JWT_SECRET (the servers\' secret), and GATEHOUSE_JWT_CHANNEL if the servers set jwt.channel; or put the app\'s `jwt` options in the config file.',
    );
  }
  const fromEnv = process.env.GATEHOUSE_SESSION_STRATEGY === 'jwt' && secret !== undefined && secret !== '' ? { secret, redis: process.env.REDIS_URL || undefined, channel: process.env.GATEHOUSE_JWT_CHANNEL || undefined } : undefined;
  const redis = process.env.REDIS_URL || fromFile.redis;
  return {
    databaseUrl: flags['database-url'] ?? process.env.DATABASE_URL ?? fromFile.databaseUrl ?? DEFAULT_DATABASE_URL,
    authz: fromFile.authz,
    jwt: fromEnv ?? fromFile.jwt,
    ...(redis ? { redis } : {}),
  };
}

/** Opens the database and a Gatehouse instance for one command, and closes both after. */
export async function withGatehouse<T>(config: CliConfig, run: (auth: Gatehouse, database: Database) => Promise<T>): Promise<T> {
  // Loaded here, not at the top: `--help` and usage errors answer without loading the library.
  const [{ createGatehouse }, { openDatabase }] = await Promise.all([import('../gatehouse.js'), import('../storage/database.js')]);
  const database = await openDatabase(config.databaseUrl);
  try {
    const auth = createGatehouse({
      database,
      // Never served: no request reaches the CLI. Not a localhost origin, which a production
      // environment (NODE_ENV=production) would warn about on every command.
      origin: 'https://gatehouse-cli.invalid',
      ...(config.authz ? { authz: config.authz } : {}),
      ...(config.jwt ? { session: { strategy: 'jwt' as const }, jwt: { ...config.jwt, redis: config.jwt.redis ?? config.redis } } : {}),
      // The revocation feed of database mode goes through the rate limiter's Redis, as on the servers.
      ...(config.redis ? { rateLimit: { redis: config.redis } } : {}),
    });
    try {
      return await run(auth, database);
    } finally {
      await auth.close();
    }
  } finally {
    await database.close();
  }
}

export function table(rows: Record<string, unknown>[], columns: string[]): string {
  if (rows.length === 0) return '(none)';
  const cells = rows.map((r) => columns.map((c) => (r[c] === null || r[c] === undefined ? '' : String(r[c]))));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)));
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(columns), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

/**
 * Every value of a repeatable option, comma lists split (`--name A --name B,C` -> A, B, C). The
 * option parser keeps only the last value of a repeated option, so the raw arguments are read.
 */
export function repeatedOption(argv: readonly string[], name: string): string[] {
  const values: string[] = [];
  argv.forEach((arg, i) => {
    const next = argv[i + 1];
    if (arg === `--${name}` && next !== undefined) values.push(next);
    else if (arg.startsWith(`--${name}=`)) values.push(arg.slice(name.length + 3));
  });
  return values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
}
