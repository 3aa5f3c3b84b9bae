import type { Node } from 'oxc-parser';
import { fold, isRefreshName } from '../names.js';
import { isImported, moduleOf } from '../imports.js';
import { calleeOf, functionName, lastName, memberName, path, unwrap } from '../ast-names.js';
import { type SourceFile } from '../source.js';
import type { Rule } from '../types.js';

/** RFC 8725 / the seed: an access token should live minutes, not days. */
export const MAX_ACCESS_TOKEN_SECONDS = 15 * 60;

const UNITS: Record<string, number> = { s: 1, sec: 1, secs: 1, second: 1, seconds: 1, m: 60, min: 60, mins: 60, minute: 60, minutes: 60, h: 3600, hr: 3600, hrs: 3600, hour: 3600, hours: 3600, d: 86_400, day: 86_400, days: 86_400, w: 604_800, week: 604_800, weeks: 604_800, y: 31_557_600, yr: 31_557_600, yrs: 31_557_600, year: 31_557_600, years: 31_557_600 };

/** Seconds in a jose/`ms`-style duration: "15m", "30 days", "2h". `undefined` when not a duration. */
export function durationSeconds(text: string): number | undefined {
  const m = /^\s*\+?(\d+(?:\.\d+)?)\s*([a-z]+)?\s*(?:from now)?\s*$/i.exec(text);
  if (m === null) return undefined;
  const unit = (m[2] ?? 's').toLowerCase();
  const factor = UNITS[unit];
  return factor === undefined ? undefined : Number(m[1]) * factor;
}

function describe(seconds: number): string {
  if (seconds % 86_400 === 0) return `${seconds / 86_400} day(s)`;
  if (seconds % 3600 === 0) return `${seconds / 3600} hour(s)`;
  if (seconds % 60 === 0) return `${seconds / 60} minute(s)`;
  return `${seconds} second(s)`;
}

/** Lifetime of `exp` arithmetic: `Math.floor(Date.now() / 1000) + 60 * 60 * 24` -> 86400. */
function expArithmetic(file: SourceFile, node: Node): number | undefined {
  const n = file.resolve(node);
  if (n.type !== 'BinaryExpression' || n.operator !== '+') return undefined;
  const nowish = (x: Node) => /Date\.now|getTime|now\(\)|iat|Math\.floor/.test(file.source(file.resolve(x)));
  if (nowish(n.left)) return file.number(n.right);
  if (nowish(n.right)) return file.number(n.left);
  return undefined;
}

/** A token that is not an access token: refresh tokens, by variable, function, or a `type` claim. */
function isRefreshContext(file: SourceFile, node: Node, payload: Node | undefined): boolean {
  if (payload !== undefined) {
    const o = file.object(payload);
    for (const p of o?.properties ?? []) {
      if (p.type !== 'Property') continue;
      const key = p.key.type === 'Identifier' ? p.key.name : '';
      if (isRefreshName(key) || (/^(type|typ|token_use|tokenType|kind|use)$/.test(key) && /refresh|id|verify|reset|invite|magic|email/i.test(file.string(p.value) ?? ''))) return true;
    }
  }
  for (const a of file.ancestors(node)) {
    if (a.type === 'VariableDeclarator' && a.id.type === 'Identifier' && isRefreshName(a.id.name)) return true;
    if (a.type === 'Property' && a.key.type === 'Identifier' && isRefreshName(a.key.name)) return true;
    if ((a.type === 'FunctionDeclaration' || a.type === 'FunctionExpression' || a.type === 'ArrowFunctionExpression') && /refresh|reset|verif|invite|magic|email|idtoken/i.test(fold(functionName(file, a)))) return true;
  }
  return false;
}

/** The calls chained on `new SignJWT(...)`: `.setProtectedHeader().setExpirationTime('30d').sign(key)`. */
function chain(file: SourceFile, start: Node): Map<string, Node[]> {
  const calls = new Map<string, Node[]>();
  let current: Node = start;
  for (;;) {
    const member = file.parent(current);
    if (member?.type !== 'MemberExpression' || member.object !== current) break;
    const call = file.parent(member);
    if (call?.type !== 'CallExpression') break;
    calls.set(memberName(member) ?? '', call.arguments);
    current = call;
  }
  return calls;
}

