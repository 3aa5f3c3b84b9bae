import type { Node } from 'oxc-parser';
import { isImported } from '../imports.js';
import { fold, isRefreshName } from '../names.js';
import { calleeOf, functionName, lastName } from '../ast-names.js';
import { isFunction, type FunctionLike, type SourceFile } from '../source.js';
import type { Rule } from '../types.js';

const ISSUES_TOKEN = (file: SourceFile, node: Node) =>
  (node.type === 'NewExpression' && (lastName(node.callee) === 'SignJWT' || isImported(file, node.callee, 'jose', ['SignJWT']))) ||
  (node.type === 'CallExpression' && isImported(file, node.callee, 'jsonwebtoken', ['sign'])) || // import { sign as issue } from 'jsonwebtoken'
  (node.type === 'CallExpression' && /^(sign|signAccessToken|createAccessToken|issueAccessToken|generateAccessToken|signToken|createToken|generateToken|issueTokens?|mintAccessToken)$/.test(lastName(node.callee) ?? '') && !/^(crypto|hmac|signer)$/i.test(file.source(node.callee).split('.')[0] ?? ''));
// Calls that end the presented refresh token: revoke it, delete its row, or mark it used.
const INVALIDATES = /revoke|invalidate|rotate|delete|destroy|remove|consume|markused|expire|^del$|^update|^updatemany|blacklist|denylist|^srem$|^hdel$|^getdel$/;
// Calls that look the refresh token up in storage.
const LOOKS_UP = /find|select|query|get$|^get|exists|lookup|^has$|fetch|^hget$|^sismember$/;

/** Functions that handle a refresh: named so, mounted on a /refresh route, or a Next.js route in a refresh folder. */
function refreshHandlers(file: SourceFile): FunctionLike[] {
  const out = new Set<FunctionLike>();
  for (const node of file.nodes) {
    if (!isFunction(node)) continue;
    if (/refresh/.test(fold(functionName(file, node)))) out.add(node);
    const parent = file.parent(node);
    if (parent?.type === 'CallExpression' && parent.arguments.some((a) => /refresh/i.test(file.string(a) ?? ''))) out.add(node);
    if (/refresh/i.test(file.path) && /^(POST|GET|PUT)$/.test(functionName(file, node))) out.add(node);
  }
  // Keep the outermost handler only.
  return [...out].filter((fn) => !file.ancestors(fn).some((a) => isFunction(a) && out.has(a)));
}

export const refreshRotation: Rule = {
  info: {
    id: 'refresh-token-rotation',
    severity: 'high',
    title: 'Refresh token not rotated or not revocable',
    explanation:
      'A refresh endpoint that issues new access tokens but leaves the presented refresh token valid lets a stolen refresh token be replayed for its whole lifetime, silently, alongside the real user. A refresh token that is a JWT checked only by its signature cannot be revoked at all: sign-out and account disabling do not stop it (RFC 9700 4.14.2).',
    fix: 'Store refresh tokens (a hash) server-side. On each refresh, look the token up, mark it used (or delete it), issue a new one in the same family, and revoke the whole family when a used token comes back.',
    guide: 'jwt',
  },
  check(file, report) {
    if (!/refresh/i.test(file.text)) return;
    for (const fn of refreshHandlers(file)) {
      const inside = file.within(fn);
      const issues = inside.some((n) => ISSUES_TOKEN(file, n));
      const readsRefresh = inside.some((n) => (n.type === 'Identifier' && isRefreshName(n.name)) || (n.type === 'Literal' && typeof n.value === 'string' && /refresh/i.test(n.value))) || /refresh/i.test(file.path);
      if (!issues || !readsRefresh) continue;
      // Reading the cookie, a header or the query is not a storage lookup.
      const storageCalls = inside.filter((n): n is Extract<Node, { type: 'CallExpression' }> => n.type === 'CallExpression' && !/cookie|header|searchParams|query|params|body/i.test(file.source(n.callee)));
      const names = storageCalls.map((n) => fold(calleeOf(n).last));
      if (names.some((n) => INVALIDATES.test(n))) continue;
      const looksUp = names.some((n) => LOOKS_UP.test(n));
      report({
        node: fn,
        message: looksUp
          ? 'This refresh handler issues a new access token but never revokes or replaces the presented refresh token: a stolen one can be replayed until it expires.'
          : 'This refresh handler issues a new access token from a refresh token that is never checked against storage nor revoked: it cannot be rotated or revoked.',
      });
    }
  },
};
