import { afterEach, describe, expect, it } from 'vitest';
import { getTestInstance, ORIGIN, type TestInstance } from './helpers.js';
import type * as Errors from '../src/errors.js';
import { readJson } from '../src/http/body.js';

let t: TestInstance;
afterEach(async () => t?.close());

async function expectErrorShape(res: Response, status: number, code?: string): Promise<void> {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  const text = await res.text();
  const body = JSON.parse(text) as { error: { code: string; message: string } };
  expect(Object.keys(body)).toEqual(['error']);
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message']);
  expect(body.error.message.length).toBeGreaterThan(0);
  if (code) expect(body.error.code).toBe(code);
  // No stack traces, SQL, library text or file paths.
  expect(text).not.toMatch(/\bat .*\(|node_modules|\/work\/|SQLITE|select |insert |ZodError|TypeError|SyntaxError/i);
}

describe('ERR-01 one error shape, never a 500, for hostile input', () => {
  it('malformed JSON, wrong types, invalid UTF-8, huge bodies', async () => {
    t = await getTestInstance();
    const admin = await t.signIn('admin@example.com', { role: 'admin' });
    const m = await t.signIn('m@example.com');
    const url = `/auth/admin/users/${m.userId}`;
    const send = (body: BodyInit, headers: Record<string, string> = {}) => t.request(url, { method: 'PATCH', cookie: admin.cookie, body, headers });
    await expectErrorShape(await send('{"role": "editor"'), 400, 'INVALID_JSON');
    await expectErrorShape(await send(''), 400, 'INVALID_JSON');
    await expectErrorShape(await send('{"role": 42}'), 400, 'VALIDATION_FAILED');
    await expectErrorShape(await send('{"disabled": "yes"}'), 400, 'VALIDATION_FAILED');
    await expectErrorShape(await send('[1,2,3]'), 400, 'VALIDATION_FAILED');
    await expectErrorShape(await send('null'), 400, 'VALIDATION_FAILED');
    await expectErrorShape(await send('{"__proto__": {"role": "admin"}}'), 400, 'VALIDATION_FAILED');
    await expectErrorShape(await send(new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d])), 400, 'INVALID_ENCODING');
    await expectErrorShape(await send(`{"role":"${'a'.repeat(20_000)}"}`), 413, 'PAYLOAD_TOO_LARGE');
    // A lying Content-Length cannot smuggle a big body past the limit.
    const big = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < 40; i++) c.enqueue(new TextEncoder().encode('{"x":"' + 'a'.repeat(1000) + '"}'));
        c.close();
      },
    });
    const streamed = await t.auth.handler(
      new Request(`${ORIGIN}${url}`, {
        method: 'PATCH',
        body: big,
        duplex: 'half',
        headers: { cookie: admin.cookie, 'content-type': 'application/json', 'sec-fetch-site': 'same-origin' },
      } as RequestInit),
    );
    await expectErrorShape(streamed, 413, 'PAYLOAD_TOO_LARGE');
    expect((await (await t.auth.storage()).findUserById(m.userId))?.role).toBe('member');
  });

  it('decodes every body on its own: one cut off inside a character leaves nothing for the next', async () => {
    // One TextDecoder serves every request (src/http/body.ts).
    const body = (bytes: BodyInit) => new Request(`${ORIGIN}/`, { method: 'POST', body: bytes, headers: { 'content-type': 'application/json' } });
    await expect(readJson(body(new Uint8Array([0x7b, 0x22, 0xe2, 0x82])), 1000)).rejects.toMatchObject({ code: 'INVALID_ENCODING' });
    expect(await readJson(body(new TextEncoder().encode('{"name":"\u20ac \u00e9"}')), 1000)).toEqual({ name: '\u20ac \u00e9' });
  });

  it('unknown routes, wrong methods, hostile ids and cookies', async () => {
    t = await getTestInstance();
    const { cookie } = await t.signIn('a@example.com');
    await expectErrorShape(await t.request('/auth/nope'), 404, 'NOT_FOUND');
    await expectErrorShape(await t.request('/auth'), 404, 'NOT_FOUND');
    const wrong = await t.request('/auth/session', { method: 'DELETE', cookie });
    expect(wrong.headers.get('allow')).toBe('GET, HEAD');
    await expectErrorShape(wrong, 405, 'METHOD_NOT_ALLOWED');
    for (const id of ['%00', '..%2F..%2Fetc', 'x'.repeat(5000), '%E0%A4%A', "' or 1=1 --"]) {
      const res = await t.request(`/auth/sessions/${id}`, { method: 'DELETE', cookie });
      expect(res.status, id).toBeGreaterThanOrEqual(400);
      expect(res.status, id).toBeLessThan(500);
    }
    for (const bad of ['__Host-gatehouse-session=' + 'A'.repeat(8000), '__Host-gatehouse-session=é.ü', '__Host-gatehouse-session', '=;=;;', '__Host-gatehouse-session=a.b.c']) {
      await expectErrorShape(await t.request('/auth/session', { cookie: bad }), 401, 'UNAUTHENTICATED');
    }
    await expectErrorShape(await t.request('/auth/admin/users?limit=abc', { cookie }), 403);
  });
});

describe('ERR-02 fail closed', () => {
  it('a dead database never authenticates: 503 with the error shape', async () => {
    t = await getTestInstance();
    const { cookie } = await t.signIn('a@example.com');
    await t.database.close();
    await expectErrorShape(await t.request('/auth/session', { cookie }), 503, 'SERVICE_UNAVAILABLE');
    await expect(t.auth.getSession(new Request(ORIGIN, { headers: { cookie } }))).rejects.toMatchObject({ status: 503 });
    await expectErrorShape(await t.request('/auth/sign-out', { method: 'POST', cookie }), 503);
  });
});

describe('errors from another copy of the package', () => {
  // Regression: the demo (importing the built package) threw NotFoundError into a handler
  // from the sources, and `instanceof` failed, turning a 404 into a 500.
  it('still map to their own status and code', async () => {
    const { toErrorResponse } = await import('../src/http/errors.js');
    const built = (await import(new URL('../dist/src/errors.js', import.meta.url).href)) as typeof Errors;
    const { NotFoundError, RateLimitedError, AuthError } = await import('../src/errors.js');
    const foreign = new built.NotFoundError('No such post.');
    expect(foreign instanceof AuthError).toBe(true);
    expect(foreign instanceof NotFoundError).toBe(true);
    expect(foreign instanceof RateLimitedError).toBe(false);
    await expectErrorShape(toErrorResponse(foreign), 404, 'NOT_FOUND');
    expect(new Error('x') instanceof AuthError).toBe(false);
  });
});

describe('a database that was never migrated', () => {
  it('answers the plain 503; the log says to run migrate', async () => {
    const { createGatehouse } = await import('../src/index.js');
    const logged: string[] = [];
    const auth = createGatehouse({ database: 'sqlite::memory:', origin: ORIGIN, logger: { warn: () => {}, error: (message, details) => void logged.push(`${message} ${JSON.stringify(details ?? {})}`) } });
    try {
      const res = await auth.handler(
        new Request(`${ORIGIN}/auth/passkeys/login/options`, { method: 'POST', headers: { 'sec-fetch-site': 'same-origin', 'content-type': 'application/json' }, body: '{}' }),
        { ip: '203.0.113.5' },
      );
      await expectErrorShape(res, 503, 'SERVICE_UNAVAILABLE');
      expect(logged.join('\n')).toContain('this database is not migrated (or not fully, after an upgrade). Run `npx gatehouse migrate` against it, or call `await auth.migrate()` at startup.');
    } finally {
      await auth.close();
    }
  });
});
