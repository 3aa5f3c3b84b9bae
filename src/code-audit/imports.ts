import type { Node } from 'oxc-parser';
import { memberName, requiredModule, unwrap } from './ast-names.js';
import { type SourceFile } from './source.js';

/**
 * Following imports: the one place where rules see ES imports and CommonJS `require()` the same
 * way, under whatever local name the code gives them. `SourceFile` records the imports
 * (`imports`, `exportNames`); these functions answer what an expression stands for.
 */

/** An export of a module: `name` is `default` or `*` for the module object itself. */
export interface Imported {
  module: string;
  name: string;
}

/**
 * The module an expression stands for: a name imported or required from it, or the
 * `require('m')` call itself (`require('express-session')({...})`, `require('jsonwebtoken').sign`).
 */
export function moduleOf(file: SourceFile, node: Node): string | undefined {
  const n = unwrap(node);
  return n.type === 'Identifier' ? file.imports.get(n.name) : requiredModule(n);
}

/**
 * The export an expression is, when it comes from a module: `{ module: 'jsonwebtoken', name: 'sign' }`
 * for `sign` (`import { sign }`), `signToken` (`import { sign as signToken }`), `check`
 * (`const { sign: check } = require(...)`), and for `jwt.sign` on the module object (`import jwt`,
 * `import * as jwt`, `const jwt = require(...)`, `require('jsonwebtoken').sign`).
 * Scope-free like the rest of the audit: a name counts as imported everywhere in its file.
 */
export function imported(file: SourceFile, node: Node): Imported | undefined {
  const n = unwrap(node);
  if (n.type === 'Identifier') {
    const module = file.imports.get(n.name);
    const name = file.exportNames.get(n.name);
    return module === undefined || name === undefined ? undefined : { module, name };
  }
  const required = requiredModule(n);
  if (required !== undefined) return { module: required, name: '*' };
  if (n.type !== 'MemberExpression') return undefined;
  const object = imported(file, n.object);
  const name = memberName(n);
  return object === undefined || name === undefined || (object.name !== 'default' && object.name !== '*') ? undefined : { module: object.module, name };
}

/** Whether `node` is one of `names` exported by `module`, under any local name. */
export function isImported(file: SourceFile, node: Node, module: string, names: readonly string[]): boolean {
  const found = imported(file, node);
  if (found === undefined || !names.includes(found.name)) return false;
  return found.module === module;
}
