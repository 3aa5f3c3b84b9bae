import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest, Agent, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PublicKeyCredentialCreationOptionsJSON } from '@simplewebauthn/server';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/index.js';
import { createSoftwareAuthenticator } from '../src/testing/index.js';
import { ACCESS, JWT_SECRET, REFRESH } from './jwt-helpers.js';
import { freePort, startDemo, stopDemo, type DemoInstance } from './support/demo-process.js';
import { freshPostgres, hasPostgres, hasRedis, REDIS_URL, redisPrefix } from './services.js';

/**
 * Graceful shutdown of the demo process (docs/operations.md, "Graceful shutdown"), for real:
 * sign-ups whose request is in flight when SIGTERM arrives (the server has dispatched them:
 * it answered `Expect: 100-continue`, but half the body is still to come) complete with their
 * normal 201; new connections are refused from the moment of the signal; an idle keep-alive
 * connection is closed; the process ends by itself with status 0 (it only does once every
 * pool and connection is closed; anything left open holds it until the bound, status 1); and
 * the database holds each in-flight sign-up whole (user, passkey, session) and nothing of a
 * sign-up that came after the signal. A request that never finishes is cut at the bound.
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ORIGIN = 'http://localhost:3000';
const CEREMONY = '__Host-gatehouse-ceremony';
const IN_FLIGHT = 4;

interface Setup {
  name: string;
  enabled: boolean;
  jwt: boolean;
  open(): Promise<{ env: Record<string, string>; databaseUrl: string; cleanup(): Promise<void> }>;
}

const setups: Setup[] = [
  {
    name: 'SQLite, database sessions',
    enabled: true,
    jwt: false,
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'gatehouse-shutdown-'));
      const databaseUrl = `sqlite:${join(dir, 'demo.db')}`;
      return { env: { DATABASE_URL: databaseUrl }, databaseUrl, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
    },
  },
  {
    name: 'PostgreSQL + Redis, JWT mode',
    enabled: hasPostgres && hasRedis,
    jwt: true,
    async open() {
      const pg = await freshPostgres();
      const env = { DATABASE_URL: pg.url, REDIS_URL, GATEHOUSE_SESSION_STRATEGY: 'jwt', GATEHOUSE_JWT_SECRET: JWT_SECRET, GATEHOUSE_JWT_CHANNEL: `gh_${redisPrefix()}` };
      return { env, databaseUrl: pg.url, cleanup: pg.drop };
    },
  },
];

interface HeldRequest {
  /** Resolves once the server dispatched the request (it answered 100 Continue). */
  dispatched: Promise<void>;
  /** Sends the rest of the body. */
  finish(): void;
  /** The response, or the error that ended the request. */
  response: Promise<{ status: number; headers: IncomingHttpHeaders; body: string }>;
}

/** A POST sent on a connection of its own, holding back the second half of its body until finish(). */
function holdRequest(base: string, path: string, json: unknown, cookie: string): HeldRequest {
  const body = Buffer.from(JSON.stringify(json));
  const half = Math.floor(body.length / 2);
  const url = new URL(path, base);
  const req = httpRequest({
    host: url.hostname,
    port: url.port,
    path: url.pathname,
    method: 'POST',
    agent: false,
    headers: { 'content-type': 'application/json', 'content-length': String(body.length), expect: '100-continue', cookie, 'sec-fetch-site': 'same-origin' },
  });
  const dispatched = new Promise<void>((resolve) => {
    req.once('continue', () => {
      req.write(body.subarray(0, half));
      resolve();
    });
  });
  const response = new Promise<{ status: number; headers: IncomingHttpHeaders; body: string }>((resolve, reject) => {
    req.once('error', reject);
    req.once('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      res.once('error', reject);
    });
  });
  req.flushHeaders();
  return { dispatched, finish: () => req.end(body.subarray(half)), response };
}

