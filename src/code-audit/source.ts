import { keyName, requiredModule, unwrap } from './ast-names.js';
import { parseSync, visitorKeys, type Comment, type ParseResult, type ParserOptions, type Expression, type Function as FunctionNode, type ArrowFunctionExpression, type Node, type ObjectExpression } from 'oxc-parser';

/** A variable's value as far as one file shows it: `const x = init` or `const { property: x } = init`. */
export interface Binding {
  name: string;
  init: Node;
  /** Set for destructuring: the property of `init` that the name holds. */
  property?: string;
  start: number;
}

export type FunctionLike = FunctionNode | ArrowFunctionExpression;

export function isNode(value: unknown): value is Node {
  return typeof value === 'object' && value !== null && 'type' in value && typeof value.type === 'string' && 'start' in value && typeof value.start === 'number';
}

export function isFunction(node: Node): node is FunctionLike {
  return node.type === 'FunctionDeclaration' || node.type === 'FunctionExpression' || node.type === 'ArrowFunctionExpression';
}

/** The children of a node (oxc's visitor keys say which properties hold nodes). */
export function children(node: Node): Node[] {
  const out: Node[] = [];
  const keys = visitorKeys[node.type];
  if (keys === undefined) return out;
  for (const key of keys) {
    const value: unknown = Reflect.get(node, key);
    if (Array.isArray(value)) {
      for (const item of value) if (isNode(item)) out.push(item);
    } else if (isNode(value)) out.push(value);
  }
  return out;
}

/**
 * One parsed file with what every rule needs: the nodes by type, parents, variable bindings
 * (a simple, scope-free data flow: the last assignment above a use wins), comments and lines.
 */
export class SourceFile {
  readonly nodes: Node[] = [];
  readonly comments: Comment[];
  /** Parser errors, each with its `line:column`. */
  readonly errors: string[];
  /**
   * False when the parser produced no program at all (a syntax error it cannot recover from):
   * then no rule can see anything, and the file must be reported as NOT checked.
   */
  readonly parsed: boolean;
  /** Local name -> module specifier, from ES imports and CommonJS `require()` alike (see imports.ts). */
  readonly imports = new Map<string, string>();
  /** Local name -> the export it holds: `sign` (`import { sign as s }`), `default`, `*` (the module); see imports.ts. */
  readonly exportNames = new Map<string, string>();
  private readonly bindings = new Map<string, Binding[]>();
  private readonly lineStarts: number[] = [0];
  private readonly byType = new Map<string, Node[]>();

