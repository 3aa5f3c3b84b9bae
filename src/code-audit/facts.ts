import { fold } from './names.js';
import { keyName, lastName, path } from './ast-names.js';
import { type SourceFile } from './source.js';
import type { FileFacts, ProjectFacts } from './types.js';

const POLICY_MODULES = /^(gatehouse\/authz|@casl\/ability|casbin|accesscontrol|@cerbos\/.*|@permitio\/.*|oso)$/;
const POLICY_EXPORTS = /^(can|cannot|hasPermission|checkPermission|authorize|isAllowed|isAuthorized|definePolicy|defineAbility|defineAuthz|requirePermission|assertCan|permissionsFor)$/;
const COOKIE_MODULES = /^(cookie-parser|express-session|cookie-session|iron-session|next-auth|@auth\/.*|lucia|better-auth|hono\/cookie|gatehouse|next\/headers|cookie)$/;
const CSRF_MODULES = /^(csurf|csrf-csrf|csrf-sync|lusca|tiny-csrf|@edge-csrf\/.*|hono\/csrf|next-csrf|csrf)$/;
const RATE_MODULES = /^(express-rate-limit|rate-limiter-flexible|@upstash\/ratelimit|hono-rate-limiter|express-slow-down|limiter|bottleneck|express-brute|@nestjs\/throttler|@fastify\/rate-limit)$/;

/** What one file contributes to the project-wide picture that some rules depend on. */
export function fileFacts(file: SourceFile): FileFacts {
  const modules = [...file.imports.values()];
  for (const call of file.calls()) {
    if (path(call.callee) === 'require' && call.arguments[0]?.type === 'Literal' && typeof call.arguments[0].value === 'string') modules.push(call.arguments[0].value);
  }
  const facts: FileFacts = {
    policyModule: modules.some((m) => POLICY_MODULES.test(m)),
    cookieAuth: modules.some((m) => COOKIE_MODULES.test(m)),
    csrfProtection: modules.some((m) => CSRF_MODULES.test(m)),
    rateLimiting: modules.some((m) => RATE_MODULES.test(m)),
  };
  for (const node of file.nodes) {
    if (node.type === 'ExportNamedDeclaration' && node.declaration !== null) {
      const d = node.declaration;
      const names = d.type === 'FunctionDeclaration' ? [d.id?.name ?? ''] : d.type === 'VariableDeclaration' ? d.declarations.map((v) => (v.id.type === 'Identifier' ? v.id.name : '')) : [];
      if (names.some((n) => POLICY_EXPORTS.test(n))) facts.policyModule = true;
    } else if (node.type === 'Identifier' || (node.type === 'Literal' && typeof node.value === 'string')) {
      const text = node.type === 'Identifier' ? node.name : String(node.value);
      if (text.length > 60) continue;
      const f = fold(text);
      if (/csrf|xsrf|verifyorigin|secfetchsite/.test(f)) facts.csrfProtection = true;
      if (/ratelimit|throttl|limiter|slowdown|bruteforce/.test(f)) facts.rateLimiting = true;
    } else if (node.type === 'MemberExpression') {
      const name = lastName(node);
      if (name === 'cookies' || name === 'cookie' || name === 'signedCookies') facts.cookieAuth = true;
    } else if (node.type === 'CallExpression') {
      const callee = path(node.callee) ?? '';
      if (/^(cookies|getCookie|setCookie|getSignedCookie|setSignedCookie)$/.test(callee)) facts.cookieAuth = true;
    } else if (node.type === 'Property' && keyName(node.key) === 'credentials') {
      facts.cookieAuth = true; // fetch(..., { credentials: 'include' }): the browser sends cookies
    }
  }
  return facts;
}

export function mergeFacts(all: FileFacts[]): ProjectFacts {
  return {
    policyModule: all.some((f) => f.policyModule),
    cookieAuth: all.some((f) => f.cookieAuth),
    csrfProtection: all.some((f) => f.csrfProtection),
    rateLimiting: all.some((f) => f.rateLimiting),
  };
}
