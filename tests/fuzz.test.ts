import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oidcProvider } from '../src/index.js';
import { getTestInstance, ORIGIN, type TestInstance } from './helpers.js';

/**
 * Property-based fuzzing of the whole HTTP API (ERR-01/02, CSRF-01/02): malformed,
 * oversized, wrongly typed and wrongly encoded input at every endpoint, header and cookie.
 * For every case: never a 5xx, always the one JSON error shape on 4xx, no stack or library
 * text, and a refused request changes nothing stored. The number of cases is printed.
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 3000);

/** Every route with its method: most cases use the right one, to get past 405 into the route. */
const ROUTES: Array<[string, string]> = [
  ['GET', '/session'], ['POST', '/sign-out'], ['GET', '/sessions'], ['DELETE', '/sessions/:id'], ['POST', '/sessions/revoke-others'], ['POST', '/sessions/revoke-all'],
  ['GET', '/passkeys'], ['PATCH', '/passkeys/:id'], ['DELETE', '/passkeys/:id'], ['POST', '/passkeys/register/options'], ['POST', '/passkeys/register/verify'],
  ['POST', '/passkeys/login/options'], ['POST', '/passkeys/login/verify'], ['POST', '/recovery-codes'], ['POST', '/recovery/sign-in'],
  ['GET', '/accounts'], ['DELETE', '/accounts/:id'], ['GET', '/oauth/providers'], ['GET', '/oauth/:provider'], ['GET', '/oauth/:provider/callback'], ['POST', '/oauth/:provider/link'],
  ['GET', '/admin/users'], ['PATCH', '/admin/users/:id'], ['POST', '/admin/users/:id/revoke-sessions'], ['GET', '/admin/events'],
];
const TABLES = ['gatehouse_users', 'gatehouse_sessions', 'gatehouse_passkeys', 'gatehouse_recovery_codes', 'gatehouse_identities', 'gatehouse_challenges', 'gatehouse_oauth_transactions'] as const;

/** Strings that break naive code: huge, control characters, lone surrogates, traversal, SQL, JSON-looking. */
const nasty = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('', ' ', '../../etc/passwd', "' or 1=1 --", '%00', '%2e%2e%2f', '\uD800', '\u0000', '{}', '[]', 'null', 'true', '1e309', '-0', '__proto__', 'constructor', 'a'.repeat(5000)),
);
const jsonValue = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.record({ email: nasty, name: nasty, code: nasty }, { requiredKeys: [] }),
  fc.record({ response: fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.record({ id: nasty, rawId: nasty, type: nasty, response: fc.dictionary(nasty, nasty) }, { requiredKeys: [] })) }, { requiredKeys: [] }),
  fc.record({ role: nasty, disabled: fc.jsonValue({ maxDepth: 1 }), returnTo: nasty, name: nasty }, { requiredKeys: [] }),
);
const body = fc.oneof(
  fc.constant(undefined),
  jsonValue.map((v) => JSON.stringify(v)),
  fc.uint8Array({ maxLength: 200 }),
  fc.constantFrom('{', '{"a":', '\xff\xfe', '{"email":"a@b.c"}'.repeat(3000), '"\\ud800"', '[' .repeat(5000)),
);

const printable = fc.string({ unit: fc.constantFrom(...'abcXYZ019._-~!$&()*+,;=:@/?%{}[]"\\ '.split('')), maxLength: 60 });
const request = fc.record({
  route: fc.constantFrom(...ROUTES),
  otherMethod: fc.oneof({ arbitrary: fc.constant(undefined), weight: 8 }, { arbitrary: fc.constantFrom('GET', 'POST', 'PATCH', 'DELETE', 'PUT', 'OPTIONS', 'HEAD'), weight: 1 }),
  param: nasty,
  query: fc.option(fc.dictionary(fc.constantFrom('returnTo', 'code', 'state', 'iss', 'error', 'limit', 'before', 'search', 'type', 'userId', 'after'), nasty), { nil: undefined }),
  contentType: fc.oneof(
    { arbitrary: fc.constant('application/json'), weight: 6 },
    { arbitrary: fc.option(fc.constantFrom('application/json; charset=utf-16', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'APPLICATION/JSON', 'application/jsonx'), { nil: undefined }), weight: 2 },
  ),
  site: fc.oneof(
    { arbitrary: fc.constant('same-origin'), weight: 6 },
    { arbitrary: fc.option(fc.constantFrom('cross-site', 'same-site', 'none', 'garbage'), { nil: undefined }), weight: 2 },
  ),
  origin: fc.option(fc.constantFrom(ORIGIN, 'null', 'https://evil.example', 'http://localhost:3000.evil.example', ''), { nil: undefined }),
  cookie: fc.oneof(
    { arbitrary: fc.constant('signed-in'), weight: 4 },
    { arbitrary: fc.constant(undefined), weight: 2 },
    { arbitrary: printable.map((v) => `__Host-gatehouse-session=${v}`), weight: 2 },
    { arbitrary: printable.map((v) => `__Host-gatehouse-ceremony=${v}; __Host-gatehouse-oauth=${v}`), weight: 1 },
    { arbitrary: nasty.map((v) => `__Host-gatehouse-session=${v}`), weight: 1 },
  ),
  body,
});