/** A sign-up's first step (options) done: the ceremony cookie and the verify body, ready to send. */
async function prepareSignUp(base: string, email: string): Promise<{ email: string; cookie: string; body: unknown }> {
  const authenticator = createSoftwareAuthenticator({ origin: ORIGIN });
  const res = await fetch(`${base}/auth/passkeys/register/options`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'sec-fetch-site': 'same-origin' },
    body: JSON.stringify({ email, name: 'Shutdown' }),
  });
  expect(res.status).toBe(200);
  const ceremony = res.headers
    .getSetCookie()
    .map((line) => line.split(';')[0]!)
    .find((pair) => pair.startsWith(`${CEREMONY}=`))!;
  const options = (await res.json()) as PublicKeyCredentialCreationOptionsJSON;
  return { email, cookie: ceremony, body: { response: authenticator.register(options) } };
}

function connectionRefused(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

function exited(instance: DemoInstance): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const { child } = instance;
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

async function outputLine(instance: DemoInstance, pattern: RegExp): Promise<string> {
  for (let i = 0; i < 500; i++) {
    const match = pattern.exec(instance.output());
    if (match !== null) return match[0];
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`the demo never printed ${pattern}:\n${instance.output()}`);
}

/** Rows a sign-up leaves, by email: the user, their passkeys, sessions and refresh tokens. */
async function rowsOf(databaseUrl: string, emails: string[]) {
  const database = await openDatabase(databaseUrl);
  try {
    const db = database.kysely;
    const result = new Map<string, { passkeys: number; sessions: number; refreshTokens: number } | null>();
    for (const email of emails) {
      const user = await db.selectFrom('gatehouse_users').select('id').where('email', '=', email).executeTakeFirst();
      if (user === undefined) {
        result.set(email, null);
        continue;
      }
      const count = async (table: 'gatehouse_passkeys' | 'gatehouse_sessions' | 'gatehouse_refresh_tokens') =>
        Number((await db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).where('user_id', '=', user.id).executeTakeFirstOrThrow()).n);
      result.set(email, { passkeys: await count('gatehouse_passkeys'), sessions: await count('gatehouse_sessions'), refreshTokens: await count('gatehouse_refresh_tokens') });
    }
    // Every account here came from a passkey sign-up: none may be without its passkey.
    const orphans = await db
      .selectFrom('gatehouse_users as u')
      .select('u.email')
      .where(({ not, exists, selectFrom }) => not(exists(selectFrom('gatehouse_passkeys as p').select('p.id').whereRef('p.user_id', '=', 'u.id'))))
      .execute();
    return { rows: result, usersWithoutPasskey: orphans.map((o) => o.email) };
  } finally {
    await database.close();
  }
}

