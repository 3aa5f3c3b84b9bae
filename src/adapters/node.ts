/**
 * gatehouse/node: Gatehouse on a plain `http.createServer` (and the conversion that the Express
 * adapter reuses). The core speaks web `Request -> Response`; this file only translates
 * `IncomingMessage -> Request` and `Response -> ServerResponse`.
 *
 * ```ts
 * const gatehouse = createNodeAdapter(auth);
 * http.createServer(async (req, res) => {
 *   if (await gatehouse.handle(req, res)) return; // /auth/*
 *   try {
 *     const session = await gatehouse.getSession(req); // rejects with 503 while the database is down
 *     ...
 *   } catch (error) {
 *     await gatehouse.sendError(res, error); // never rejects
 *   }
 * });
 * ```
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { BadRequestError, ConfigurationError, MethodNotAllowedError } from '../errors.js';
import type { Gatehouse } from '../gatehouse.js';
import type { SessionResult } from '../sessions/types.js';

export interface ToWebRequestOptions {
  /**
   * The configured origin(s) (`auth.config.origins`). The URL is built from one of them and the
   * request's path: the `Host` header picks among them but can never add a new one, so a forged
   * Host cannot make Gatehouse see a foreign origin.
   */
  origins: readonly string[];
  /** Attach the body stream (default true). `false` for a headers-only Request (session checks). */
  body?: boolean;
  /** Request target to use instead of `req.url` (Express strips its mount path from `req.url`; pass `req.originalUrl`). */
  url?: string;
}

/**
 * Methods a web Request cannot carry (Fetch's forbidden methods: `new Request()` throws a
 * TypeError, a 500). Node's parser accepts TRACE, and scanners send it to every path. Gatehouse
 * answers none of them: a 405 listing the methods its API uses.
 */
const FORBIDDEN_METHODS = new Set(['CONNECT', 'TRACE', 'TRACK']);
const API_METHODS = ['GET', 'HEAD', 'POST', 'PATCH', 'DELETE'];

/** The origin to build URLs from: the configured one whose host the client asked for, else the first. */
function pickOrigin(origins: readonly string[], host: string | undefined): string {
  const first = origins[0];
  if (first === undefined) throw new ConfigurationError('the adapter needs at least one configured origin.');
  if (host === undefined) return first;
  return origins.find((origin) => new URL(origin).host === host.toLowerCase()) ?? first;
}

/** Path and query of the request target. An absolute-form target (`GET http://x/y`) keeps only its path. */
function pathAndQuery(target: string | undefined): string {
  if (target === undefined || target === '') return '/';
  if (target.startsWith('/')) return target;
  try {
    const url = new URL(target);
    return `${url.pathname}${url.search}`;
  } catch {
    return '/';
  }
}

/**
 * A `.` or `..` path segment, also percent-encoded or after a backslash (which URL parsers read
 * as a slash). The adapter picks Gatehouse's requests on the raw path, and Gatehouse routes on
 * the parsed URL, which resolves them: `/auth/x/../admin/users` reached the admin API past an app
 * guard mounted on `/auth/admin`. Browsers resolve them before sending, so nothing real has one.
 */
function hasDotSegment(path: string): boolean {
  return path.split(/[\\/]/).some((segment) => {
    const plain = segment.replace(/%2e/gi, '.');
    return plain === '.' || plain === '..';
  });
}

/** The socket's remote address: what Gatehouse expects as `{ ip }` (forwarded headers count only via trustedProxies). */
export function clientAddress(req: IncomingMessage): string | undefined {
  return req.socket.remoteAddress;
}

/**
 * The request body as a web stream. Not `Readable.toWeb(req)`: its cancel() destroys the
 * IncomingMessage and detaches it from the socket, and Node then stops reading the connection.
 * A handler that stops early (a 413 on a chunked body over the limit) left the connection wedged:
 * the next request on it was never answered, and the client was reset at keepAliveTimeout. Here
 * cancel() discards the rest of the body, which is what Node does with a body nobody reads.
 */
function bodyStream(req: IncomingMessage): ReadableStream<Uint8Array> {
  let open = true;
  const onData = (chunk: Buffer | string) => {
    if (!open) return;
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    controller.enqueue(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    if ((controller.desiredSize ?? 0) <= 0) req.pause();
  };
  const finish = (error?: unknown) => {
    if (!open) return;
    open = false;
    req.off('data', onData);
    if (error === undefined) controller.close();
    else controller.error(error);
  };
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  return new ReadableStream<Uint8Array>(
    {
      start(c) {
        controller = c;
        req.pause();
        req.on('data', onData);
        req.once('end', () => finish());
        req.once('error', (error) => finish(error));
        // A client that goes away mid-body: 'close' without 'end'.
        req.once('close', () => finish(req.readableEnded ? undefined : new Error('the client closed the connection mid-body')));
      },
      pull() {
        req.resume();
      },
      cancel() {
        open = false;
        req.off('data', onData);
        req.resume(); // read and drop the rest, so the connection can serve its next request
      },
    },
    { highWaterMark: 64 * 1024, size: (chunk) => chunk.byteLength },
  );
}

/** `IncomingMessage -> Request`: method, every header, URL from the configured origin, body as a stream. */
export function toWebRequest(req: IncomingMessage, options: ToWebRequestOptions): Request {
  const headers = new Headers();
  const cookies: string[] = [];
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    // HTTP/2 pseudo-headers (:path, :authority) are not headers of a web Request.
    if (name.startsWith(':')) continue;
    // Several Cookie lines (HTTP/2 sends one per cookie) join with "; " (RFC 9113 8.2.3), not ", ".
    if (name.toLowerCase() === 'cookie') cookies.push(raw[i + 1]!);
    else headers.append(name, raw[i + 1]!);
  }
  if (cookies.length > 0) headers.set('cookie', cookies.join('; '));
  const method = req.method ?? 'GET';
  if (FORBIDDEN_METHODS.has(method.toUpperCase())) throw new MethodNotAllowedError(API_METHODS);
  const url = new URL(`${pickOrigin(options.origins, req.headers.host)}${pathAndQuery(options.url ?? req.url)}`);
  const init: RequestInit & { duplex?: 'half' } = { method, headers };
  if (options.body !== false && method !== 'GET' && method !== 'HEAD') {
    // A body parser (express.json(), ...) that ran first has drained the stream: the handler
    // would see an empty body and answer a confusing 400. Say what to change instead.
    if (req.readableDidRead || req.readableEnded) {
      throw new ConfigurationError('the request body was already read. Mount the Gatehouse handler before body-parsing middleware.');
    }
    init.body = bodyStream(req);
    init.duplex = 'half'; // required by undici for a streamed request body
  }
  return new Request(url, init);
}

