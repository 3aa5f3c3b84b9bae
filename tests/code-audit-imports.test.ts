import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { auditCode } from '../src/code-audit/engine.js';

// A library is recognised under whatever local name the code gives it. The corpus app
// tests/fixtures/audit-corpus/named-imports scores these forms; here each one must give exactly
// the findings (rule, line:column, message) of the default-import form.

const scratch = mkdtempSync(join(tmpdir(), 'gatehouse-audit-imports-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function audit(name: string, text: string): string[] {
  const dir = mkdtempSync(join(scratch, 'case-'));
  writeFileSync(join(dir, name), text);
  return auditCode({ paths: [dir], base: dir }).findings.map((f) => `${f.rule}@${f.line}:${f.column} ${f.message}`);
}

/** Calls jsonwebtoken's sign, verify and decode under the names given; every line is a finding. */
const jwtCalls = (sign: string, verify: string, decode: string) =>
  [`export const week = ${sign}({ sub }, key, { expiresIn: '30d' });`, `export const forever = ${sign}({ sub }, key);`, `export const check = (t) => ${verify}(t, key);`, `export function currentUser(t) { return ${decode}(t).role; }`].join('\n');

describe('jsonwebtoken under any local name', () => {
  const baseline = audit('a.ts', `import jwt from 'jsonwebtoken';\n${jwtCalls('jwt.sign', 'jwt.verify', 'jwt.decode')}\n`);

  it('the default import finds all four', () => {
    expect(baseline.map((f) => f.split(' ')[0])).toEqual(['access-token-lifetime@2:21', 'access-token-lifetime@3:24', 'jwt-decode-unverified@5:41', 'jwt-verify-options@4:29']);
  });

  it.each([
    ['named import', 'a.ts', "import { sign, verify, decode } from 'jsonwebtoken';", ['sign', 'verify', 'decode']],
    ['renamed import', 'a.ts', "import { sign as signToken, verify as verifyToken, decode as peek } from 'jsonwebtoken';", ['signToken', 'verifyToken', 'peek']],
    ['namespace import', 'a.ts', "import * as tokens from 'jsonwebtoken';", ['tokens.sign', 'tokens.verify', 'tokens.decode']],
    ['destructured require', 'a.js', "const { sign, verify, decode } = require('jsonwebtoken');", ['sign', 'verify', 'decode']],
    ['renamed destructured require', 'a.js', "const { sign: issue, verify: check, decode: peek = null } = require('jsonwebtoken');", ['issue', 'check', 'peek']],
  ] as const)('%s: the same findings', (_, file, imports, [sign, verify, decode]) => {
    expect(audit(file, `${imports}\n${jwtCalls(sign, verify, decode)}\n`)).toEqual(baseline);
  });

  it('a local sign/verify/decode, or one imported from elsewhere, is not jsonwebtoken', () => {
    const local = 'function sign(p, k, o) { return [p, k, o]; }\nfunction verify(t, k) { return t === k; }\nfunction decode(t) { return JSON.parse(t); }';
    expect(audit('a.ts', `import jwt from 'jsonwebtoken';\n${jwtCalls('sign', 'verify', 'decode')}\n${local}\n`)).toEqual([]);
    expect(audit('b.ts', `import { sign, verify, decode } from './hmac';\n${jwtCalls('sign', 'verify', 'decode')}\n`)).toEqual([]);
  });

  it('what counts is the export, not the local name (names swapped on purpose)', () => {
    expect(audit('c.js', `const { sign: verify, decode: sign } = require('jsonwebtoken');\nexport const a = verify({ sub }, key);\nexport const b = sign(t).role;\n`)).toEqual([
      'access-token-lifetime@2:18 jwt.sign without expiresIn or an exp claim: this access token never expires.',
      'jwt-decode-unverified@3:18 A JWT is decoded without signature verification and role is used from it.',
    ]);
  });
});

interface Renamed {
  library: string;
  imports: [plain: string, renamed: string];
  /** The code, given the names the functions have under each import. */
  body: (names: readonly string[]) => string;
  names: [plain: string[], renamed: string[]];
}

const LIBRARIES: Renamed[] = [
  {
    library: 'jose',
    imports: ["import { SignJWT, jwtVerify, decodeJwt, UnsecuredJWT } from 'jose';", "import { SignJWT as Builder, jwtVerify as verifyJwt, decodeJwt as claims, UnsecuredJWT as Plain } from 'jose';"],
    body: (n) => `export const t = new ${n[0]}({ sub }).setExpirationTime('1d').sign(key);\nexport const v = ${n[1]}(t, key);\nexport const who = (t) => ${n[2]}(t).sub;\nexport const u = new ${n[3]}({}).encode();`,
    names: [['SignJWT', 'jwtVerify', 'decodeJwt', 'UnsecuredJWT'], ['Builder', 'verifyJwt', 'claims', 'Plain']],
  },
  { library: 'hono/cookie', imports: ["import { setCookie } from 'hono/cookie';", "import { setCookie as write } from 'hono/cookie';"], body: (n) => `${n[0]}(c, 'session', sid, { secure: false });`, names: [['setCookie'], ['write']] },
  { library: 'cookie', imports: ["import cookie from 'cookie';", "import { serialize as toHeader } from 'cookie';"], body: (n) => `export const h = ${n[0]}('session', sid, {});`, names: [['cookie.serialize'], ['toHeader']] },
  { library: 'iron-session', imports: ["import { getIronSession } from 'iron-session';", "import * as iron from 'iron-session';"], body: (n) => `export const s = ${n[0]}(req, res, { password, ttl: 0 });`, names: [['getIronSession'], ['iron.getIronSession']] },
  {
    library: 'SimpleWebAuthn',
    imports: ["import { verifyAuthenticationResponse } from '@simplewebauthn/server';", "import { verifyAuthenticationResponse as verifyLogin } from '@simplewebauthn/server';"],
    body: (n) => `export const v = ${n[0]}({ response, expectedChallenge, expectedRPID: 'app.example' });`,
    names: [['verifyAuthenticationResponse'], ['verifyLogin']],
  },
  { library: 'idb-keyval', imports: ["import { set } from 'idb-keyval';", "import { set as save } from 'idb-keyval';"], body: (n) => `${n[0]}('access_token', t);`, names: [['set'], ['save']] },
  { library: 'cookies-next', imports: ["import { setCookie } from 'cookies-next';", "import { setCookie as setClientCookie } from 'cookies-next';"], body: (n) => `${n[0]}('session', t);`, names: [['setCookie'], ['setClientCookie']] },
];

describe('other libraries under any local name', () => {
  it.each(LIBRARIES.map((l) => [l.library, l] as const))('%s: a renamed or namespace import gives the same findings', (_, { imports, body, names }) => {
    const plain = audit('a.ts', `${imports[0]}\n${body(names[0])}\n`);
    expect(plain.length).toBeGreaterThan(0);
    expect(audit('a.ts', `${imports[1]}\n${body(names[1])}\n`)).toEqual(plain);
  });

  it("iron-session: its 14-day default is a lifetime; only ttl: 0 never expires", () => {
    expect(audit('a.ts', "import { getIronSession } from 'iron-session';\nexport const s = getIronSession(req, res, { password });\n")).toEqual([]);
    expect(audit('a.ts', "import { getIronSession } from 'iron-session';\nconst forever = 0;\nexport const s = getIronSession(req, res, { password, ttl: forever });\n")).toEqual([
      'session-no-expiry@3:18 getIronSession() is configured with ttl: 0: the session never expires.',
    ]);
  });

  it('iron-session v8 in the App Router: getIronSession(cookieStore, options), two arguments', () => {
    const head = "import { getIronSession } from 'iron-session';\nimport { cookies } from 'next/headers';\n";
    expect(audit('a.ts', `${head}export const s = await getIronSession(await cookies(), { password, cookieName: 'app' });\n`)).toEqual([]);
    expect(audit('a.ts', `${head}export const s = await getIronSession(await cookies(), { password, cookieName: 'app', ttl: 0 });\n`)).toEqual([
      'session-no-expiry@3:24 getIronSession() is configured with ttl: 0: the session never expires.',
    ]);
    expect(audit('a.ts', `${head}const options = { password, cookieName: 'app', ttl: 0 };\nexport const s = async () => getIronSession<Data>(await cookies(), options);\n`)).toEqual([
      'session-no-expiry@4:30 getIronSession() is configured with ttl: 0: the session never expires.',
    ]);
  });

  it('express-session and cookie-session: a default import under another name is the middleware', () => {
    expect(audit('a.ts', "import makeSession from 'express-session';\nimport cookies from 'cookie-session';\napp.use(makeSession({ secret }));\napp.use(cookies({ keys }));\n")).toEqual([
      'session-no-expiry@3:9 makeSession() is configured without maxAge/expires: the session never expires.',
      'session-no-expiry@4:9 cookies() is configured without maxAge/expires: the session never expires.',
    ]);
  });
});
