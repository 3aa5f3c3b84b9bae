import type { Node } from 'oxc-parser';
import { calleeOf, path } from '../ast-names.js';
import { type SourceFile } from '../source.js';
import type { Rule } from '../types.js';

interface Route {
  node: Node;
  method: string;
  path: string;
  /** Names of the middleware passed before the handler. */
  middleware: string[];
}

const ROUTER = /^(app|router|api|server|route|routes|r|hono|auth|admin|v1|fastify)$/i;
const METHODS = /^(get|post|put|patch|delete)$/i;

/** Express/Hono/Fastify `app.post('/path', ...handlers)` and Next.js `export async function POST` route files. */
export function routes(file: SourceFile): Route[] {
  const out: Route[] = [];
  for (const call of file.calls()) {
    const { last } = calleeOf(call);
    if (!METHODS.test(last) || call.callee.type !== 'MemberExpression') continue;
    const object = path(call.callee.object) ?? '';
    if (!ROUTER.test(object.split('.').pop()?.replace(/\(\)$/, '') ?? '') && !/\.route\(\)$/.test(object)) continue;
    const first = call.arguments[0];
    const routePath = first === undefined ? undefined : file.string(first);
    if (routePath === undefined || !routePath.startsWith('/')) continue;
    const middleware = call.arguments.slice(1, -1).map((a) => file.source(a));
    out.push({ node: call, method: last.toUpperCase(), path: routePath, middleware });
  }
  if (/(^|[\\/])route\.[cm]?[jt]sx?$/.test(file.path) || /[\\/]pages[\\/]api[\\/]/.test(file.path)) {
    const url = file.path.replace(/\\/g, '/').replace(/^.*?\/(app|pages)\//, '/').replace(/\/route\.[cm]?[jt]sx?$/, '');
    for (const node of file.ofType('ExportNamedDeclaration')) {
      const d = node.declaration;
      const names = d?.type === 'FunctionDeclaration' ? [d.id?.name ?? ''] : d?.type === 'VariableDeclaration' ? d.declarations.map((v) => (v.id.type === 'Identifier' ? v.id.name : '')) : [];
      for (const name of names) if (/^(POST|PUT|PATCH|DELETE)$/.test(name)) out.push({ node, method: name, path: url, middleware: [] });
    }
  }
  return out;
}

export const csrfUnprotectedRoute: Rule = {
  info: {
    id: 'csrf-unprotected-route',
    severity: 'medium',
    title: 'State-changing route without CSRF protection in a cookie-authenticated app',
    explanation:
      'Browsers attach cookies to requests that other sites start: a form or `fetch` on any page can POST to your route with the user\'s session. SameSite=Lax narrows this but is defence in depth only (same-site subdomains, older browsers, method overrides). This app reads cookies and has state-changing routes, but no CSRF check was found anywhere in it. (Heuristic.)',
    fix: 'Refuse cross-site unsafe requests: check Fetch Metadata (`Sec-Fetch-Site`) and `Origin` against your own origin (Gatehouse `verifyOrigin`, `hono/csrf`, `csrf-csrf`), and accept only JSON bodies on API routes.',
    guide: 'csrf',
  },
  check(file, report) {
    for (const route of routes(file)) {
      if (route.method === 'GET' || route.middleware.some((m) => /csrf|origin/i.test(m))) continue;
      report({ node: route.node, message: `${route.method} ${route.path} changes state with cookie authentication and no CSRF check was found in the project.`, when: (p) => p.cookieAuth && !p.csrfProtection });
    }
  },
};

const LOGIN = /log-?in|sign-?in|signin|authenticate|\/session$|\/sessions$|\/token$|password|otp|verify-code|mfa/;

export const loginRateLimit: Rule = {
  info: {
    id: 'login-rate-limit',
    severity: 'low',
    title: 'Sign-in route without rate limiting',
    explanation:
      'A sign-in, password or one-time-code route without a limit lets an attacker try credentials as fast as the server answers: credential stuffing and code guessing need volume, and a limit per account and per IP takes it away. (Heuristic: no rate-limiting library or limiter was found in the project.)',
    fix: 'Limit attempts per IP and per account (e.g. rate-limiter-flexible, express-rate-limit, Gatehouse `rateLimit`) and answer 429 with Retry-After.',
    guide: 'rate-limiting',
  },
  check(file, report) {
    for (const route of routes(file)) {
      if (route.method !== 'POST' || !LOGIN.test(route.path.toLowerCase())) continue;
      if (route.middleware.some((m) => /limit|throttl/i.test(m))) continue;
      report({ node: route.node, message: `POST ${route.path} accepts sign-in attempts and no rate limiting was found in the project.`, when: (p) => !p.rateLimiting });
    }
  },
};
