import type { Node } from 'oxc-parser';
import { fold } from '../names.js';
import { calleeOf, lastName, memberName, path, unwrap } from '../ast-names.js';
import { isFunction, type SourceFile } from '../source.js';
import type { Rule } from '../types.js';

const AUTHZ_HEADER = /^x-(user-?)?(role|roles|permission|permissions|admin|is-admin|isadmin|scope|scopes|groups|user-?id|uid|tenant|tenant-id)$/i;

/** Reads of request headers: `req.headers['x-role']`, `request.headers.get('x-role')`, `c.req.header('x-role')`, `req.get('x-role')`. */
function headerReads(file: SourceFile): { node: Node; name: string }[] {
  const out: { node: Node; name: string }[] = [];
  for (const m of file.ofType('MemberExpression')) {
    if (lastName(m.object) === 'headers') {
      const name = memberName(m);
      if (name !== undefined) out.push({ node: m, name });
    }
  }
  for (const call of file.calls()) {
    const { last } = calleeOf(call);
    if (!['get', 'header'].includes(last) || call.callee.type !== 'MemberExpression') continue;
    const object = path(call.callee.object) ?? '';
    if (!/(headers|req|request)$/.test(object) || /^(res|response|headers\(\)\.set)/.test(object)) continue;
    const name = call.arguments[0] === undefined ? undefined : file.string(call.arguments[0]);
    if (name !== undefined) out.push({ node: call, name });
  }
  return out;
}

export const authzClientHeaders: Rule = {
  info: {
    id: 'authz-client-headers',
    severity: 'high',
    title: 'Permission or identity read from a request header the client controls',
    explanation:
      'Headers such as `x-user-role` or `x-user-id` arrive from the client. Unless a trusted proxy strips and re-sets them on every request (and the app cannot be reached any other way), anyone can send `x-user-role: admin`. Authorization decisions must come from the server-side session.',
    fix: 'Read the user and role from the validated session (`getSession(request)`) and check permissions with your policy module (`can(role, permission)`); pass identity between your own layers in memory, not in request headers.',
    guide: 'authorization',
  },
  check(file, report) {
    for (const { node, name } of headerReads(file)) {
      if (AUTHZ_HEADER.test(name)) report({ node, message: `The "${name}" request header is client-controlled, yet it is read as identity or permission data.` });
    }
  },
};

const ROLE_NAME = /^(role|roles|userrole|isadmin|usertype|accounttype|group|groups)$/;

/** `user.role === 'admin'`, `role !== "editor"`, `roles.includes('admin')`. */
function roleComparison(file: SourceFile, node: Node): boolean {
  if (node.type === 'BinaryExpression' && ['===', '==', '!==', '!='].includes(node.operator)) {
    const sides = [node.left, node.right];
    const literal = sides.some((s) => s.type === 'Literal' && typeof s.value === 'string');
    const role = sides.some((s) => {
      const u = unwrap(s);
      const name = u.type === 'Identifier' ? u.name : u.type === 'MemberExpression' ? (memberName(u) ?? '') : '';
      return ROLE_NAME.test(fold(name));
    });
    return literal && role;
  }
  if (node.type === 'CallExpression' && calleeOf(node).last === 'includes' && node.callee.type === 'MemberExpression') {
    return ROLE_NAME.test(fold(lastName(node.callee.object) ?? '')) && node.arguments[0]?.type === 'Literal';
  }
  return false;
}

/** A function passed to a route registration (`app.get('/x', handler)`) or a Next.js route export. */
function inRouteHandler(file: SourceFile, node: Node): boolean {
  return file.ancestors(node).some((a) => {
    if (!isFunction(a)) return false;
    const parent = file.parent(a);
    if (parent?.type === 'CallExpression' && /^(get|post|put|patch|delete|all|use|route)$/.test(calleeOf(parent).last) && parent.arguments.some((x) => x.type === 'Literal' && typeof x.value === 'string' && x.value.startsWith('/'))) return true;
    return a.type === 'FunctionDeclaration' && /^(GET|POST|PUT|PATCH|DELETE)$/.test(a.id?.name ?? '');
  });
}

export const authzInlineRoleCheck: Rule = {
  info: {
    id: 'authz-inline-role-check',
    severity: 'low',
    title: 'Role compared by string inside a route handler although a policy module exists',
    explanation:
      'Role checks scattered through handlers (`user.role === "admin"`) drift from the policy module: adding a role or a permission means finding every comparison, and the one that is missed grants or denies the wrong thing. Authorization decided in one place can be reviewed and tested in one place.',
    fix: 'Ask the policy module for a permission (`can(user.role, "posts:delete")` / `requirePermission(request, "posts:delete")`) instead of comparing role names in handlers.',
    guide: 'authorization',
  },
  check(file, report) {
    for (const node of file.nodes) {
      if (roleComparison(file, node) && inRouteHandler(file, node)) {
        report({ node, message: 'A role is compared by name in a route handler; ask the policy module for a permission instead.', when: (project) => project.policyModule });
      }
    }
  },
};
