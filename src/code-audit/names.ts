import type { Node } from 'oxc-parser';
import { lastName, path, unwrap } from './ast-names.js';
import { type SourceFile } from './source.js';

/** Folds `access_token`, `accessToken`, `ACCESS-TOKEN` to `accesstoken`. */
export function fold(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '');
}

// Values that carry a bearer secret: tokens, JWTs, session ids. CSRF tokens, pagination
// tokens, axios cancel tokens and push-notification tokens are not credentials.
const TOKEN = /token|jwt|bearer|sessionid|sessid|authorization|credential|apikey|secret/;
const NOT_TOKEN = /csrf|xsrf|pagetoken|nexttoken|cursor|cancel|tokeniz|fcm|push|device|captcha|tokentype|tokencount|maxtokens|expires|expiry|expiresat|exp$|tokenurl|tokenendpoint|endpoint|url$|path$|cookiename|name$|key$|storagekey|^has|^is(?!sued)/;

export function isTokenName(name: string): boolean {
  const f = fold(name);
  return (TOKEN.test(f) || words(name).includes('sid')) && !NOT_TOKEN.test(f);
}

/**
 * The words of a name: `connect.sid` -> connect, sid; `userSid` -> user, sid; `SIDEBAR_STATE` ->
 * sidebar, state. "sid" must be a whole word: `sidebar`, `sidebarOpen` and shadcn/ui's
 * `SIDEBAR_COOKIE_NAME` are not session ids.
 */
function words(name: string): string[] {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase().split(/[^a-z0-9]+/);
}

/** Cookie and storage-key names that hold a session or token. */
export function isSessionName(name: string): boolean {
  const f = fold(name);
  return (isTokenName(name) || /session|auth|^sid$|jwt|remember/.test(f)) && !/csrf|xsrf|theme|locale|consent|lang/.test(f);
}

export function isRefreshName(name: string): boolean {
  return fold(name).includes('refresh');
}

/** An URL that looks like a sign-in or token endpoint (for "derived from an auth response"). */
export function isAuthUrl(text: string): boolean {
  return /login|log-in|signin|sign-in|\/auth\b|\/auth\/|oauth|\/token\b|\/session|\/refresh|authenticate/i.test(text);
}

const FETCHERS = new Set(['fetch', 'axios', 'axios.post', 'axios.get', 'axios.request', 'ky', 'ky.post', 'ofetch', '$fetch', 'got', 'got.post', 'request', 'superagent.post', 'api.post', 'http.post', 'client.post']);

/** The URL text of a fetch-like call, when it is one. */
export function fetchUrl(file: SourceFile, node: Node): string | undefined {
  const n = unwrap(node);
  if (n.type !== 'CallExpression') return undefined;
  const callee = path(n.callee) ?? '';
  if (!FETCHERS.has(callee) && !/^(fetch|axios|ky|api|http|client)\b/.test(callee)) return undefined;
  const first = n.arguments[0];
  if (first === undefined) return undefined;
  const resolved = file.resolve(first);
  return file.string(resolved) ?? (resolved.type === 'TemplateLiteral' ? file.source(resolved) : resolved.type === 'NewExpression' ? file.source(resolved) : undefined);
}

/**
 * Whether an expression carries a token: by its name (`accessToken`, `data.jwt`), or because it
 * comes from the response of a sign-in/token request (`await (await fetch('/api/login')).json()`).
 * Follows variables within the file.
 */
export function carriesToken(file: SourceFile, node: Node, depth = 6): boolean {
  if (depth <= 0) return false;
  const n = unwrap(node);
  switch (n.type) {
    case 'Identifier': {
      if (isTokenName(n.name)) return true;
      const b = file.binding(n.name, n.start);
      if (b === undefined || b.init === n) return false;
      if (b.property !== undefined) return isTokenName(b.property) || (authResponse(file, b.init, depth - 1) && !isUserDataName(b.property));
      return carriesToken(file, b.init, depth - 1);
    }
    case 'MemberExpression': {
      const name = lastName(n);
      if (name !== undefined && isTokenName(name)) return true;
      if (name === 'data' || name === 'body') return carriesToken(file, n.object, depth - 1);
      return false;
    }
    case 'CallExpression': {
      const callee = path(n.callee) ?? '';
      if (callee === 'JSON.stringify' || callee === 'String' || callee === 'encodeURIComponent' || callee === 'btoa') {
        return n.arguments[0] !== undefined && carriesToken(file, n.arguments[0], depth - 1);
      }
      // getAccessToken(), auth.getToken(), session.jwt()
      const name = lastName(n.callee) ?? '';
      if (isTokenName(name.replace(/^(get|read|load|fetch|create|issue|sign|generate|mint)(?=[A-Z_])/, ''))) return true;
      return authResponse(file, n, depth - 1);
    }
    case 'TemplateLiteral':
      return n.expressions.some((e) => carriesToken(file, e, depth - 1));
    case 'BinaryExpression':
      return carriesToken(file, n.left, depth - 1) || carriesToken(file, n.right, depth - 1);
    case 'LogicalExpression':
      return carriesToken(file, n.left, depth - 1) || carriesToken(file, n.right, depth - 1);
    default:
      return false;
  }
}

function isUserDataName(name: string): boolean {
  return /^(user|profile|name|email|id|role|roles|permissions|message|error|ok|status|expiresin|expiresat)$/i.test(name);
}

/** A whole sign-in/token response (or its parsed body). */
export function authResponse(file: SourceFile, node: Node, depth = 6): boolean {
  if (depth <= 0) return false;
  const n = unwrap(node);
  if (n.type === 'Identifier') {
    const b = file.binding(n.name, n.start);
    return b !== undefined && b.property === undefined && b.init !== n && authResponse(file, b.init, depth - 1);
  }
  if (n.type === 'MemberExpression' && (lastName(n) === 'data' || lastName(n) === 'body')) return authResponse(file, n.object, depth - 1);
  if (n.type !== 'CallExpression') return false;
  const url = fetchUrl(file, n);
  if (url !== undefined) return isAuthUrl(url);
  // r.json(), res.then(r => r.json()), response.text(): the body of whatever `r` is.
  if (n.callee.type === 'MemberExpression' && ['json', 'then', 'text'].includes(lastName(n.callee) ?? '')) return authResponse(file, n.callee.object, depth - 1);
  return false;
}