/** Percent-encodes; a lone surrogate becomes the invalid UTF-8 it would be on the wire. */
function encode(value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    return '%ED%A0%80';
  }
}

describe('fuzzing every endpoint', () => {
  let t: TestInstance;
  let signedIn: string;
  beforeAll(async () => {
    t = await getTestInstance({
      oauth: { httpTimeoutSeconds: 1, providers: [oidcProvider({ id: 'idp', name: 'IdP', issuer: 'http://127.0.0.1:1', clientId: 'c' })] },
      rateLimit: { limits: { session: { points: 1_000_000, durationSeconds: 60 }, ceremony: { points: 1_000_000, durationSeconds: 60 }, admin: { points: 1_000_000, durationSeconds: 60 }, credentialIp: { points: 1_000_000, durationSeconds: 60 } } },
    });
    signedIn = (await t.signIn('admin@example.com', { role: 'owner' })).cookie;
  });
  afterAll(async () => t?.close());

  const counts = async () => {
    const out: number[] = [];
    for (const table of TABLES) {
      const row = await t.database.kysely.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      out.push(Number(row.n));
    }
    return out;
  };

  it(`${RUNS} random requests: never 5xx, always the error shape, refused requests change nothing`, async () => {
    let cases = 0;
    let skipped = 0;
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        cases++;
        // An accepted sign-out or revoke-all ends the fuzzer's own session: sign in again.
        if (r.cookie === 'signed-in' && (await t.auth.getSession(new Request(ORIGIN, { headers: { cookie: signedIn } }))) === null) {
          signedIn = (await t.signIn('admin@example.com', { role: 'owner' })).cookie;
        }
        const [routeMethod, routePath] = r.route;
        const path = routePath.replace(/:(id|provider)/g, () => encode(r.param));
        const url = new URL(`${ORIGIN}/auth${path}`);
        for (const [k, v] of Object.entries(r.query ?? {})) url.search += `${url.search === '' ? '' : '&'}${k}=${encode(v)}`;
        const method = r.otherMethod ?? routeMethod;
        const withBody = r.body !== undefined && method.toUpperCase() !== 'GET' && method !== 'HEAD';
        let req: Request;
        try {
          const headers = new Headers();
          if (r.contentType !== undefined) headers.set('content-type', r.contentType);
          if (r.site !== undefined) headers.set('sec-fetch-site', r.site);
          if (r.origin !== undefined) headers.set('origin', r.origin);
          if (r.cookie !== undefined) headers.set('cookie', r.cookie === 'signed-in' ? signedIn : r.cookie);
          req = new Request(url, { method, headers, body: withBody ? (r.body as BodyInit) : undefined });
        } catch {
          cases--;
          skipped++;
          return; // not a valid HTTP request (a header with a NUL, TRACE...): no server would receive it
        }
        const before = await counts();
        const res = await t.auth.handler(req, { ip: '192.0.2.50' });
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        expect(res.status, `${method} ${url.pathname}`).toBeLessThan(500);
        if (res.status >= 400 && method === 'HEAD') {
          // GET's answer without its body.
          expect(await res.text()).toBe('');
          expect(await counts(), `${method} ${url.pathname} -> ${res.status} changed stored rows`).toEqual(before);
        } else if (res.status >= 400) {
          const text = await res.text();
          const parsed = JSON.parse(text) as { error: { code: string; message: string } };
          expect(Object.keys(parsed)).toEqual(['error']);
          expect(typeof parsed.error.code).toBe('string');
          expect(text).not.toMatch(/\bat [\w.<>]+ \(|node_modules|SQLITE|Kysely|ZodError|TypeError|\/work\//);
          expect(await counts(), `${method} ${url.pathname} -> ${res.status} changed stored rows`).toEqual(before);
        }
      }),
      { numRuns: RUNS, seed: Number(process.env.FUZZ_SEED ?? 20261126) },
    );
    console.log(`[fuzz] ${cases} requests sent (${skipped} generated cases were not valid HTTP and were dropped); statuses ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}`);
    expect(cases).toBeGreaterThan(RUNS * 0.9);
  }, 120_000);
});