/** `Response -> ServerResponse`: status, every header (each Set-Cookie on its own line, after any already set), the body streamed. */
export async function sendWebResponse(res: ServerResponse, response: Response, method = 'GET'): Promise<void> {
  res.statusCode = response.status;
  response.headers.forEach((value, name) => {
    if (name !== 'set-cookie') res.setHeader(name, value);
  });
  // Headers#forEach joins Set-Cookie values with ", ", which breaks cookies that contain a date.
  // Appended to any an earlier middleware set (Express's res.cookie()), not replacing them.
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) {
    const earlier = res.getHeader('set-cookie');
    const kept = earlier === undefined ? [] : Array.isArray(earlier) ? earlier : [String(earlier)];
    res.setHeader('set-cookie', [...kept, ...cookies]);
  }

  if (response.body === null || method === 'HEAD') {
    await response.body?.cancel();
    res.end();
    return;
  }
  await pipeline(Readable.fromWeb(response.body as NodeReadableStream<Uint8Array>), res);
}

export interface NodeAdapter {
  /**
   * Answers requests under `basePath` (true), or leaves them to you (false). Never throws.
   * `url` overrides `req.url` (a framework that rewrites `req.url` passes the original).
   */
  handle(req: IncomingMessage, res: ServerResponse, url?: string): Promise<boolean>;
  /** A headers-only web Request for your own checks: `auth.verifyOrigin(gatehouse.request(req))`. */
  request(req: IncomingMessage): Request;
  /** `{ user, session }` or null. Reads only the cookie; the body stays unread for you. */
  getSession(req: IncomingMessage): Promise<SessionResult | null>;
  /** 401 when signed out: throws UnauthenticatedError. */
  requireSession(req: IncomingMessage): Promise<SessionResult>;
  /** 401 when signed out, 403 without the permission (throws; send the error with `sendError`). */
  requirePermission(req: IncomingMessage, permission: string): Promise<SessionResult>;
  /** Writes a web Response. Never rejects: a client that went away mid-response gets its socket closed. */
  send(res: ServerResponse, response: Response): Promise<void>;
  /** Writes any thrown error as the JSON error response (AuthError keeps its status and code). Never rejects; with headers already sent it closes the socket. */
  sendError(res: ServerResponse, error: unknown): Promise<void>;
}

/** Gatehouse for `http.createServer`. The client IP is the socket's remote address. */
export function createNodeAdapter(auth: Gatehouse): NodeAdapter {
  const { origins, basePath } = auth.config;
  const request = (req: IncomingMessage) => toWebRequest(req, { origins, body: false });
  const underBasePath = (target: string | undefined) => pathAndQuery(target).split('?', 1)[0]!.startsWith(`${basePath}/`);

  return {
    async handle(req, res, url = req.url) {
      if (!underBasePath(url)) return false;
      let response: Response;
      try {
        if (hasDotSegment(pathAndQuery(url).split('?', 1)[0]!)) {
          throw new BadRequestError('BAD_REQUEST', 'The path contains a "." or ".." segment. Send the path as a browser does, with those resolved.');
        }
        response = await auth.handler(toWebRequest(req, { origins, url }), { ip: clientAddress(req) });
      } catch (error) {
        response = auth.errorResponse(error);
      }
      try {
        await sendWebResponse(res, response, req.method);
      } catch {
        // The client disconnected mid-body: nothing left to tell it.
        res.destroy();
      }
      return true;
    },
    request,
    getSession: (req) => auth.getSession(request(req)),
    requireSession: (req) => auth.requireSession(request(req)),
    requirePermission: (req, permission) => auth.requirePermission(request(req), permission),
    send: (res, response) => sendOrDrop(res, response),
    sendError: async (res, error) => {
      // Headers already out (the failure came mid-body) or the client gone: no error response fits.
      if (res.headersSent || res.destroyed) {
        res.destroy();
        return;
      }
      await sendOrDrop(res, auth.errorResponse(error));
    },
  };
}

/**
 * Writes the response; never rejects. A client that disconnected mid-response cannot be told
 * anything, and a rejection here would escape an `async` createServer listener (Node ignores the
 * promise it returns) as an unhandled rejection that ends the process.
 */
async function sendOrDrop(res: ServerResponse, response: Response): Promise<void> {
  try {
    await sendWebResponse(res, response);
  } catch {
    res.destroy();
  }
}
