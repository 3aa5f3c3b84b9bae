import type { Node } from 'oxc-parser';
import type { FunctionLike, SourceFile } from './source.js';

/**
 * Names in the syntax tree: what a callee, a member or a function is called, with parentheses,
 * casts and `require('m')` seen through. Free functions over oxc nodes; SourceFile holds the
 * per-file facts (bindings, imports) they do not need.
 */

export function unwrap(node: Node): Node {
  let n = node;
  for (;;) {
    if (n.type === 'AwaitExpression') n = n.argument;
    else if (n.type === 'TSAsExpression' || n.type === 'TSSatisfiesExpression' || n.type === 'TSNonNullExpression' || n.type === 'ParenthesizedExpression' || n.type === 'ChainExpression' || n.type === 'TSTypeAssertion') n = n.expression;
    else return n;
  }
}

/** `m` for `require('m')` and `require('m').default`. */
export function requiredModule(node: Node): string | undefined {
  let n = unwrap(node);
  if (n.type === 'MemberExpression' && memberName(n) === 'default') n = unwrap(n.object);
  if (n.type !== 'CallExpression' || n.callee.type !== 'Identifier' || n.callee.name !== 'require') return undefined;
  const first = n.arguments[0];
  return first?.type === 'Literal' && typeof first.value === 'string' ? first.value : undefined;
}

export function keyName(key: Node): string | undefined {
  if (key.type === 'Identifier') return key.name;
  if (key.type === 'Literal' && (typeof key.value === 'string' || typeof key.value === 'number')) return String(key.value);
  return undefined;
}

const MAX_PATH_STEPS = 200;

/**
 * The dotted path of an expression: `localStorage.setItem`, `cookies().set`, `this.jwt.sign`.
 * Iterative: a chain of thousands of calls (`a.b().b()...`, generated code) must not overflow the stack.
 */
export function path(node: Node | null | undefined): string | undefined {
  if (node === null || node === undefined) return undefined;
  const outer: string[] = []; // from the outermost step inwards: '.name', '()' or 'new'
  let n = unwrap(node);
  let base: string;
  for (;;) {
    // No rule matches a path this long; giving up keeps generated call chains linear, not quadratic.
    if (outer.length > MAX_PATH_STEPS) return undefined;
    if (n.type === 'Identifier') {
      base = n.name;
      break;
    }
    if (n.type === 'ThisExpression') {
      base = 'this';
      break;
    }
    if (n.type === 'MemberExpression') {
      const property = memberName(n);
      if (property === undefined) return undefined;
      outer.push(`.${property}`);
      n = unwrap(n.object);
    } else if (n.type === 'CallExpression') {
      outer.push('()');
      n = unwrap(n.callee);
    } else if (n.type === 'NewExpression') {
      outer.push('new');
      n = unwrap(n.callee);
    } else return undefined;
  }
  let out = base;
  for (let i = outer.length - 1; i >= 0; i--) {
    const step = outer[i] as string;
    out = step === 'new' ? `new ${out}()` : out + step;
  }
  return out;
}

export function memberName(node: Extract<Node, { type: 'MemberExpression' }>): string | undefined {
  const p = node.property;
  if (!node.computed) return p.type === 'Identifier' ? p.name : undefined;
  if (p.type === 'Literal' && (typeof p.value === 'string' || typeof p.value === 'number')) return String(p.value);
  return undefined;
}

/** The last segment of a callee path: `setItem` for `window.localStorage.setItem`. */
export function lastName(node: Node): string | undefined {
  const n = unwrap(node);
  if (n.type === 'Identifier') return n.name;
  if (n.type === 'MemberExpression') return memberName(n);
  return undefined;
}

/** Function names that a call expression's callee may carry: `sign`, `jwt.sign`. */
export function calleeOf(call: Extract<Node, { type: 'CallExpression' | 'NewExpression' }>): { path: string; last: string } {
  return { path: path(call.callee) ?? '', last: lastName(call.callee) ?? '' };
}

/** The name a function is known by: its own name, the variable it is assigned to, or the object key. */
export function functionName(file: SourceFile, fn: FunctionLike): string {
  if (fn.id !== null && fn.id !== undefined) return fn.id.name;
  const parent = file.parent(fn);
  if (parent?.type === 'VariableDeclarator' && parent.id.type === 'Identifier') return parent.id.name;
  if (parent?.type === 'Property') return keyName(parent.key) ?? '';
  if (parent?.type === 'MethodDefinition') return keyName(parent.key) ?? '';
  return '';
}
