import { z } from 'zod';
import { BadRequestError, PayloadTooLargeError, UnsupportedMediaTypeError } from '../errors.js';
import { DISPLAY_TEXT_RULE, normalizeDisplayText } from '../lib/text.js';

/** True when the Content-Type's media type is exactly application/json (parameters allowed). */
export function isJsonContentType(value: string | null): boolean {
  if (value === null) return false;
  return value.split(';', 1)[0]!.trim().toLowerCase() === 'application/json';
}

/** Stateless between calls (no `stream` option), so one instance serves every request. */
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads a JSON body defensively: only application/json (a text/plain "JSON" body from a
 * cross-site form is refused, CSRF-01/02), at most `maxBytes` (counted while streaming,
 * not trusted from Content-Length), valid UTF-8, valid JSON. Every failure is a 4xx.
 */
export async function readJson(request: Request, maxBytes: number): Promise<unknown> {
  if (!isJsonContentType(request.headers.get('content-type'))) throw new UnsupportedMediaTypeError();
  const declared = Number(request.headers.get('content-length') ?? '0');
  if (Number.isFinite(declared) && declared > maxBytes) throw new PayloadTooLargeError(maxBytes);
  const bytes = await readCapped(request, maxBytes);
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new BadRequestError('INVALID_ENCODING', 'The request body is not valid UTF-8.');
  }
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch {
    throw new BadRequestError('INVALID_JSON', 'The request body is not valid JSON.');
  }
  // A raw NUL is not valid JSON; an escaped one becomes U+0000 in a string. No Gatehouse field
  // takes one, and PostgreSQL refuses it in text: it is a 400 here, not a 503 at the database.
  if (text.includes('\\u0000') && holdsNul(value)) {
    throw new BadRequestError('VALIDATION_FAILED', 'The request body contains the NUL character (\\u0000), which no field accepts.');
  }
  return value;
}

/** Walks the parsed value with an explicit stack: JSON nested thousands deep must not overflow the call stack (a 500). */
function holdsNul(root: unknown): boolean {
  const pending: unknown[] = [root];
  while (pending.length > 0) {
    const value = pending.pop();
    if (typeof value === 'string') {
      if (value.includes('\0')) return true;
    } else if (Array.isArray(value)) {
      // One by one: spreading a 500,000-element array into push() would overflow the stack too.
      for (const item of value as unknown[]) pending.push(item);
    } else if (typeof value === 'object' && value !== null) {
      for (const [key, item] of Object.entries(value)) {
        if (key.includes('\0')) return true;
        pending.push(item);
      }
    }
  }
  return false;
}

/**
 * A name or label people type: NFC, trimmed, 1 (with `min`) to `max` characters, and none of the
 * characters `normalizeDisplayText` refuses (controls, bidirectional controls).
 */
export function displayText(max: number, min = 0) {
  return z.string().transform((value, ctx) => {
    const text = normalizeDisplayText(value);
    if (text === null) ctx.addIssue({ code: 'custom', message: DISPLAY_TEXT_RULE });
    else if (text.length > max) ctx.addIssue({ code: 'custom', message: `at most ${max} characters` });
    else if (text.length < min) ctx.addIssue({ code: 'custom', message: min === 1 ? 'may not be empty' : `at least ${min} characters` });
    else return text;
    return z.NEVER;
  });
}

async function readCapped(request: Request, maxBytes: number): Promise<Uint8Array> {
  if (request.body === null) return new Uint8Array();
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    let result: ReadableStreamReadResult<Uint8Array>;
    try {
      result = await reader.read();
    } catch {
      throw new BadRequestError('BAD_REQUEST', 'The request body could not be read.');
    }
    if (result.done) break;
    total += result.value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      throw new PayloadTooLargeError(maxBytes);
    }
    chunks.push(result.value);
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/** Validates parsed input against a schema; the first problem becomes the 400 message. */
export function parseInput<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  throw new BadRequestError('VALIDATION_FAILED', `${where}${issue?.message ?? 'invalid input'}`);
}

/**
 * For endpoints that take no body: refuses a non-JSON body so a cross-site form with an
 * unusual content type cannot reach them, and ignores an empty one.
 */
export async function expectNoBody(request: Request): Promise<void> {
  const type = request.headers.get('content-type');
  if (type === null) {
    const bytes = await readCapped(request, 1024);
    if (bytes.byteLength > 0) throw new UnsupportedMediaTypeError();
    return;
  }
  if (!isJsonContentType(type)) throw new UnsupportedMediaTypeError();
  await readCapped(request, 1024);
}
