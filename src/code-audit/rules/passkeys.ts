import type { Node } from 'oxc-parser';
import { imported } from '../imports.js';
import { fold } from '../names.js';
import { calleeOf, path, unwrap } from '../ast-names.js';
import { type SourceFile } from '../source.js';
import type { Rule } from '../types.js';

const VERIFY = /^(verifyRegistrationResponse|verifyAuthenticationResponse|verifyRegistration|verifyAuthentication|verifyAssertion|verifyAttestation)$/;

/** The verify function a call makes, by its name or by the export it was imported as (`import { verifyAuthenticationResponse as verifyLogin }`). */
function verifyName(file: SourceFile, call: Extract<Node, { type: 'CallExpression' }>): string | undefined {
  const { last } = calleeOf(call);
  if (VERIFY.test(last)) return last;
  const name = imported(file, call.callee)?.name ?? '';
  return VERIFY.test(name) ? name : undefined;
}

/** Whether an expression takes its value from the incoming request (headers, Host, URL). */
function fromRequest(file: SourceFile, node: Node, depth = 4): boolean {
  if (depth === 0) return false;
  const n = unwrap(node);
  const text = file.source(n);
  if (/\b(req|request|ctx|c\.req|event)\b[\w.]*\.(headers|header|get|hostname|host|origin|url|protocol)\b/.test(text) || /headers\s*\(\s*\)/.test(text)) return true;
  if (n.type === 'Identifier') {
    const b = file.binding(n.name, n.start);
    return b !== undefined && b.init !== n && fromRequest(file, b.init, depth - 1);
  }
  if (n.type === 'TemplateLiteral') return n.expressions.some((e) => fromRequest(file, e, depth - 1));
  if (n.type === 'ArrayExpression') return n.elements.some((e) => e !== null && e.type !== 'SpreadElement' && fromRequest(file, e, depth - 1));
  return false;
}

/** `body.challenge` where `const body = await c.req.json()`, or `req.body.challenge`: the client chose it. */
function fromClient(file: SourceFile, node: Node): boolean {
  const n = file.resolve(node);
  if (/\b(req|request|c\.req|ctx\.request|event)\.(body|query|params|headers|header|json)\b/.test(file.source(n))) return true;
  let root = n;
  while (root.type === 'MemberExpression') root = unwrap(root.object);
  if (root.type !== 'Identifier' || root === n) return false;
  const b = file.binding(root.name, root.start);
  const init = b === undefined ? undefined : file.resolve(b.init);
  return init !== undefined && init !== root && /\.(json|formData|text)\(\)$|\.(body|query|params)$/.test(file.source(init));
}

/** `stored.challenge` where `const stored = await db.challenges.findFirst(...)`, or `await redis.get(key)`. */
function readFromStore(file: SourceFile, node: Node): boolean {
  let n = unwrap(node);
  while (n.type === 'MemberExpression') n = unwrap(n.object);
  if (n.type === 'Identifier') {
    const b = file.binding(n.name, n.start);
    if (b === undefined || b.init === n) return false; // a parameter: taken by the caller
    n = file.resolve(b.init);
    while (n.type === 'MemberExpression') n = unwrap(n.object);
  }
  if (n.type !== 'CallExpression') return false;
  const name = fold(calleeOf(n).last);
  return /^(get|hget|find\w*|select|query|first|fetch\w*|load\w*|read\w*)$/.test(name) && !/take|consume|getdel|pop/.test(name);
}

export const webauthnExpectedOrigin: Rule = {
  info: {
    id: 'webauthn-expected-origin',
    severity: 'high',
    title: 'WebAuthn response verified without a fixed origin and RP ID',
    explanation:
      'Passkeys resist phishing because the browser signs the origin it is on and the authenticator binds the credential to the RP ID; the server must compare both with its own, fixed values (WebAuthn L3 7.1 steps 9 and 13). Leaving them out, or taking them from the request\'s Origin/Host header, accepts a response collected on a look-alike site.',
    fix: 'Pass `expectedOrigin: "https://app.example"` and `expectedRPID: "app.example"` from configuration (never from the request) to verifyRegistrationResponse and verifyAuthenticationResponse.',
    guide: 'passkeys',
  },
  check(file, report) {
    if (!file.text.includes('verify')) return;
    for (const call of file.calls()) {
      const verify = verifyName(file, call);
      const options = call.arguments[0];
      if (verify === undefined || options === undefined) continue;
      for (const key of ['expectedOrigin', 'expectedRPID']) {
        if (!file.mayHave(options, key)) report({ node: call, message: `${verify} without ${key}.` });
        else {
          const value = file.property(options, key);
          if (value !== undefined && fromRequest(file, value)) report({ node: value, message: `${key} is taken from the request, which the attacker's page controls.` });
        }
      }
    }
  },
};

export const webauthnChallenge: Rule = {
  info: {
    id: 'webauthn-challenge',
    severity: 'high',
    title: 'WebAuthn challenge kept client-side or never deleted',
    explanation:
      'The challenge is what makes a passkey response fresh. Kept in localStorage, a readable cookie or the request body, the client chooses it, so a recorded response can be replayed. A challenge that stays in storage after use can be answered twice.',
    fix: 'Store the challenge server-side (database or cache) bound to the browser that asked for it, with a short expiry, and delete it when the response is verified or rejected: take it exactly once.',
    guide: 'passkeys',
  },
  check(file, report) {
    if (!/challenge/i.test(file.text)) return;
    for (const call of file.calls()) {
      const { last } = calleeOf(call);
      const objectPath = call.callee.type === 'MemberExpression' ? (path(call.callee.object) ?? '') : '';
      const first = call.arguments[0];
      const key = first === undefined ? '' : (file.string(first) ?? file.source(first));
      if (last === 'setItem' && /localStorage|sessionStorage/.test(objectPath) && /challenge/i.test(key)) {
        report({ node: call, message: 'The WebAuthn challenge is stored in web storage, on the client.' });
      }
      // expectedChallenge taken from the request body or a header
      if (verifyName(file, call) !== undefined && first !== undefined) {
        const expected = file.property(first, 'expectedChallenge');
        if (expected !== undefined && fromClient(file, expected)) {
          report({ node: expected, message: 'expectedChallenge comes from the client\'s request, so the client chooses the challenge.' });
        }
        // Never deleted: read from a store in this function, and nothing in it removes the challenge.
        const fn = file.enclosingFunction(call);
        if (expected !== undefined && fn !== undefined && readFromStore(file, expected)) {
          const deletes = file.within(fn).some((n) => n.type === 'CallExpression' && /delete|remove|del$|consume|take|destroy|getdel|clear|update|expire/.test(fold(calleeOf(n).last)));
          if (!deletes) report({ node: call, message: 'The challenge is read from storage but never deleted after verification, so it can be answered twice.' });
        }
      }
    }
  },
};
