import type { Node } from 'oxc-parser';
import { fetchUrl } from '../names.js';
import { calleeOf, functionName, keyName } from '../ast-names.js';
import { type FunctionLike, type SourceFile } from '../source.js';
import type { Rule } from '../types.js';

const USERINFO = /userinfo|openidconnect\.googleapis\.com|graph\.microsoft\.com\/(v1\.0|beta)\/me\b|\/oauth2\/v\d\/me\b/i;

export const oauthUserinfoIdentity: Rule = {
  info: {
    id: 'oauth-userinfo-identity',
    severity: 'medium',
    title: 'Identity taken from an access token where an ID token is available',
    explanation:
      'An OAuth access token proves consent to call an API, not who signed in to your app: it can be a token that another app obtained for the same user and replayed to you (token substitution). In an OpenID Connect flow the ID token is the proof of authentication, bound to your client id (`aud`) and this sign-in (`nonce`).',
    fix: 'Validate the ID token (signature, `iss`, `aud`, `exp`, `nonce`) with your OpenID client library and take the user from its `sub` (with `iss`). Call userinfo only for extra profile data, and check that its `sub` equals the ID token\'s.',
    guide: 'oauth',
  },
  check(file, report) {
    const hasIdToken = /id_token|idToken/.test(file.text);
    if (!hasIdToken) return; // no ID token in sight: GitHub-style OAuth needs its API for identity
    for (const call of file.calls()) {
      const url = fetchUrl(file, call);
      if (url === undefined || !USERINFO.test(url)) continue;
      const options = call.arguments[1];
      if (options !== undefined && !/access_?token|bearer/i.test(file.source(file.resolve(options)))) continue;
      report({ node: call, message: 'The user is identified through the userinfo endpoint with an access token although an ID token is available.' });
    }
  },
};

/** The parameters of a hand-written authorization request, wherever they are assembled. */
function authorizationRequests(file: SourceFile): { node: Node; params: Set<string> }[] {
  const out: { node: Node; params: Set<string> }[] = [];
  for (const o of file.ofType('ObjectExpression')) {
    const keys = new Set(o.properties.flatMap((p) => (p.type === 'Property' ? [keyName(p.key) ?? ''] : [])));
    if (keys.has('response_type') && keys.has('client_id')) out.push({ node: o, params: keys });
  }
  for (const node of file.nodes) {
    if (node.type !== 'TemplateLiteral' && !(node.type === 'Literal' && typeof node.value === 'string')) continue;
    const text = node.type === 'Literal' ? String(node.value) : node.quasis.map((q) => q.value.cooked ?? '').join('');
    if (!/response_type=code/.test(text)) continue;
    out.push({ node, params: new Set([...text.matchAll(/[?&]([a-z_]+)=/g)].map((m) => m[1] ?? '')) });
  }
  // url.searchParams.set('response_type', 'code') ... in one function
  const sets = file.calls().filter((c) => ['set', 'append'].includes(calleeOf(c).last) && /searchParams|params|query/i.test(file.source(c.callee)));
  const byFunction = new Map<Node | undefined, Set<string>>();
  for (const c of sets) {
    const fn = file.enclosingFunction(c);
    const name = c.arguments[0] === undefined ? undefined : file.string(c.arguments[0]);
    if (name === undefined) continue;
    const set = byFunction.get(fn) ?? new Set<string>();
    set.add(name);
    byFunction.set(fn, set);
    if (name === 'response_type') out.push({ node: c, params: set });
  }
  return out;
}

/** A function that handles the provider's redirect back: named so, mounted so, or in a callback route file. */
function isCallbackHandler(file: SourceFile, fn: FunctionLike): boolean {
  if (/callback|oauth|sign-?in|login|redirect/i.test(functionName(file, fn)) || /callback/i.test(file.path)) return true;
  const parent = file.parent(fn);
  return parent?.type === 'CallExpression' && parent.arguments.some((a) => /callback|oauth|redirect/i.test(file.string(a) ?? ''));
}

export const oauthFlowParams: Rule = {
  info: {
    id: 'oauth-flow-params',
    severity: 'high',
    title: 'Hand-written OAuth flow without state, nonce or PKCE',
    explanation:
      'Without `state` an attacker can finish a sign-in in the victim\'s browser with the attacker\'s own code (login CSRF, account linking to the attacker). Without PKCE a stolen authorization code can be redeemed (RFC 9700 2.1.1). Without `nonce` an ID token can be replayed into another sign-in (OpenID Connect Core 3.1.2.1).',
    fix: 'Use a certified OpenID client library (openid-client, oauth4webapi). If you must hand-write it: random `state`, `nonce` and a PKCE S256 `code_challenge` per sign-in, stored server-side bound to the browser, checked once on the callback.',
    guide: 'oauth',
  },
  check(file, report) {
    if (file.text.includes('response_type')) {
      for (const { node, params } of authorizationRequests(file)) {
        const openid = /openid/.test(file.source(node)) || /scope[^\n]{0,80}openid/.test(file.text);
        const missing = ['state', 'code_challenge', ...(openid ? ['nonce'] : [])].filter((p) => !params.has(p));
        if (missing.length > 0) report({ node, message: `Authorization request without ${missing.join(', ')}.` });
      }
    }
    if (file.text.includes('authorization_code')) {
      // The callback side: a hand-written code exchange. No code_verifier means no PKCE; a
      // handler that never mentions `state` cannot have compared it.
      for (const o of file.ofType('ObjectExpression')) {
        if (file.string(file.property(o, 'grant_type')) !== 'authorization_code') continue;
        const fn = file.enclosingFunction(o);
        const callback = fn !== undefined && isCallbackHandler(file, fn);
        const checksState = !callback || file.within(fn).some((n) => (n.type === 'Identifier' && /state/i.test(n.name)) || (n.type === 'Literal' && typeof n.value === 'string' && /state/i.test(n.value)));
        const missing = [...(file.mayHave(o, 'code_verifier') ? [] : ['no PKCE code_verifier']), ...(checksState ? [] : ['the callback never checks state'])];
        if (missing.length > 0) report({ node: o, message: `Authorization code exchanged by hand with ${missing.join(' and ')}.` });
      }
    }
  },
};
