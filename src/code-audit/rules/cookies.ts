import type { Expression, Node } from 'oxc-parser';
import { imported, isImported } from '../imports.js';
import { carriesToken, isSessionName } from '../names.js';
import { calleeOf, keyName, path, requiredModule } from '../ast-names.js';
import { type SourceFile } from '../source.js';
import type { Rule } from '../types.js';

interface CookieWrite {
  node: Node;
  name: string | undefined;
  value: Node | undefined;
  /** The options object (`undefined` when none was passed). */
  options: Node | undefined;
  /** The API sets HttpOnly unless told otherwise (Koa `ctx.cookies`, SvelteKit `event.cookies`). */
  httpOnlyByDefault: boolean;
}

/**
 * `X.cookies.set(...)` writes a Set-Cookie only when X is a response or a request context:
 * `response.cookies` / `NextResponse.next().cookies` (Next.js), `ctx.cookies` (Koa),
 * `event.cookies` (SvelteKit), `Astro.cookies` / `context.cookies` (Astro). Anything else
 * (`jar.cookies`, a plain Map) is not a cookie API.
 */
const COOKIE_OWNER = /(^|\.)(res|resp|response|reply|ctx|context|event|Astro)$|Response/;
const HTTP_ONLY_BY_DEFAULT = /(^|\.)(ctx|event)$/;

/**
 * Server-side cookie writes: Express `res.cookie(name, value, options)`, Next.js
 * `cookies().set(...)` / `response.cookies.set(...)`, Hono `setCookie(c, name, value, options)`,
 * and `cookie.serialize(name, value, options)`.
 */
function cookieWrites(file: SourceFile): CookieWrite[] {
  const out: CookieWrite[] = [];
  for (const call of file.calls()) {
    const { path: callee, last } = calleeOf(call);
    const args = call.arguments;
    const objectPath = call.callee.type === 'MemberExpression' ? (path(call.callee.object) ?? '') : '';
    const owner = objectPath.endsWith('.cookies') ? objectPath.slice(0, -'.cookies'.length) : undefined;
    if (last === 'cookie' && /^(res|response|reply|ctx|c)$/.test(objectPath) && args.length >= 2) {
      out.push({ node: call, name: file.string(args[0]), value: args[1], options: args[2], httpOnlyByDefault: false });
    } else if (last === 'set' && (objectPath === 'cookies()' || (owner !== undefined && COOKIE_OWNER.test(owner)) || isNextCookieStore(file, objectPath, call.start))) {
      const httpOnlyByDefault = owner !== undefined && HTTP_ONLY_BY_DEFAULT.test(owner);
      const [first] = args;
      if (first !== undefined && file.object(first) !== undefined) out.push({ node: call, name: file.string(file.property(first, 'name')), value: file.property(first, 'value'), options: first, httpOnlyByDefault });
      else out.push({ node: call, name: file.string(args[0]), value: args[1], options: args[2], httpOnlyByDefault });
    } else if (callee === 'setSignedCookie' || isImported(file, call.callee, 'hono/cookie', ['setCookie', 'setSignedCookie'])) {
      // Hono's, under any local name (`import { setCookie as writeCookie } from 'hono/cookie'`).
      const signed = callee === 'setSignedCookie' || imported(file, call.callee)?.name === 'setSignedCookie';
      out.push({ node: call, name: file.string(args[1]), value: args[2], options: args[signed ? 4 : 3], httpOnlyByDefault: false });
    } else if ((last === 'serialize' && objectPath === 'cookie') || isImported(file, call.callee, 'cookie', ['serialize'])) {
      out.push({ node: call, name: file.string(args[0]), value: args[1], options: args[2], httpOnlyByDefault: false });
    }
  }
  return out;
}

/** `const cookieStore = await cookies()` (Next.js) rather than the browser's CookieStore. */
function isNextCookieStore(file: SourceFile, name: string, at: number): boolean {
  const b = file.binding(name, at);
  return b !== undefined && path(file.resolve(b.init)) === 'cookies()';
}

