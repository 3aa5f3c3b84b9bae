import type { Node } from 'oxc-parser';
import { imported, isImported } from '../imports.js';
import { carriesToken, isSessionName, isTokenName } from '../names.js';
import { calleeOf, memberName, path, unwrap } from '../ast-names.js';
import type { Rule } from '../types.js';

const STORAGE = /^(window\.|globalThis\.|self\.)?(localStorage|sessionStorage)$/;
const JS_COOKIE_MODULES = new Set(['js-cookie', 'universal-cookie', 'react-cookie', 'typescript-cookie', 'cookies-next', 'nookies']);
const KV_MODULES = new Set(['idb-keyval', 'localforage', 'idb']);

/** Rule 1: tokens where any script on the page can read them. */
export const tokenStorage: Rule = {
  info: {
    id: 'token-in-script-storage',
    severity: 'high',
    title: 'Token stored where page scripts can read it',
    explanation:
      'localStorage, sessionStorage, IndexedDB and cookies written from JavaScript are readable by every script that runs on the page. One XSS bug or one compromised npm dependency is then enough to copy the token and use it from anywhere until it expires: the browser gives the attacker the same access it gives your code.',
    fix: 'Let the server set the token in an HttpOnly, Secure, SameSite=Lax cookie (ideally `__Host-` prefixed) and send requests with `credentials: "include"`; the page never sees the token. Keep only non-secret UI state in web storage.',
    guide: 'cookies',
  },
  check(file, report) {
    const kvImported = [...file.imports.entries()].filter(([, m]) => KV_MODULES.has(m)).map(([local]) => local);
    const usesIndexedDb = file.text.includes('indexedDB') || kvImported.length > 0;
    for (const call of file.calls()) {
      const { path: callee, last } = calleeOf(call);
      const [first, second] = call.arguments;
      const objectPath = call.callee.type === 'MemberExpression' ? (path(call.callee.object) ?? '') : '';
      // localStorage.setItem('access_token', value)
      if ((last === 'setItem' && STORAGE.test(objectPath)) || (last === 'setItem' && objectPath === 'localforage')) {
        const key = first === undefined ? undefined : file.string(first);
        if ((key !== undefined && isTokenName(key)) || (second !== undefined && carriesToken(file, second))) {
          report({ node: call, message: `${objectPath}.setItem stores a token${key === undefined ? '' : ` under "${key}"`}; any script on the page can read it.` });
        }
        continue;
      }
      // IndexedDB: store.put(value) / idb-keyval set(key, value), also renamed (`import { set as save }`)
      const kvSet = (last === 'set' && kvImported.some((k) => callee === 'set' || callee.startsWith(`${k}.`))) || isImported(file, call.callee, 'idb-keyval', ['set']);
      if (usesIndexedDb && (last === 'put' || last === 'add' || kvSet)) {
        const args = call.arguments.filter((a): a is Exclude<typeof a, { type: 'SpreadElement' }> => a.type !== 'SpreadElement');
        const keyText = kvSet && first !== undefined ? file.string(first) : undefined;
        if ((keyText !== undefined && isTokenName(keyText)) || args.some((a) => carriesToken(file, a) || objectWithToken(file, a))) {
          report({ node: call, message: 'A token is written to IndexedDB, which page scripts can read.' });
        }
        continue;
      }
      // js-cookie & co.: Cookies.set('token', value). A cookie set from JavaScript can never be HttpOnly.
      if (last === 'set' && call.callee.type === 'MemberExpression' && first !== undefined) {
        const root = rootName(call.callee.object);
        const fromModule = root !== undefined && JS_COOKIE_MODULES.has(file.imports.get(root) ?? '');
        const isBrowserCookieStore = objectPath === 'cookieStore' && file.binding('cookieStore', call.start) === undefined;
        if (fromModule || isBrowserCookieStore || /^Cookies?$/.test(objectPath)) {
          const name = file.string(first) ?? (first.type === 'ObjectExpression' ? file.string(file.property(first, 'name')) : undefined);
          if ((name !== undefined && isSessionName(name)) || (second !== undefined && carriesToken(file, second))) {
            report({ node: call, message: `The cookie "${name ?? '?'}" is set from JavaScript, so it cannot be HttpOnly and page scripts can read it.` });
          }
        }
      }
      // setCookie('token', value) from cookies-next, nookies' setCookie(ctx, 'token', value) / nookies.set(...), under any local name
      const cookieSetter = imported(file, call.callee);
      if (cookieSetter !== undefined && JS_COOKIE_MODULES.has(cookieSetter.module) && (cookieSetter.name === 'setCookie' || (cookieSetter.module === 'nookies' && cookieSetter.name === 'set'))) {
        const nameArg = cookieSetter.module === 'nookies' ? call.arguments[1] : first;
        const name = nameArg === undefined ? undefined : file.string(nameArg);
        if (name !== undefined && isSessionName(name)) report({ node: call, message: `The cookie "${name}" is set from JavaScript, so it cannot be HttpOnly.` });
      }
    }
    for (const node of file.ofType('AssignmentExpression')) {
      const left = unwrap(node.left);
      if (left.type !== 'MemberExpression') continue;
      const objectPath = path(left.object) ?? '';
      const name = memberName(left);
      // document.cookie = `token=${token}; path=/`
      if (name === 'cookie' && /^(window\.)?document$/.test(objectPath)) {
        const text = file.string(node.right) ?? (node.right.type === 'TemplateLiteral' ? node.right.quasis.map((q) => q.value.cooked ?? '').join('') : '');
        const cookieName = /^\s*([^=;\s]+)\s*=/.exec(text)?.[1];
        if ((cookieName !== undefined && isSessionName(cookieName)) || carriesToken(file, node.right)) {
          report({ node, message: `document.cookie writes a token${cookieName === undefined ? '' : ` ("${cookieName}")`}; a cookie set from JavaScript cannot be HttpOnly.` });
        }
      }
      // localStorage.token = value / localStorage['jwt'] = value
      if (STORAGE.test(objectPath) && ((name !== undefined && isTokenName(name)) || carriesToken(file, node.right))) {
        report({ node, message: `${objectPath}.${name ?? '[…]'} stores a token; any script on the page can read it.` });
      }
    }
  },
};

function rootName(node: Node): string | undefined {
  const n = unwrap(node);
  if (n.type === 'Identifier') return n.name;
  if (n.type === 'MemberExpression') return rootName(n.object);
  if (n.type === 'NewExpression' || n.type === 'CallExpression') return rootName(n.callee);
  return undefined;
}

function objectWithToken(file: Parameters<Rule['check']>[0], node: Node): boolean {
  const o = file.object(node);
  return o !== undefined && o.properties.some((p) => p.type === 'Property' && ((p.key.type === 'Identifier' && isTokenName(p.key.name)) || carriesToken(file, p.value)));
}