describe('graceful shutdown of the demo process (SIGTERM)', () => {
  let demo: DemoInstance | undefined;
  let cleanup: (() => Promise<void>) | undefined;

  beforeAll(() => {
    // The test runs the compiled demo: build it if the sources changed.
    execFileSync(process.execPath, ['scripts/build.mjs', '--if-needed'], { cwd: ROOT, encoding: 'utf8', stdio: 'pipe' });
  });

  afterEach(async () => {
    await stopDemo(demo);
    demo = undefined;
    await cleanup?.();
    cleanup = undefined;
  });

  for (const setup of setups) {
    it.runIf(setup.enabled)(`${setup.name}: in-flight sign-ups complete, new connections are refused, the process ends by itself with status 0, no half-written rows`, async () => {
      const opened = await setup.open();
      cleanup = opened.cleanup;
      const port = await freePort();
      const instance = await startDemo(port, { ...opened.env, GATEHOUSE_ORIGIN: ORIGIN, GATEHOUSE_DEV_IDP: '0' });
      demo = instance;
      const { base } = instance;

      // The pools are open and in use: a whole sign-up before anything else.
      const before = await prepareSignUp(base, 'before@example.com');
      const done = await fetch(`${base}/auth/passkeys/register/verify`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'sec-fetch-site': 'same-origin', cookie: before.cookie },
        body: JSON.stringify(before.body),
      });
      expect(done.status).toBe(201);
      expect((await fetch(`${base}/readyz`)).status).toBe(200);

      // An idle keep-alive connection, used once before the signal.
      const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });
      const viaKeepAlive = () =>
        new Promise<number>((resolve, reject) => {
          const req = httpRequest({ host: '127.0.0.1', port, path: '/healthz', agent: keepAlive }, (res) => {
            res.resume();
            res.once('end', () => resolve(res.statusCode ?? 0));
          });
          req.once('error', reject);
          req.end();
        });
      expect(await viaKeepAlive()).toBe(200);

      // Sign-ups in flight at the signal, and one prepared but not yet sent.
      const signUps = await Promise.all(Array.from({ length: IN_FLIGHT }, (_, i) => prepareSignUp(base, `in-flight-${i}@example.com`)));
      const late = await prepareSignUp(base, 'late@example.com');
      const held = signUps.map((s) => holdRequest(base, '/auth/passkeys/register/verify', s.body, s.cookie));
      await Promise.all(held.map((h) => h.dispatched));

      instance.child.kill('SIGTERM');
      expect(await outputLine(instance, /SIGTERM, finishing \d+ in-flight request\(s\)/)).toBe(`SIGTERM, finishing ${IN_FLIGHT} in-flight request(s)`);

      // From now on: no new connection, no request on the idle one, the late sign-up cannot get in.
      expect(await connectionRefused(port)).toBe('ECONNREFUSED');
      await expect(viaKeepAlive()).rejects.toThrow();
      const lateAttempt = await fetch(`${base}/auth/passkeys/register/verify`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'sec-fetch-site': 'same-origin', cookie: late.cookie },
        body: JSON.stringify(late.body),
      }).then(
        (res) => `answered ${res.status}`,
        (error: unknown) => (error instanceof Error && error.cause instanceof Error && 'code' in error.cause ? String(error.cause.code) : String(error)),
      );
      expect(lateAttempt).toBe('ECONNREFUSED');
      keepAlive.destroy();

      // The in-flight sign-ups finish and get their normal answer, each the last on its connection.
      for (const h of held) h.finish();
      const answers = await Promise.all(held.map((h) => h.response));
      for (const answer of answers) {
        expect(answer.status, answer.body).toBe(201);
        expect(answer.headers.connection).toBe('close');
        const cookies = (answer.headers['set-cookie'] ?? []).map((line) => line.split('=')[0]);
        expect(cookies).toEqual(expect.arrayContaining(setup.jwt ? [ACCESS, REFRESH] : ['__Host-gatehouse-session']));
      }

      // Nothing left open: the process ends by itself, before the bound (which would be status 1).
      expect(await exited(instance)).toEqual({ code: 0, signal: null });
      expect(instance.output()).toContain('Gatehouse demo: stopped');
      expect(instance.output()).not.toMatch(/still open|still in flight|closing failed/);

      // Each in-flight sign-up is whole; the late one left nothing.
      const { rows, usersWithoutPasskey } = await rowsOf(opened.databaseUrl, [before.email, ...signUps.map((s) => s.email), late.email]);
      const whole = { passkeys: 1, sessions: 1, refreshTokens: setup.jwt ? 1 : 0 };
      expect(Object.fromEntries(rows)).toEqual({
        [before.email]: whole,
        ...Object.fromEntries(signUps.map((s) => [s.email, whole])),
        [late.email]: null,
      });
      expect(usersWithoutPasskey).toEqual([]);
    }, 90_000);
  }

  it('a request that never finishes is cut at the bound (SHUTDOWN_TIMEOUT_SECONDS): status 1, and its sign-up left nothing', async () => {
    const opened = await setups[0]!.open();
    cleanup = opened.cleanup;
    const port = await freePort();
    const instance = await startDemo(port, { ...opened.env, GATEHOUSE_ORIGIN: ORIGIN, GATEHOUSE_DEV_IDP: '0', SHUTDOWN_TIMEOUT_SECONDS: '1' });
    demo = instance;
    const stuck = await prepareSignUp(instance.base, 'stuck@example.com');
    const held = holdRequest(instance.base, '/auth/passkeys/register/verify', stuck.body, stuck.cookie);
    await held.dispatched;
    const response = held.response.then(
      (res) => `answered ${res.status}`,
      () => 'cut off',
    );

    instance.child.kill('SIGTERM');
    expect(await exited(instance)).toEqual({ code: 1, signal: null });
    expect(instance.output()).toContain('Gatehouse demo: 1 request(s) still in flight after 1 s; exiting with status 1');
    expect(await response).toBe('cut off');
    const { rows, usersWithoutPasskey } = await rowsOf(opened.databaseUrl, [stuck.email]);
    expect(rows.get(stuck.email)).toBeNull();
    expect(usersWithoutPasskey).toEqual([]);
  }, 60_000);
});
