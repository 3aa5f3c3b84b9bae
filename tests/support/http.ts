// Small HTTP pieces shared by the loopback test servers (hostile IdP, fake GitHub).
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

const MAX_BODY_BYTES = 64 * 1024;

/**
 * Client credentials from HTTP Basic (RFC 6749 2.3.1: form-encoded id and secret) or from the
 * form body. With `exclusive`, presenting both is refused (RFC 6749 2.3: one method per request).
 */
export function clientCredentials(authorization: string | undefined, form: URLSearchParams, exclusive = false): { id: string; secret: string } | null {
  const basic = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(authorization ?? '');
  if (basic?.[1] !== undefined) {
    if (exclusive && form.has('client_secret')) return null;
    const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return null;
    try {
      const formDecode = (value: string) => decodeURIComponent(value.replace(/\+/g, ' '));
      return { id: formDecode(decoded.slice(0, colon)), secret: formDecode(decoded.slice(colon + 1)) };
    } catch {
      return null; // malformed percent-encoding
    }
  }
  const id = form.get('client_id');
  const secret = form.get('client_secret');
  return id === null || secret === null ? null : { id, secret };
}

export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

export async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > MAX_BODY_BYTES) throw new Error('test server: request body too large');
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
}