  constructor(
    readonly path: string,
    readonly text: string,
  ) {
    const result = parse(path, text);
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) this.lineStarts.push(i + 1);
    this.errors = result.errors.map((e) => {
      const at = e.labels[0]?.start;
      if (at === undefined) return e.message;
      const { line, column } = this.position(at);
      return `${e.message} (line ${line}:${column})`;
    });
    this.parsed = !fatal(result);
    this.comments = result.comments;
    this.program = result.program;
    this.index(result.program);
  }

  private readonly program: Node;
  private readonly parents = new Map<Node, Node>();

  /**
   * Pre-order walk with each node's children sorted by position, so `nodes` comes out in source
   * order without a global sort. Parents are not stored here (that costs more than parsing on
   * large trees); `parent()` finds them on demand.
   */
  private index(root: Node): void {
    const stack: Node[] = [root];
    const bySource = (a: Node, b: Node) => a.start - b.start;
    while (stack.length > 0) {
      const current = stack.pop() ?? root;
      this.nodes.push(current);
      const sameType = this.byType.get(current.type);
      if (sameType === undefined) this.byType.set(current.type, [current]);
      else sameType.push(current);
      this.record(current);
      const kids = children(current);
      if (kids.length > 1) kids.sort(bySource);
      for (let i = kids.length - 1; i >= 0; i--) stack.push(kids[i] as Node);
    }
  }

  private record(node: Node): void {
    if (node.type === 'VariableDeclarator' && node.init !== null) {
      const id = node.id;
      // const jwt = require('jsonwebtoken'); const { sign: s } = require('jsonwebtoken'): imports too.
      const required = requiredModule(node.init);
      if (id.type === 'Identifier') {
        if (required !== undefined) this.addImport(id.name, required, '*');
        this.bind({ name: id.name, init: node.init, start: node.start });
      } else if (id.type === 'ObjectPattern') {
        for (const p of id.properties) {
          if (p.type !== 'Property') continue;
          const target = p.value.type === 'AssignmentPattern' ? p.value.left : p.value;
          const key = keyName(p.key);
          if (target.type !== 'Identifier') continue;
          if (required !== undefined) this.addImport(target.name, required, p.computed ? undefined : key);
          if (key !== undefined) this.bind({ name: target.name, init: node.init, property: key, start: node.start });
        }
      }
    } else if (node.type === 'AssignmentExpression' && node.left.type === 'Identifier') {
      this.bind({ name: node.left.name, init: node.right, start: node.start });
    } else if (node.type === 'ImportDeclaration') {
      for (const s of node.specifiers) this.addImport(s.local.name, node.source.value, s.type === 'ImportSpecifier' ? keyName(s.imported) : s.type === 'ImportDefaultSpecifier' ? 'default' : '*');
    } else if (node.type === 'TSImportEqualsDeclaration' && node.moduleReference.type === 'TSExternalModuleReference') {
      this.addImport(node.id.name, node.moduleReference.expression.value, '*'); // import jwt = require('jsonwebtoken')
    }
  }

  private addImport(local: string, module: string, exported: string | undefined): void {
    this.imports.set(local, module);
    if (exported === undefined) this.exportNames.delete(local);
    else this.exportNames.set(local, exported);
  }

  private bind(binding: Binding): void {
    const list = this.bindings.get(binding.name) ?? [];
    list.push(binding);
    this.bindings.set(binding.name, list);
  }

  /** The binding of `name` that a use at `at` sees: the last one above it, else the first. */
  binding(name: string, at: number): Binding | undefined {
    const list = this.bindings.get(name);
    if (list === undefined) return undefined;
    let found: Binding | undefined;
    for (const b of list) if (b.start < at) found = b;
    return found ?? list[0];
  }

  /** Follows identifiers to what they were assigned (up to a few hops), unwrapping `await` and casts. */
  resolve(node: Node, depth = 4): Node {
    const n = unwrap(node);
    if (n.type === 'Identifier' && depth > 0) {
      const b = this.binding(n.name, n.start);
      if (b !== undefined && b.property === undefined && b.init !== n) return this.resolve(b.init, depth - 1);
    }
    return n;
  }

  /** An object literal, directly or through a variable defined above its use. */
  object(node: Node | undefined): ObjectExpression | undefined {
    if (node === undefined) return undefined;
    const n = this.resolve(node);
    return n.type === 'ObjectExpression' ? n : undefined;
  }

  /** The value of property `key` in an object literal (also through variables); `undefined` when absent. */
  property(object: Node | undefined, key: string): Expression | undefined {
    const o = this.object(object);
    if (o === undefined) return undefined;
    let found: Expression | undefined;
    for (const p of o.properties) {
      if (p.type === 'Property' && keyName(p.key) === key) found = p.value;
    }
    return found;
  }

  /** True when the object literal has `key`, or has a spread we cannot see through (benefit of the doubt). */
  mayHave(object: Node | undefined, key: string): boolean {
    const o = this.object(object);
    if (o === undefined) return object !== undefined; // not a literal: assume the option is there
    return o.properties.some((p) => (p.type === 'Property' ? keyName(p.key) === key : true));
  }

  string(node: Node | undefined): string | undefined {
    if (node === undefined) return undefined;
    const n = this.resolve(node);
    if (n.type === 'Literal' && typeof n.value === 'string') return n.value;
    if (n.type === 'TemplateLiteral' && n.expressions.length === 0) return n.quasis[0]?.value.cooked ?? undefined;
    return undefined;
  }

  /** A number from literals and arithmetic (`60 * 60 * 24 * 30`), also through constants. */
  number(node: Node | undefined): number | undefined {
    if (node === undefined) return undefined;
    const n = this.resolve(node);
    if (n.type === 'Literal' && typeof n.value === 'number') return n.value;
    if (n.type === 'BinaryExpression') {
      const a = this.number(n.left);
      const b = this.number(n.right);
      if (a === undefined || b === undefined) return undefined;
      if (n.operator === '*') return a * b;
      if (n.operator === '+') return a + b;
      if (n.operator === '-') return a - b;
      if (n.operator === '/') return a / b;
    }
    return undefined;
  }

  /** The parent, found by descending from the program through the children that contain the node. */
  parent(node: Node): Node | undefined {
    const known = this.parents.get(node);
    if (known !== undefined || node === this.program) return known;
    let current = this.program;
    for (;;) {
      const next = children(current).find((c) => c === node || (c.start <= node.start && node.end <= c.end && c.end - c.start > 0));
      if (next === undefined) return undefined;
      this.parents.set(next, current);
      if (next === node) return current;
      current = next;
    }
  }

  ancestors(node: Node): Node[] {
    const out: Node[] = [];
    for (let p = this.parent(node); p !== undefined; p = this.parent(p)) out.push(p);
    return out;
  }

  enclosingFunction(node: Node): FunctionLike | undefined {
    return this.ancestors(node).find(isFunction);
  }

  /** Every node below `root` (document order). */
  within(root: Node): Node[] {
    let low = 0;
    let high = this.nodes.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if ((this.nodes[mid]?.start ?? 0) < root.start) low = mid + 1;
      else high = mid;
    }
    const out: Node[] = [];
    for (let i = low; i < this.nodes.length; i++) {
      const n = this.nodes[i] as Node;
      if (n.start >= root.end) break;
      if (n !== root && n.end <= root.end) out.push(n);
    }
    return out;
  }

  ofType<T extends Node['type']>(type: T): Extract<Node, { type: T }>[] {
    return (this.byType.get(type) ?? []).filter((n): n is Extract<Node, { type: T }> => n.type === type);
  }

  calls(): Extract<Node, { type: 'CallExpression' }>[] {
    return this.ofType('CallExpression');
  }

  position(offset: number): { line: number; column: number } {
    let low = 0;
    let high = this.lineStarts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if ((this.lineStarts[mid] ?? 0) <= offset) low = mid;
      else high = mid - 1;
    }
    return { line: low + 1, column: offset - (this.lineStarts[low] ?? 0) + 1 };
  }

  line(number: number): string {
    const start = this.lineStarts[number - 1] ?? 0;
    const end = this.lineStarts[number] ?? this.text.length;
    return this.text.slice(start, end).replace(/\r?\n$/, '');
  }

  source(node: Node): string {
    return this.text.slice(node.start, node.end);
  }
}