function isTokenCookie(file: SourceFile, c: CookieWrite): boolean {
  // Clearing a cookie (empty value or Max-Age 0) writes nothing worth stealing.
  if (c.value !== undefined && file.string(c.value) === '') return false;
  if (c.options !== undefined && (file.number(file.property(c.options, 'maxAge')) === 0 || /new Date\(0\)/.test(file.source(file.property(c.options, 'expires') ?? c.options)))) return false;
  return (c.name !== undefined && isSessionName(c.name)) || (c.value !== undefined && carriesToken(file, c.value));
}

function option(file: SourceFile, c: CookieWrite, key: string): Expression | undefined {
  return c.options === undefined ? undefined : file.property(c.options, key);
}

function isFalse(file: SourceFile, node: Node | undefined): boolean {
  if (node === undefined) return false;
  const n = file.resolve(node);
  return n.type === 'Literal' && n.value === false;
}

/** Set-Cookie header strings written by hand: `token=${t}; Path=/`. */
function headerCookies(file: SourceFile): { node: Node; text: string }[] {
  const out: { node: Node; text: string }[] = [];
  for (const node of file.nodes) {
    let value: Node | undefined;
    if (node.type === 'Property' && /^set-cookie$/i.test(keyName(node.key) ?? '')) value = node.value;
    if (node.type === 'CallExpression' && /^(set|append|setHeader|header)$/.test(calleeOf(node).last) && /^set-cookie$/i.test(file.string(node.arguments[0]) ?? '')) value = node.arguments[1];
    if (value === undefined) continue;
    const v = file.resolve(value);
    const text = file.string(v) ?? (v.type === 'TemplateLiteral' ? v.quasis.map((q) => q.value.cooked ?? '').join('…') : undefined);
    if (text !== undefined) out.push({ node: value, text });
  }
  return out;
}

export const cookieNotHttpOnly: Rule = {
  info: {
    id: 'cookie-not-httponly',
    severity: 'high',
    title: 'Session or token cookie without HttpOnly',
    explanation:
      'A cookie without HttpOnly is readable through `document.cookie`, so one XSS bug hands the session to the attacker. Express `res.cookie`, Next.js `cookies().set`, Hono `setCookie` and `cookie.serialize` all default to NOT HttpOnly: leaving the option out is the same as `httpOnly: false`.',
    fix: 'Set `httpOnly: true` on every cookie that carries a session or a token (and `secure: true`, `sameSite: "lax"`, path `/`, ideally the `__Host-` prefix).',
    guide: 'cookies',
  },
  check(file, report) {
    for (const c of cookieWrites(file)) {
      if (!isTokenCookie(file, c)) continue;
      const httpOnly = option(file, c, 'httpOnly');
      // Options we cannot see (a variable from elsewhere, a spread): they may set it.
      if (httpOnly === undefined && c.options !== undefined && file.mayHave(c.options, 'httpOnly')) continue;
      const value = httpOnly === undefined ? undefined : file.resolve(httpOnly);
      if ((httpOnly === undefined && !c.httpOnlyByDefault) || (value?.type === 'Literal' && value.value === false)) {
        report({ node: c.node, message: `The cookie "${c.name ?? '?'}" carries a session or token but is ${httpOnly === undefined ? 'not set HttpOnly (the default is off)' : 'set httpOnly: false'}.` });
      }
    }
    for (const h of headerCookies(file)) {
      const name = /^\s*([^=;\s]+)=/.exec(h.text)?.[1];
      if (name !== undefined && isSessionName(name) && !/;\s*httponly/i.test(h.text)) report({ node: h.node, message: `The Set-Cookie header for "${name}" has no HttpOnly attribute.` });
    }
  },
};

