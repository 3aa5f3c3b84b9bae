import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeAdapter, toWebRequest, type NodeAdapter } from 'gatehouse/node';
import { jsonResponse, readJsonBody } from 'gatehouse';
import { createAdapterWorld, runAdapterFlow, type AdapterWorld } from './support/adapter-flow.js';

/** gatehouse/node on a plain http.createServer: the shared adapter flow, plus the conversion's edges. */
let world: AdapterWorld;
let server: Server;
let route: ((req: IncomingMessage, res: ServerResponse) => Promise<void>) | undefined;

async function app(gatehouse: NodeAdapter, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (await gatehouse.handle(req, res)) return;
  try {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (req.method === 'GET' && path === '/api/me') {
      const { user } = await gatehouse.requirePermission(req, 'posts:read');
      return await gatehouse.send(res, jsonResponse({ email: user.email }));
    }
    if (req.method === 'GET' && path === '/api/drafts') {
      await gatehouse.requirePermission(req, 'posts:write');
      return await gatehouse.send(res, jsonResponse({ drafts: [] }));
    }
    if (req.method === 'POST' && path === '/api/posts') {
      world.auth.verifyOrigin(gatehouse.request(req));
      await gatehouse.requirePermission(req, 'posts:read');
      const body = await readJsonBody(toWebRequest(req, { origins: world.auth.config.origins }), 16 * 1024);
      const title = typeof body === 'object' && body !== null && 'title' in body ? body.title : null;
      return await gatehouse.send(res, jsonResponse({ title }, 201));
    }
    res.writeHead(404).end();
  } catch (error) {
    await gatehouse.sendError(res, error);
  }
}

beforeAll(async () => {
  server = createServer((req, res) => void (route ? route(req, res) : res.writeHead(503).end()));
  await new Promise<void>((resolve) => server.listen(0, 'localhost', resolve));
  world = await createAdapterWorld((server.address() as AddressInfo).port);
  const gatehouse = createNodeAdapter(world.auth);
  route = (req, res) => app(gatehouse, req, res);
});

afterAll(async () => {
  if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  await world?.close();
});

/** A raw HTTP/1.1 exchange, so the test controls Host and the request target exactly. */
async function raw(lines: string[]): Promise<string> {
  const { connect } = await import('node:net');
  const port = (server.address() as AddressInfo).port;
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(`${lines.join('\r\n')}\r\n\r\n`));
    let data = '';
    socket.on('data', (chunk) => (data += chunk.toString('utf8')));
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
  });
}

describe('gatehouse/node', () => {
  it('signs in with the dev IdP, opens a protected route, signs out, and is refused after', async () => {
    await runAdapterFlow(world);
  });

  it('builds the URL from the configured origin, not from Host, and keeps only the path of an absolute target', () => {
    const origins = ['https://app.example.com', 'https://www.example.com'];
    const fake = (url: string, host: string) =>
      ({ method: 'GET', url, headers: { host }, rawHeaders: ['Host', host, 'Cookie', 'a=1', 'Cookie', 'b=2'] }) as unknown as IncomingMessage;
    expect(toWebRequest(fake('/auth/session?x=1', 'evil.example'), { origins }).url).toBe('https://app.example.com/auth/session?x=1');
    expect(toWebRequest(fake('/auth/session', 'www.example.com'), { origins }).url).toBe('https://www.example.com/auth/session');
    expect(toWebRequest(fake('http://evil.example/auth/session', 'evil.example'), { origins }).url).toBe('https://app.example.com/auth/session');
    expect(toWebRequest(fake('//evil.example/auth', 'app.example.com'), { origins }).url).toBe('https://app.example.com//evil.example/auth');
    expect(toWebRequest(fake('/', 'app.example.com'), { origins }).headers.get('cookie')).toBe('a=1; b=2');
  });

  it('answers HEAD as GET without a body, and a forged Host with the configured origin', async () => {
    // HEAD was a 405 on every GET route.
    const head = await raw(['HEAD /auth/session HTTP/1.1', 'Host: evil.example', 'Connection: close']);
    expect(head).toMatch(/^HTTP\/1\.1 401 /);
    expect(head.toLowerCase()).toContain('content-type: application/json');
    expect(head.split('\r\n\r\n')[1]).toBe('');
    const jwks = await raw(['HEAD /auth/session HTTP/1.1', 'Host: localhost', 'Connection: close']);
    expect(jwks.split('\r\n\r\n')[1]).toBe('');
    const get = await raw(['GET http://evil.example/auth/session HTTP/1.1', 'Host: evil.example', 'Connection: close']);
    expect(get).toMatch(/^HTTP\/1\.1 401 /);
    expect(get).toContain('{"error":{"code":"UNAUTHENTICATED"');
  });
});

describe('gatehouse/node and a body over the limit', () => {
  it('answers 413 mid-body and keeps reading the connection: the next request on it is answered', async () => {
    // Chunked, so no Content-Length announces the size: the handler stops reading after 16 KiB.
    const chunk = (text: string) => `${text.length.toString(16)}\r\n${text}\r\n`;
    const body = chunk(`{"email":"${'x'.repeat(40_000)}`) + chunk(`${'x'.repeat(40_000)}"}`) + '0\r\n\r\n';
    const first = ['POST /auth/recovery/sign-in HTTP/1.1', 'Host: localhost', `Origin: ${world.origin}`, 'Content-Type: application/json', 'Transfer-Encoding: chunked', '', ''].join('\r\n');
    const second = ['GET /auth/session HTTP/1.1', 'Host: localhost', 'Connection: close', '', ''].join('\r\n');
    const { connect } = await import('node:net');
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect((server.address() as AddressInfo).port, '127.0.0.1', () => socket.write(first + body + second));
      let data = '';
      socket.on('data', (part) => (data += part.toString('utf8')));
      socket.on('end', () => resolve(data));
      socket.on('error', (error) => resolve(`${data}\n[${error.message}]`));
      // Before the fix the socket was never read again: no second answer, reset at keepAliveTimeout.
      setTimeout(() => {
        socket.destroy();
        reject(new Error(`no second answer in 3 s; got: ${data.slice(0, 200)}`));
      }, 3000);
    });
    const statuses = [...answer.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => m[1]);
    expect(statuses).toEqual(['413', '401']);
    expect(answer).toContain('"code":"PAYLOAD_TOO_LARGE"');
  });
});