const PLAIN_JS = /\.(js|jsx|mjs|cjs)$/i;

/**
 * Parses with the options that fit the file. `.js` files often hold JSX (Create React App and
 * friends), which oxc refuses in a `.js` file by default and then returns an empty program; and
 * CommonJS may `return` at the top level. So JS files are read as JSX first (the grammar is a
 * superset for real code), then as CommonJS, then as plain JS, keeping the attempt with the fewest
 * errors. TypeScript files are parsed by their extension.
 */
function parse(path: string, text: string): ParseResult {
  const base: ParserOptions = { preserveParens: false };
  if (!PLAIN_JS.test(path)) return parseSync(path, text, base);
  const lower = path.toLowerCase();
  const sourceType: ParserOptions['sourceType'] = lower.endsWith('.cjs') ? 'commonjs' : lower.endsWith('.mjs') ? 'module' : 'unambiguous';
  const attempts: ParserOptions[] = [
    { ...base, lang: 'jsx', sourceType },
    { ...base, lang: 'jsx', sourceType: 'commonjs' },
    { ...base, lang: 'js', sourceType },
  ];
  let best: ParseResult | undefined;
  for (const options of attempts) {
    const result = parseSync(path, text, options);
    if (result.errors.length === 0) return result;
    if (best === undefined || worse(best, result)) best = result;
  }
  return best ?? parseSync(path, text, base);
}

/** oxc returns an empty program when it cannot recover from a syntax error. */
function fatal(result: ParseResult): boolean {
  return result.errors.length > 0 && result.program.body.length === 0;
}

function worse(a: ParseResult, b: ParseResult): boolean {
  if (fatal(a) !== fatal(b)) return fatal(a);
  return a.errors.length > b.errors.length;
}

export type { Comment };