export const cookieWeakAttributes: Rule = {
  info: {
    id: 'cookie-weak-attributes',
    severity: 'medium',
    title: 'Session or token cookie with secure: false or SameSite=None',
    explanation:
      'Without Secure the cookie also travels over plain HTTP, where any network on the way can read it. SameSite=None sends it with every cross-site request, which removes the browser\'s default protection against CSRF and cross-site leaks for the session.',
    fix: 'Use `secure: true` (browsers treat http://localhost as secure, so development works) and `sameSite: "lax"` (or "strict"); protect state-changing routes against CSRF as well.',
    guide: 'cookies',
  },
  check(file, report) {
    for (const c of cookieWrites(file)) {
      if (!isTokenCookie(file, c)) continue;
      const problems = [
        ...(isFalse(file, option(file, c, 'secure')) ? ['secure: false'] : []),
        ...(file.string(option(file, c, 'sameSite'))?.toLowerCase() === 'none' ? ['SameSite=None'] : []),
      ];
      if (problems.length > 0) report({ node: c.node, message: `The cookie "${c.name ?? '?'}" is set with ${problems.join(' and ')}.` });
    }
    for (const h of headerCookies(file)) {
      const name = /^\s*([^=;\s]+)=/.exec(h.text)?.[1];
      if (name !== undefined && isSessionName(name) && /;\s*samesite=none/i.test(h.text)) report({ node: h.node, message: `The Set-Cookie header for "${name}" uses SameSite=None.` });
    }
  },
};

const SESSION_MIDDLEWARE = /^(session|expressSession|cookieSession|getIronSession|ironSession)$/;
const SESSION_MODULES = new Set(['express-session', 'cookie-session', 'iron-session', 'hono-sessions']);

export const sessionNoExpiry: Rule = {
  info: {
    id: 'session-no-expiry',
    severity: 'medium',
    title: 'Session without an expiry',
    explanation:
      'A session with no lifetime lasts as long as the browser (or the store) keeps it: on a shared or stolen device it never ends by itself, and server-side records pile up. Idle and absolute timeouts bound what a stolen session is worth (ASVS V7.3).',
    fix: 'Give the session a maximum age (`cookie: { maxAge }` for express-session, `maxAge` for cookie-session, a `ttl` other than 0 for iron-session, whose default is 14 days) and an idle timeout enforced on the server.',
    guide: 'sessions',
  },
  check(file, report) {
    for (const call of file.calls()) {
      const found = imported(file, call.callee);
      if (found === undefined || !SESSION_MODULES.has(found.module)) continue;
      // The middleware under any local name: session({...}) imported or required, also renamed
      // (`import makeSession from 'express-session'`, `import { getIronSession as open }`,
      // `iron.getIronSession`), or require('express-session')({...}) itself.
      const local = requiredModule(call.callee) !== undefined ? found.module : (path(call.callee) ?? '');
      const isModule = found.name === 'default' || found.name === '*';
      if (!SESSION_MIDDLEWARE.test(local) && !SESSION_MIDDLEWARE.test(found.name) && !(isModule && found.module !== 'iron-session')) continue;
      const callee = SESSION_MIDDLEWARE.test(found.name) ? found.name : local;
      // getIronSession(req, res, options), or (iron-session 8, Next.js App Router) getIronSession(cookieStore, options).
      const options = call.arguments[callee === 'getIronSession' ? (call.arguments.length >= 3 ? 2 : 1) : 0];
      if (options === undefined || file.object(options) === undefined) continue;
      if (callee === 'getIronSession') {
        // iron-session expires its seal after 14 days by default; only `ttl: 0` ("as long as a
        // cookie can live") leaves it without a lifetime.
        if (file.number(file.property(options, 'ttl')) === 0) report({ node: call, message: 'getIronSession() is configured with ttl: 0: the session never expires.' });
        continue;
      }
      const cookie = file.property(options, 'cookie') ?? file.property(options, 'cookieOptions');
      const has = ['maxAge', 'expires', 'ttl'].some((k) => file.mayHave(options, k) && file.property(options, k) !== undefined) || (cookie !== undefined && ['maxAge', 'expires'].some((k) => file.property(cookie, k) !== undefined));
      if (!has) report({ node: call, message: `${callee}() is configured without maxAge/expires: the session never expires.` });
    }
  },
};
