import { execFileSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../src/index.js';
import { createSoftwareAuthenticator, type SoftwareAuthenticator } from '../src/testing/index.js';
import { ACCESS, JWT_SECRET, REFRESH } from './jwt-helpers.js';
import { freePort, startDemo, stopDemo, type DemoInstance } from './support/demo-process.js';
import { freshPostgres, hasPostgres, hasRedis, REDIS_URL, redisPrefix } from './services.js';

/**
 * Issue #8: "revoke-all racing with refreshes and sign-ins on two instances never leaves a
 * usable token behind". Two demo processes in JWT mode share one PostgreSQL schema and one
 * Redis. One user has four devices (passkey sign-ins through the software authenticator);
 * then, split across both instances and all at once: chains of refreshes from every device
 * (some sent twice in parallel, to A and B, with the same token), new passkey sign-ins that
 * each refresh their new session, and one POST /auth/sessions/revoke-all.
 *
 * Which sessions revoke-all must end. Its DELETE is one statement: every session row
 * committed before it ran is deleted, and each deleted session gets a `gatehouse_revocations`
 * row (kind `session`) whose `at` is taken after the DELETE returned. So:
 * - the four devices' sessions (and every token derived from them by refreshes) existed
 *   before revoke-all was sent: all must be ended;
 * - a sign-in that ANSWERED before revoke-all was SENT committed before it: ended;
 * - a sign-in SENT after revoke-all ANSWERED, or whose session's `created_at` (taken before
 *   its INSERT) is later than the revocation time revoke-all recorded, committed after it: alive;
 * - a sign-in overlapping the revoke-all may go either way, but never half: a session is
 *   either ended (no session row, no refresh token row, a revocation row, every access and
 *   refresh token it ever had refused on both instances) or alive (its row, exactly one live
 *   refresh token which is the latest one handed out, and that token and the latest access
 *   token work).
 * Access tokens are checked after the documented propagation bound (docs/jwt.md: the revoking
 * call waits for its own message through the feed, at most 1 s). Five rounds, each with its
 * own user and its own moment for the revoke-all, to meet different interleavings.
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const HOST = '127.0.0.1';
const CLIENT_IP = `198.51.100.${randomInt(1, 254)}`;
const CEREMONY = '__Host-gatehouse-ceremony';
const ROUNDS = 5;
const DEVICES = 4;
const SIGN_IN_WORKERS = 3;
/** docs/jwt.md: the revoking call waits at most 1 s for its message to come back through the feed. */
const PROPAGATION_BOUND_MS = 1000;

interface Tokens {
  access: string;
  refresh: string;
  sessionId: string;
}

interface Answer {
  status: number;
  body: unknown;
  /** Set-Cookie values by name; null for a cleared cookie. */
  cookies: Map<string, string | null>;
}

/** Everything the test learned about one session (refresh family). */
interface Known {
  id: string;
  from: 'device' | 'sign-in';
  /** For sessions made by a sign-in during the race: when its verify request was sent and answered (Date.now()). */
  sentAt: number;
  answeredAt: number;
  accessTokens: string[];
  refreshTokens: string[];
  latest: Tokens;
}

interface Exchange {
  kind: 'refresh' | 'sign-in';
  from: 'device' | 'sign-in';
  instance: string;
  sentAt: number;
  answeredAt: number;
  status: number;
  detail: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function send(instance: DemoInstance, path: string, options: { method?: string; cookie?: string; json?: unknown } = {}): Promise<Answer> {
  const headers = new Headers({ 'sec-fetch-site': 'same-origin', 'x-forwarded-for': CLIENT_IP });
  if (options.cookie !== undefined) headers.set('cookie', options.cookie);
  if (options.json !== undefined) headers.set('content-type', 'application/json');
  const res = await fetch(`${instance.base}${path}`, { method: options.method ?? 'GET', headers, body: options.json === undefined ? undefined : JSON.stringify(options.json) });
  const text = await res.text();
  const cookies = new Map<string, string | null>();
  for (const line of res.headers.getSetCookie()) {
    const pair = line.split(';')[0]!;
    const eq = pair.indexOf('=');
    cookies.set(pair.slice(0, eq), /Max-Age=0/i.test(line) ? null : pair.slice(eq + 1));
  }
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body, cookies };
}

function tokensOf(answer: Answer): Tokens | null {
  const access = answer.cookies.get(ACCESS);
  const refresh = answer.cookies.get(REFRESH);
  if (typeof access !== 'string' || typeof refresh !== 'string') return null;
  const { sid } = decodeJwt(access);
  if (typeof sid !== 'string') throw new Error('an access token without sid');
  return { access, refresh, sessionId: sid };
}

describe.runIf(hasPostgres && hasRedis)('revoke-all racing with refreshes and sign-ins on two instances (PostgreSQL + Redis, JWT mode)', () => {
  let a!: DemoInstance;
  let b!: DemoInstance;
  let pgdb: Awaited<ReturnType<typeof freshPostgres>> | undefined;
  let database: Database | undefined;
  let origin = '';

  beforeAll(async () => {
    execFileSync(process.execPath, ['scripts/build.mjs', '--if-needed'], { cwd: ROOT, encoding: 'utf8', stdio: 'pipe' });
    pgdb = await freshPostgres();
    const portA = await freePort();
    let portB = await freePort();
    while (portB === portA) portB = await freePort();
    origin = `http://localhost:${portA}`;
    const env = {
      DATABASE_URL: pgdb.url,
      REDIS_URL,
      GATEHOUSE_ORIGIN: origin,
      GATEHOUSE_SESSION_STRATEGY: 'jwt',
      GATEHOUSE_JWT_SECRET: JWT_SECRET,
      GATEHOUSE_JWT_CHANNEL: `gh_${redisPrefix()}`,
      // Our client IP through the trusted proxy header; limits scaled so this measures the race, not the limiter.
      TRUSTED_PROXIES: HOST,
      RATE_LIMIT_SCALE: '1000',
      GATEHOUSE_DEV_IDP: '0',
    };
    [a, b] = await Promise.all([startDemo(portA, env), startDemo(portB, env)]);
    database = await openDatabase(pgdb.url);
  });

  afterAll(async () => {
    await Promise.all([stopDemo(a), stopDemo(b)]);
    await database?.close();
    await pgdb?.drop();
  });

  async function signUp(authenticator: SoftwareAuthenticator, email: string): Promise<Tokens> {
    const options = await send(a, '/auth/passkeys/register/options', { method: 'POST', json: { email, name: 'Race' } });
    expect(options.status).toBe(200);
    const verify = await send(b, '/auth/passkeys/register/verify', {
      method: 'POST',
      cookie: `${CEREMONY}=${options.cookies.get(CEREMONY)!}`,
      json: { response: authenticator.register(options.body as PublicKeyCredentialCreationOptionsJSON) },
    });
    expect(verify.status, JSON.stringify(verify.body)).toBe(201);
    return tokensOf(verify)!;
  }

  /** A passkey sign-in: options on one instance, verify on the other (the ceremony lives in the database). */
  async function signIn(authenticator: SoftwareAuthenticator, optionsAt: DemoInstance, verifyAt: DemoInstance): Promise<{ answer: Answer; sentAt: number; answeredAt: number }> {
    const options = await send(optionsAt, '/auth/passkeys/login/options', { method: 'POST', json: {} });
    if (options.status !== 200) throw new Error(`login/options answered ${options.status}: ${JSON.stringify(options.body)}`);
    const response = authenticator.authenticate(options.body as PublicKeyCredentialRequestOptionsJSON);
    const sentAt = Date.now();
    const answer = await send(verifyAt, '/auth/passkeys/login/verify', { method: 'POST', cookie: `${CEREMONY}=${options.cookies.get(CEREMONY)!}`, json: { response } });
    return { answer, sentAt, answeredAt: Date.now() };
  }

  const refreshAt = (instance: DemoInstance, token: string) => send(instance, '/auth/token/refresh', { method: 'POST', cookie: `${REFRESH}=${token}` });
  const sessionAt = (instance: DemoInstance, access: string) => send(instance, '/auth/session', { cookie: `${ACCESS}=${access}` }).then((r) => r.status);

  it(`never leaves a usable token behind (${ROUNDS} rounds)`, async () => {
    const rounds: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const authenticator = createSoftwareAuthenticator({ origin, zeroCounter: true, backupEligible: true });
      const email = `race-${round}-${randomBytes(4).toString('hex')}@example.com`;
      const known = new Map<string, Known>();
      const learn = (tokens: Tokens, from: Known['from'], times = { sentAt: 0, answeredAt: 0 }) => {
        let entry = known.get(tokens.sessionId);
        if (entry === undefined) {
          entry = { id: tokens.sessionId, from, ...times, accessTokens: [], refreshTokens: [], latest: tokens };
          known.set(tokens.sessionId, entry);
        }
        if (!entry.accessTokens.includes(tokens.access)) entry.accessTokens.push(tokens.access);
        if (!entry.refreshTokens.includes(tokens.refresh)) entry.refreshTokens.push(tokens.refresh);
        entry.latest = tokens;
        return entry;
      };

      // The user's devices: a passkey sign-up, then passkey sign-ins on A and B.
      const first = await signUp(authenticator, email);
      learn(first, 'device');
      for (let i = 1; i < DEVICES; i++) {
        const { answer } = await signIn(authenticator, i % 2 === 0 ? a : b, i % 2 === 0 ? b : a);
        expect(answer.status).toBe(200);
        learn(tokensOf(answer)!, 'device');
      }
      const userId = (await database!.kysely.selectFrom('gatehouse_users').select('id').where('email', '=', email).executeTakeFirstOrThrow()).id;
      const devices = [...known.values()];
      expect(devices).toHaveLength(DEVICES);

      const exchanges: Exchange[] = [];
      const revoke = { sentAt: Number.POSITIVE_INFINITY, answeredAt: Number.POSITIVE_INFINITY, status: 0 };
      const instanceName = (instance: DemoInstance) => (instance === a ? 'A' : 'B');

      /** Refreshes a session's latest token (sometimes twice in parallel, to A and B) until it ends or the race is over. */
      const refreshChain = async (entry: Known, start: number, maxSteps: number, stopAfterRevoke: number): Promise<void> => {
        let stepsAfterRevoke = 0;
        for (let step = 0; step < maxSteps; step++) {
          if (Date.now() > revoke.answeredAt && ++stepsAfterRevoke > stopAfterRevoke) return;
          const token = entry.latest.refresh;
          const first = (start + step) % 2 === 0 ? a : b;
          const targets = step % 3 === 1 ? [first, first === a ? b : a] : [first];
          const sentAt = Date.now();
          const answers = await Promise.all(targets.map((instance) => refreshAt(instance, token)));
          const answeredAt = Date.now();
          let ended = false;
          for (const [i, answer] of answers.entries()) {
            exchanges.push({ kind: 'refresh', from: entry.from, instance: instanceName(targets[i]!), sentAt, answeredAt, status: answer.status, detail: JSON.stringify(answer.body).slice(0, 200) });
            const tokens = tokensOf(answer);
            if (answer.status === 200 && tokens !== null) learn(tokens, entry.from);
            else ended = true;
          }
          if (ended) return;
        }
      };

      /** New sign-ins, each followed by two refreshes of its new session, until the race is over. */
      const signInWorker = async (worker: number): Promise<void> => {
        let afterRevoke = 0;
        for (let n = 0; n < 40; n++) {
          if (Date.now() > revoke.answeredAt && ++afterRevoke > 2) return;
          const optionsAt = (worker + n) % 2 === 0 ? a : b;
          const verifyAt = (worker + n) % 3 === 0 ? optionsAt : optionsAt === a ? b : a;
          const { answer, sentAt, answeredAt } = await signIn(authenticator, optionsAt, verifyAt);
          exchanges.push({ kind: 'sign-in', from: 'sign-in', instance: instanceName(verifyAt), sentAt, answeredAt, status: answer.status, detail: JSON.stringify(answer.body).slice(0, 200) });
          const tokens = tokensOf(answer);
          if (answer.status !== 200 || tokens === null) continue;
          await refreshChain(learn(tokens, 'sign-in', { sentAt, answeredAt }), worker + n, 2, Number.POSITIVE_INFINITY);
        }
      };

      // The revoke-all lands at a different moment each round, while everything else is in flight.
      const revokeAt = round % 2 === 0 ? a : b;
      const revokeDelay = 30 + round * 40;
      const revokeAll = (async () => {
        await sleep(revokeDelay);
        revoke.sentAt = Date.now();
        const answer = await send(revokeAt, '/auth/sessions/revoke-all', { method: 'POST', cookie: `${ACCESS}=${first.access}` });
        revoke.answeredAt = Date.now();
        revoke.status = answer.status;
      })();
      await Promise.all([...devices.map((entry, i) => refreshChain(entry, i, 400, 3)), ...Array.from({ length: SIGN_IN_WORKERS }, (_, w) => signInWorker(w)), revokeAll]);

      expect(revoke.status).toBe(204);
      // During the race: refreshes get 200 or 401, sign-ins 200 (or 401 when their new session was ended under them), never 5xx.
      const bad = exchanges.filter((e) => (e.kind === 'refresh' ? e.status !== 200 && e.status !== 401 : e.status !== 200 && e.status !== 401));
      expect(bad, 'unexpected statuses during the race').toEqual([]);
      // Nothing but revoke-all ends a session here: every 401 was answered after it was sent.
      expect(exchanges.filter((e) => e.status === 401 && e.answeredAt < revoke.sentAt)).toEqual([]);
      // A device's refresh sent after revoke-all answered is refused.
      expect(exchanges.filter((e) => e.kind === 'refresh' && e.from === 'device' && e.sentAt > revoke.answeredAt && e.status !== 401)).toEqual([]);
      // A sign-in that failed must have overlapped the revoke-all.
      expect(exchanges.filter((e) => e.kind === 'sign-in' && e.status === 401 && (e.sentAt > revoke.answeredAt || e.answeredAt < revoke.sentAt))).toEqual([]);

      // The database: sessions left, revocations, refresh tokens.
      const db = database!.kysely;
      const ids = [...known.keys()];
      const alive = new Map((await db.selectFrom('gatehouse_sessions').select(['id', 'created_at']).where('user_id', '=', userId).execute()).map((r) => [r.id, Number(r.created_at)]));
      const revocations = new Map((await db.selectFrom('gatehouse_revocations').select(['subject', 'at']).where('kind', '=', 'session').where('subject', 'in', ids).execute()).map((r) => [r.subject, Number(r.at)]));
      const tokens = await db.selectFrom('gatehouse_refresh_tokens').select(['id', 'family_id', 'parent_id', 'rotated_at']).where('user_id', '=', userId).execute();
      // Every session row of the user is one the test knows (no session appears from nowhere).
      expect([...alive.keys()].filter((id) => !known.has(id))).toEqual([]);
      // Each known session is either ended (revocation row, no session row) or alive (row, no revocation): never both, never neither.
      for (const id of ids) expect(`${id}: ${alive.has(id) ? 'row' : 'no row'}, ${revocations.has(id) ? 'revoked' : 'not revoked'}`).toMatch(/: (row, not revoked|no row, revoked)$/);
      // The four devices existed before revoke-all was sent: all ended.
      for (const entry of devices) expect(alive.has(entry.id), `device session ${entry.id} survived revoke-all`).toBe(false);
      const revokedAt = Math.min(...devices.map((d) => revocations.get(d.id)!));
      for (const entry of known.values()) {
        if (entry.from !== 'sign-in') continue;
        if (entry.answeredAt < revoke.sentAt) expect(alive.has(entry.id), `a sign-in answered before revoke-all was sent survived it`).toBe(false);
        if (entry.sentAt > revoke.answeredAt) expect(alive.has(entry.id), `a sign-in sent after revoke-all answered was ended`).toBe(true);
      }
      // A sign-in sent after the revocation time revoke-all recorded took its created_at later still, so it was inserted after the DELETE.
      for (const entry of known.values()) if (entry.from === 'sign-in' && entry.sentAt > revokedAt) expect(alive.has(entry.id), `a sign-in sent after revoke-all's revocation time was ended`).toBe(true);
      // No refresh token is left in an ended family; each live family has exactly one live token, the latest one handed out.
      expect(tokens.filter((t) => !alive.has(t.family_id))).toEqual([]);
      const parents = new Set(tokens.map((t) => t.parent_id));
      for (const id of alive.keys()) {
        const live = tokens.filter((t) => t.family_id === id && t.rotated_at === null && !parents.has(t.id));
        expect(live.map((t) => t.id)).toEqual([known.get(id)!.latest.refresh.split('.')[0]]);
      }

      // Over HTTP, after the propagation bound: every token of an ended session is refused on both
      // instances; the latest tokens of a live session work.
      await sleep(Math.max(0, revoke.answeredAt + PROPAGATION_BOUND_MS - Date.now()));
      const refused: string[] = [];
      for (const entry of known.values()) {
        if (alive.has(entry.id)) continue;
        for (const access of entry.accessTokens) {
          for (const instance of [a, b]) if ((await sessionAt(instance, access)) !== 401) refused.push(`access token of ${entry.id} accepted by ${instanceName(instance)}`);
        }
        for (const [i, token] of entry.refreshTokens.entries()) {
          const answer = await refreshAt(i % 2 === 0 ? a : b, token);
          if (answer.status !== 401) refused.push(`refresh token of ${entry.id} answered ${answer.status}`);
        }
      }
      expect(refused).toEqual([]);
      for (const id of alive.keys()) {
        const { latest } = known.get(id)!;
        expect(await sessionAt(a, latest.access)).toBe(200);
        expect(await sessionAt(b, latest.access)).toBe(200);
        expect((await refreshAt(round % 2 === 0 ? b : a, latest.refresh)).status).toBe(200);
      }

      const count = (kind: Exchange['kind'], status: number) => exchanges.filter((e) => e.kind === kind && e.status === status).length;
      // In flight while revoke-all was: sent before it answered, answered after it was sent.
      const overlapping = (kind: Exchange['kind']) => exchanges.filter((e) => e.kind === kind && e.sentAt <= revoke.answeredAt && e.answeredAt >= revoke.sentAt).length;
      rounds.push(
        `round ${round + 1}: revoke-all after ${revokeDelay} ms on ${instanceName(revokeAt)}; refreshes ${count('refresh', 200)} ok / ${count('refresh', 401)} refused (${overlapping('refresh')} overlapping it); ` +
          `sign-ins ${count('sign-in', 200)} ok / ${count('sign-in', 401)} refused (${overlapping('sign-in')} overlapping); sessions ended ${known.size - alive.size}, alive ${alive.size}`,
      );
    }
    console.log(`[revoke-all race]\n  ${rounds.join('\n  ')}`);
  }, 240_000);
});