describe('gatehouse/node and methods a web Request cannot carry', () => {
  it('refuses a path with a "." or ".." segment under the base path: an app guard on /auth/admin cannot be walked around', async () => {
    const status = (response: string) => Number(response.split(' ', 2)[1]);
    for (const target of ['/auth/x/../admin/users', '/auth/x/%2e%2e/admin/users', '/auth/x/%2E./admin/users', '/auth/./admin/users', '/auth/x\\..\\admin/users']) {
      const response = await raw([`GET ${target} HTTP/1.1`, 'Host: localhost', 'Connection: close']);
      expect(status(response), target).toBe(400);
      expect(response, target).toContain('"code":"BAD_REQUEST"');
    }
    // Dots inside a segment are ordinary: the stylesheet and the API still answer.
    expect(status(await raw(['GET /auth/assets/ui.css HTTP/1.1', 'Host: localhost', 'Connection: close']))).toBe(200);
    expect(status(await raw(['GET /auth/admin/users HTTP/1.1', 'Host: localhost', 'Connection: close']))).toBe(401);
  });

  it('answers TRACE with a 405, not a 500 (new Request() throws for TRACE, which Node accepts)', async () => {
    const errors: string[] = [];
    const gatehouse = createNodeAdapter({ ...world.auth, errorResponse: (error: unknown) => (errors.push(String(error)), world.auth.errorResponse(error)) });
    const probe = createServer((req, res) => {
      void (async () => {
        if (await gatehouse.handle(req, res)) return;
        try {
          await gatehouse.requireSession(req);
          res.writeHead(204).end();
        } catch (error) {
          await gatehouse.sendError(res, error);
        }
      })();
    });
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { connect } = await import('node:net');
    const send = (target: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = connect((probe.address() as AddressInfo).port, '127.0.0.1', () => socket.end(`TRACE ${target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`));
        let data = '';
        socket.on('data', (chunk) => (data += chunk.toString('utf8')));
        socket.on('end', () => resolve(data));
        socket.on('error', reject);
      });
    try {
      for (const target of ['/auth/session', '/api/me']) {
        const answer = await send(target);
        expect(answer).toMatch(/^HTTP\/1\.1 405 /);
        expect(answer.toLowerCase()).toMatch(/\r\nallow: get, head, post, patch, delete\r\n/);
        expect(answer).toContain('{"error":{"code":"METHOD_NOT_ALLOWED"');
      }
      expect(errors.join('\n')).not.toContain('TypeError');
    } finally {
      await new Promise<void>((resolve) => probe.close(() => resolve()));
    }
  });
});

describe('gatehouse/node when the client goes away', () => {
  /** A server whose one route runs `work` after the client has closed the connection; resolves with what `work` did. */
  async function afterClientLeft(work: (gatehouse: NodeAdapter, res: ServerResponse) => Promise<void>): Promise<{ settled: 'resolved' | 'rejected'; destroyed: boolean }> {
    const gatehouse = createNodeAdapter(world.auth);
    let report: (value: { settled: 'resolved' | 'rejected'; destroyed: boolean }) => void = () => {};
    const done = new Promise<{ settled: 'resolved' | 'rejected'; destroyed: boolean }>((resolve) => (report = resolve));
    const gone = createServer((req, res) => {
      req.socket.once('close', () => {
        work(gatehouse, res).then(
          () => report({ settled: 'resolved', destroyed: res.destroyed }),
          () => report({ settled: 'rejected', destroyed: res.destroyed }),
        );
      });
    });
    await new Promise<void>((resolve) => gone.listen(0, '127.0.0.1', resolve));
    const { connect } = await import('node:net');
    const socket = connect((gone.address() as AddressInfo).port, '127.0.0.1', () => {
      socket.write('GET /api/slow HTTP/1.1\r\nHost: localhost\r\n\r\n');
      setTimeout(() => socket.destroy(), 50);
    });
    socket.on('error', () => {});
    try {
      return await done;
    } finally {
      await new Promise<void>((resolve) => gone.close(() => resolve()));
    }
  }
  const big = () => jsonResponse({ data: 'x'.repeat(1 << 20) });

  // Each of these rejected before: in an async createServer listener that is an unhandled rejection, which ends the process.
  it('send() resolves and closes the socket', async () => {
    expect(await afterClientLeft((gatehouse, res) => gatehouse.send(res, big()))).toEqual({ settled: 'resolved', destroyed: true });
  });

  it('sendError() resolves, also after part of a body went out', async () => {
    expect(await afterClientLeft((gatehouse, res) => gatehouse.sendError(res, new Error('database down')))).toEqual({ settled: 'resolved', destroyed: true });
    const midBody = async (gatehouse: NodeAdapter, res: ServerResponse) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('partial');
      await gatehouse.sendError(res, new Error('failed mid-body'));
    };
    expect(await afterClientLeft(midBody)).toEqual({ settled: 'resolved', destroyed: true });
  });
});