/**
 * `jwt` in `jwt.sign(...)` is jsonwebtoken: imported or required from it (`require('jsonwebtoken').sign`
 * too), or an unbound `jwt` (a global or an injected module).
 */
function isJsonwebtoken(file: SourceFile, node: Node): boolean {
  const imported = moduleOf(file, node);
  if (imported !== undefined) return imported === 'jsonwebtoken';
  const object = path(node) ?? '';
  const bound = file.binding(object, Number.MAX_SAFE_INTEGER);
  if (bound !== undefined) return /require\(\s*['"]jsonwebtoken['"]\s*\)/.test(file.source(bound.init));
  return /^(jwt|jsonwebtoken)$/.test(object);
}

/**
 * A call of jsonwebtoken's `fn`: `jwt.sign(...)` as above, or the function imported by name under
 * any local name (`import { sign as signToken }`, `const { verify: check } = require(...)`).
 */
function isJsonwebtokenCall(file: SourceFile, call: Extract<Node, { type: 'CallExpression' }>, fn: 'sign' | 'verify' | 'decode'): boolean {
  if (isImported(file, call.callee, 'jsonwebtoken', [fn])) return true;
  return call.callee.type === 'MemberExpression' && memberName(call.callee) === fn && isJsonwebtoken(file, call.callee.object);
}

/** jose's `name` (`jwtVerify`, `SignJWT`...) by its own name, or imported from jose under another one. */
function isJose(file: SourceFile, callee: Node, name: string): boolean {
  return lastName(callee) === name || isImported(file, callee, 'jose', [name]);
}

export const accessTokenLifetime: Rule = {
  info: {
    id: 'access-token-lifetime',
    severity: 'high',
    title: 'Access token lives longer than 15 minutes, or never expires',
    explanation:
      'A signed access token is checked without a database lookup, so it cannot be revoked: whoever holds it is the user until `exp`. A 30-day token that leaks (logs, a proxy, XSS, a lost laptop) is a 30-day credential, and a token without `exp` is a permanent one. Disabling the account or signing out does not stop it.',
    fix: 'Give access tokens at most 15 minutes (`setExpirationTime("15m")`, `expiresIn: "15m"`) and keep the session alive with a rotating, revocable refresh token or a database session.',
    guide: 'jwt',
  },
  check(file, report) {
    for (const node of file.ofType('NewExpression')) {
      if (!isJose(file, node.callee, 'SignJWT')) continue;
      const payload = node.arguments[0];
      const calls = chain(file, node);
      if (!calls.has('sign') || isRefreshContext(file, node, payload)) continue;
      const exp = calls.get('setExpirationTime')?.[0];
      if (exp === undefined) {
        if (file.object(payload) === undefined || !file.mayHave(payload, 'exp')) report({ node, message: 'SignJWT without setExpirationTime: this access token never expires.' });
        continue;
      }
      const text = file.string(exp);
      const seconds = text !== undefined ? durationSeconds(text) : (expArithmetic(file, exp) ?? undefined);
      if (seconds !== undefined && seconds > MAX_ACCESS_TOKEN_SECONDS) report({ node, message: `Access token valid for ${describe(seconds)} (setExpirationTime); keep it at 15 minutes or less.` });
    }
    for (const call of file.calls()) {
      if (!isJsonwebtokenCall(file, call, 'sign')) continue;
      const [payload, , options] = call.arguments;
      if (isRefreshContext(file, call, payload)) continue;
      const expiresIn = file.property(options, 'expiresIn');
      const exp = file.property(payload, 'exp');
      let seconds: number | undefined;
      if (expiresIn !== undefined) seconds = file.string(expiresIn) !== undefined ? durationSeconds(file.string(expiresIn) ?? '') : file.number(expiresIn);
      else if (exp !== undefined) seconds = expArithmetic(file, exp);
      else if (!(options !== undefined && file.object(options) === undefined) && file.object(payload) !== undefined) {
        report({ node: call, message: 'jwt.sign without expiresIn or an exp claim: this access token never expires.' });
        continue;
      }
      if (seconds !== undefined && seconds > MAX_ACCESS_TOKEN_SECONDS) report({ node: call, message: `Access token valid for ${describe(seconds)} (${expiresIn !== undefined ? 'expiresIn' : 'exp'}); keep it at 15 minutes or less.` });
    }
  },
};

const CLAIM_USE = /^(sub|role|roles|userId|user_id|uid|id|email|permissions|scope|scopes|isAdmin|admin|groups|tenant|tenantId|org|user)$/;

/** How a decoded payload is used: claim reads on it (identity or authorization), or only `exp`. */
function claimsUsed(file: SourceFile, decoded: Node): string[] {
  const parent = file.parent(decoded);
  if (parent?.type === 'MemberExpression' && parent.object === decoded) return [memberName(parent) ?? ''].filter((n) => CLAIM_USE.test(n));
  const holder = parent?.type === 'AwaitExpression' ? file.parent(parent) : parent;
  if (holder?.type === 'VariableDeclarator') {
    if (holder.id.type === 'ObjectPattern') return holder.id.properties.flatMap((p) => (p.type === 'Property' && p.key.type === 'Identifier' && CLAIM_USE.test(p.key.name) ? [p.key.name] : []));
    if (holder.id.type === 'Identifier') {
      const name = holder.id.name;
      const used: string[] = [];
      for (const m of file.ofType('MemberExpression')) {
        const object = unwrap(m.object);
        if (object.type === 'Identifier' && object.name === name && m.start > holder.start) {
          const claim = memberName(m) ?? '';
          if (CLAIM_USE.test(claim)) used.push(claim);
        }
      }
      if (used.length > 0) return used;
      // Handed on as a whole (returned, stored, passed) from a function about the current user.
      const passed = file.ofType('Identifier').some((i) => i.name === name && i.start > holder.end && ['ReturnStatement', 'Property', 'CallExpression'].includes(file.parent(i)?.type ?? ''));
      return passed && identityFunction(file, decoded) ? ['(the whole payload)'] : [];
    }
  }
  if (holder?.type === 'ReturnStatement' && identityFunction(file, decoded)) return ['(the whole payload)'];
  return [];
}

/** A function whose name says it answers "who is this" or "what may they do". */
function identityFunction(file: SourceFile, node: Node): boolean {
  const fn = file.enclosingFunction(node);
  return fn !== undefined && /user|session|auth|current|identity|whoami|role|permission|account|principal|viewer/i.test(functionName(file, fn));
}

function isManualDecode(file: SourceFile, call: Extract<Node, { type: 'CallExpression' }>): boolean {
  const callee = path(call.callee) ?? '';
  if (callee !== 'atob' && callee !== 'Buffer.from' && callee !== 'base64url.decode' && callee !== 'base64UrlDecode') return false;
  const arg = call.arguments[0];
  if (arg === undefined) return false;
  const a = file.resolve(arg);
  // token.split('.')[1]
  return a.type === 'MemberExpression' && /\.split\(\s*['"]\.['"]\s*\)/.test(file.source(a));
}

export const jwtDecodeUnverified: Rule = {
  info: {
    id: 'jwt-decode-unverified',
    severity: 'high',
    title: 'JWT decoded, not verified, and its claims trusted',
    explanation:
      'Decoding a JWT (`jwt.decode`, `decodeJwt`, `jwtDecode`, or base64 of the middle part) reads claims without checking the signature. Anyone can write a token that says `{"sub":"admin","role":"admin"}`; code that takes identity or permissions from it lets them in. An ID token decoded this way proves nothing about who signed in.',
    fix: 'Verify before you read: `jwtVerify(token, key, { issuer, audience, algorithms })` (jose) or `jwt.verify(token, key, { issuer, audience, algorithms })`. For ID tokens, let your OpenID client library validate them. Decode without verifying only for display, never for decisions.',
    guide: 'jwt',
  },
  check(file, report) {
    for (const call of file.calls()) {
      const { path: callee, last } = calleeOf(call);
      const decodes =
        isJsonwebtokenCall(file, call, 'decode') ||
        isJose(file, call.callee, 'decodeJwt') || last === 'jwtDecode' || callee === 'jwt_decode' ||
        (call.callee.type === 'MemberExpression' && memberName(call.callee) === 'decode' && isJose(file, call.callee.object, 'UnsecuredJWT')) ||
        isImported(file, call.callee, 'jwt-decode', ['default', '*', 'jwtDecode']) || // import decodeToken from 'jwt-decode'
        isManualDecode(file, call);
      if (!decodes) continue;
      // JSON.parse(atob(...)) is the decoded value.
      const outer = file.parent(call)?.type === 'CallExpression' && path((file.parent(call) as Extract<Node, { type: 'CallExpression' }>).callee) === 'JSON.parse' ? (file.parent(call) as Node) : call;
      const token = call.arguments[0] === undefined ? '' : file.source(call.arguments[0]);
      const claims = claimsUsed(file, outer);
      const idToken = /id_?token/i.test(token);
      if (claims.length > 0 || idToken) {
        report({ node: call, message: `${idToken ? 'An ID token' : 'A JWT'} is decoded without signature verification${claims.length > 0 ? ` and ${[...new Set(claims)].join(', ')} is used from it` : ''}.` });
      }
    }
  },
};

export const jwtVerifyOptions: Rule = {
  info: {
    id: 'jwt-verify-options',
    severity: 'medium',
    title: 'JWT verified without issuer, audience or a pinned algorithm',
    explanation:
      'A valid signature only says that someone with the key signed the token. Without `issuer` and `audience`, a token that the same key (or the same identity provider) issued for another service or another client is accepted too (RFC 8725 3.8, 3.9). With jsonwebtoken and no `algorithms` list, the algorithm comes from the token header, the root of the historic alg confusion attacks (RFC 8725 3.1).',
    fix: 'Pass `{ issuer, audience, algorithms: ["ES256"] }` (or the one algorithm you sign with) to `jwtVerify` / `jwt.verify`.',
    guide: 'jwt',
  },
  check(file, report) {
    for (const call of file.calls()) {
      const jose = isJose(file, call.callee, 'jwtVerify');
      const jsonwebtoken = isJsonwebtokenCall(file, call, 'verify');
      if (!jose && !jsonwebtoken) continue;
      const options = call.arguments[2];
      const optionsNode = options === undefined || ['ArrowFunctionExpression', 'FunctionExpression'].includes(options.type) ? undefined : options;
      const missing = ['issuer', 'audience', ...(jsonwebtoken ? ['algorithms'] : [])].filter((k) => (optionsNode === undefined ? true : !file.mayHave(optionsNode, k)));
      if (missing.length > 0) report({ node: call, message: `${jose ? 'jwtVerify' : 'jwt.verify'} without ${missing.join(', ')}: tokens meant for other services or clients are accepted.` });
    }
  },
};

export const jwtAlgNone: Rule = {
  info: {
    id: 'jwt-alg-none',
    severity: 'high',
    title: 'Unsigned JWTs (alg "none") allowed',
    explanation: 'A token with `"alg": "none"` has no signature: anyone can write one with any claims. Allowing it in the verifier or creating such tokens turns authentication off (RFC 8725 2.1).',
    fix: 'Remove "none" from `algorithms` and sign every token; list only the algorithm you use.',
    guide: 'jwt',
  },
  check(file, report) {
    for (const node of file.ofType('Property')) {
      const key = node.key.type === 'Identifier' ? node.key.name : '';
      if (key !== 'algorithms' && key !== 'algorithm' && key !== 'alg') continue;
      const value = file.resolve(node.value);
      const values = value.type === 'ArrayExpression' ? value.elements.flatMap((e) => (e !== null && e.type !== 'SpreadElement' ? [file.string(e)] : [])) : [file.string(value)];
      if (values.some((v) => v !== undefined && v.toLowerCase() === 'none')) report({ node, message: `${key}: "none" accepts or creates unsigned tokens.` });
    }
    for (const node of file.ofType('NewExpression')) {
      if (isJose(file, node.callee, 'UnsecuredJWT')) report({ node, message: 'UnsecuredJWT creates a token without a signature.' });
    }
  },
};
