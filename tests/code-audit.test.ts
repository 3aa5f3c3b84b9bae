import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { auditCode } from '../src/code-audit/engine.js';
import { RULES } from '../src/code-audit/rules/index.js';
import { durationSeconds } from '../src/code-audit/rules/jwt.js';
import { formatSarif } from '../src/code-audit/report/sarif.js';
import { formatText } from '../src/code-audit/report/text.js';
import { formatJson } from '../src/code-audit/report/json.js';
import type { Rule } from '../src/code-audit/types.js';

const root = join(import.meta.dirname, '..');
const corpus = join(import.meta.dirname, 'fixtures', 'audit-corpus');
const scratch = mkdtempSync(join(tmpdir(), 'gatehouse-audit-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface Expected {
  rule: string;
  file: string;
  line: number;
}

/** Audits a small project written into a temp folder; returns `rule@file:line` keys. */
function auditFiles(files: Record<string, string>): string[] {
  const dir = mkdtempSync(join(scratch, 'case-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return auditCode({ paths: [dir], base: dir }).findings.map((f) => `${f.rule}@${f.file}:${f.line}`);
}

describe('audit corpus: vulnerable and fixed sample apps', () => {
  const apps = readdirSync(corpus);
  let truePositives = 0;
  let falsePositives = 0;
  let falseNegatives = 0;
  const detected = new Set<string>();

  it.each(apps)('%s: finds every expected finding in vulnerable/, nothing in fixed/', (app) => {
    const expected = JSON.parse(readFileSync(join(corpus, app, 'expected.json'), 'utf8')) as { vulnerable: Expected[]; fixed: Expected[] };
    for (const variant of ['vulnerable', 'fixed'] as const) {
      const dir = join(corpus, app, variant);
      const found = auditCode({ paths: [dir], base: dir }).findings.map((f) => `${f.rule}@${f.file}:${f.line}`);
      const wanted = expected[variant].map((e) => `${e.rule}@${e.file}:${e.line}`);
      const tp = found.filter((f) => wanted.includes(f));
      truePositives += tp.length;
      falsePositives += found.length - tp.length;
      falseNegatives += wanted.filter((w) => !found.includes(w)).length;
      for (const f of tp) detected.add(f.split('@')[0] ?? '');
      expect({ variant, missed: wanted.filter((w) => !found.includes(w)), unexpected: found.filter((f) => !wanted.includes(f)) }).toEqual({ variant, missed: [], unexpected: [] });
    }
  });

  it('has precision 1 and recall 1 over the corpus, and every rule is exercised', () => {
    const precision = truePositives / (truePositives + falsePositives);
    const recall = truePositives / (truePositives + falseNegatives);
    console.log(`audit corpus: ${apps.length} apps, ${truePositives} true positives, ${falsePositives} false positives, ${falseNegatives} false negatives; precision ${precision.toFixed(3)}, recall ${recall.toFixed(3)}`);
    expect(truePositives).toBeGreaterThan(40);
    expect(precision).toBe(1);
    expect(recall).toBe(1);
    expect(RULES.map((r) => r.info.id).filter((id) => !detected.has(id))).toEqual([]);
  });
});

describe('rules: data flow within a file', () => {
  it('follows a token variable into localStorage, and an options object defined above its use', () => {
    const found = auditFiles({
      'a.ts': [
        "const r = await fetch('/api/auth/login', { method: 'POST' });",
        'const data = await r.json();',
        'const t = data.jwt;',
        "localStorage.setItem('k', t);",
        "const opts = { sameSite: 'lax' };",
        "res.cookie('session', t, opts);",
      ].join('\n'),
    });
    expect(found).toEqual(['token-in-script-storage@a.ts:4', 'cookie-not-httponly@a.ts:6']);
    expect(auditFiles({ 'b.ts': "sessionStorage.setItem('a', auth.getAccessToken());\n" })).toEqual(['token-in-script-storage@b.ts:1']);
  });

  it('stays silent on non-secret values in web storage and on CSRF or pagination tokens', () => {
    expect(
      auditFiles({
        'b.ts': ["localStorage.setItem('theme', 'dark');", "localStorage.setItem('csrfToken', csrf);", "sessionStorage.setItem('nextPageToken', cursor);", "localStorage.setItem('user', JSON.stringify(me));"].join('\n'),
      }),
    ).toEqual([]);
  });

  it('treats "sid" as a session id only as a whole word (not sidebar, shadcn/ui\'s SIDEBAR_COOKIE_NAME)', () => {
    const found = auditFiles({
      'sidebar.tsx': [
        "const SIDEBAR_COOKIE_NAME = 'sidebar_state';",
        'document.cookie = `${SIDEBAR_COOKIE_NAME}=${sidebarOpen}; path=/; max-age=604800`;',
        "localStorage.setItem('sidebar', sidebarOpen);",
        "localStorage.setItem('k', sidebarOpen);",
        "localStorage.setItem('sid', v);",
        "localStorage.setItem('k', userSid);",
        'document.cookie = `connect.sid=${sid}`;',
      ].join('\n'),
    });
    expect(found).toEqual(['token-in-script-storage@sidebar.tsx:5', 'token-in-script-storage@sidebar.tsx:6', 'token-in-script-storage@sidebar.tsx:7']);
  });

  it('cookie-not-httponly: spreads may carry httpOnly, Koa and SvelteKit default to it, a Map is not a cookie API', () => {
    const found = auditFiles({
      'cookies.ts': [
        "res.cookie('session', token, { ...cookieOpts, maxAge: 1000 });",
        "res.cookie('session', token, { maxAge: 1000 });",
        "ctx.cookies.set('session', token, { maxAge: 1000 });",
        "ctx.cookies.set('session', token, { httpOnly: false });",
        "event.cookies.set('session', token, { path: '/' });",
        'const jar = { cookies: new Map() };',
        "jar.cookies.set('session', { value: token, expires: 0 });",
        "response.cookies.set('session', token);",
        "NextResponse.next().cookies.set('session', token);",
      ].join('\n'),
    });
    expect(found).toEqual(['cookie-not-httponly@cookies.ts:2', 'cookie-not-httponly@cookies.ts:4', 'cookie-not-httponly@cookies.ts:8', 'cookie-not-httponly@cookies.ts:9']);
  });

  it('reads lifetimes in every spelling: jose strings, jsonwebtoken seconds, exp arithmetic', () => {
    expect(durationSeconds('15m')).toBe(900);
    expect(durationSeconds('30 days')).toBe(2_592_000);
    expect(durationSeconds('2h')).toBe(7200);
    expect(durationSeconds('soon')).toBeUndefined();
    const found = auditFiles({
      'sign.ts': [
        "import jwt from 'jsonwebtoken';",
        'const ONE_HOUR = 60 * 60;',
        "jwt.sign({ sub }, key, { expiresIn: ONE_HOUR, algorithm: 'HS256' });",
        "jwt.sign({ sub }, key, { expiresIn: '10m' });",
        'jwt.sign({ sub, exp: Math.floor(Date.now() / 1000) + 600 }, key);',
        "jwt.sign({ sub, type: 'refresh' }, key, { expiresIn: '30d' });",
        'jwt.sign({ sub }, key);',
      ].join('\n'),
    });
    expect(found).toEqual(['access-token-lifetime@sign.ts:3', 'access-token-lifetime@sign.ts:7']);
  });

  it('does not treat decoding for an expiry check as trusting the claims', () => {
    expect(auditFiles({ 'c.ts': "import { decodeJwt } from 'jose';\nexport const left = (t: string) => decodeJwt(t).exp;\n" })).toEqual([]);
    expect(auditFiles({ 'd.ts': "import { decodeJwt } from 'jose';\nexport const who = (t: string) => decodeJwt(t).sub;\n" })).toEqual(['jwt-decode-unverified@d.ts:2']);
  });

  it('checks a hand-written OAuth callback for PKCE and state, and ignores cookies being cleared', () => {
    const exchange = (body: string) => `export async function callback(url: URL, saved: { state: string; verifier: string }) {\n${body}\n}\n`;
    expect(auditFiles({ 'a.ts': exchange("  const form = { grant_type: 'authorization_code', code: url.searchParams.get('code') };\n  return fetch('https://idp.example/token', { method: 'POST', body: new URLSearchParams(form) });") })).toEqual(['oauth-flow-params@a.ts:2']);
    expect(
      auditFiles({
        'b.ts': exchange("  if (url.searchParams.get('state') !== saved.state) throw new Error('state');\n  const form = { grant_type: 'authorization_code', code: url.searchParams.get('code'), code_verifier: saved.verifier };\n  return fetch('https://idp.example/token', { method: 'POST', body: new URLSearchParams(form) });"),
      }),
    ).toEqual([]);
    expect(auditFiles({ 'c.ts': "export function signOut(res) {\n  res.cookie('session', '', { maxAge: 0 });\n  res.cookie('sid', 'x', { expires: new Date(0) });\n}\n" })).toEqual([]);
  });

});

describe('parsing', () => {
  const bad = "localStorage.setItem('access_token', t);";

  it('checks JSX in .js files (Create React App style) and CommonJS with a top-level return', () => {
    expect(auditFiles({ 'src/App.js': `import React from 'react';\nexport default function App({ t }) {\n  ${bad}\n  return <div>hi</div>;\n}\n` })).toEqual(['token-in-script-storage@src/App.js:3']);
    expect(auditFiles({ 'widget.js': `const Widget = () => <b/>;\n${bad}\n` })).toEqual(['token-in-script-storage@widget.js:2']);
    expect(auditFiles({ 'bin.cjs': `if (require.main !== module) return;\n${bad}\n` })).toEqual(['token-in-script-storage@bin.cjs:2']);
    const dir = mkdtempSync(join(scratch, 'cjs-'));
    writeFileSync(join(dir, 'server.js'), `const x = require('x');\nif (!module.parent) return;\n${bad}\n`);
    expect(auditCode({ paths: [dir], base: dir })).toMatchObject({ parseErrors: [], findings: [{ rule: 'token-in-script-storage', line: 3 }] });
  });

  it('says truthfully which files were not checked: a recovered error is checked, an unrecoverable one is not', () => {
    const dir = mkdtempSync(join(scratch, 'broken-'));
    writeFileSync(join(dir, 'recovered.ts'), `return;\n${bad}\n`);
    writeFileSync(join(dir, 'broken.ts'), `${bad}\nconst = ;\n`);
    const result = auditCode({ paths: [dir], base: dir });
    expect(result.findings.map((f) => `${f.rule}@${f.file}:${f.line}`)).toEqual(['token-in-script-storage@recovered.ts:2']);
    expect(result.parseErrors).toEqual([
      { file: 'broken.ts', message: 'Unexpected token (line 2:7)', checked: false },
      { file: 'recovered.ts', message: expect.stringContaining('(line 1:1)') as string, checked: true },
    ]);
    const text = formatText(result);
    expect(text).toContain('note: broken.ts: NOT checked: syntax error the parser cannot recover from (Unexpected token (line 2:7)).');
    expect(text).toContain('note: recovered.ts: could not parse completely');
  });
});

describe('CommonJS: require() is followed like an import', () => {
  it('session-no-expiry: express-session and cookie-session required, also called inline', () => {
    const found = auditFiles({
      'server.js': [
        "const session = require('express-session');", // the express-session README example
        "app.use(session({ secret: 'keyboard cat', resave: false, saveUninitialized: true, cookie: { secure: true } }));",
        "app.use(require('express-session')({ secret: 's' }));",
        "const cookieSession = require('cookie-session');",
        "app.use(cookieSession({ name: 'session', keys: ['k'] }));",
        "app.use(session({ secret: 's', cookie: { maxAge: 3600000 } }));",
        "const local = require('./session');",
        "app.use(local({ secret: 's' }));",
      ].join('\n'),
    });
    expect(found).toEqual(['session-no-expiry@server.js:2', 'session-no-expiry@server.js:3', 'session-no-expiry@server.js:5']);
  });

  it('jsonwebtoken: require(...).sign, TypeScript import = require, and a required idb-keyval', () => {
    expect(auditFiles({ 'a.js': "require('jsonwebtoken').sign({ sub }, key);\n" })).toEqual(['access-token-lifetime@a.js:1']);
    expect(auditFiles({ 'b.ts': "import tokens = require('jsonwebtoken');\ntokens.sign({ sub }, key);\n" })).toEqual(['access-token-lifetime@b.ts:2']);
    expect(auditFiles({ 'c.js': "const { set } = require('idb-keyval');\nset('access_token', t);\n" })).toEqual(['token-in-script-storage@c.js:2']);
  });
});

describe('one finding per rule, place and message', () => {
  it('keeps both missing WebAuthn options at one call, with distinct SARIF fingerprints', () => {
    const dir = mkdtempSync(join(scratch, 'messages-'));
    writeFileSync(join(dir, 'verify.ts'), "import { verifyAuthenticationResponse } from '@simplewebauthn/server';\nexport const check = (response, expectedChallenge, credential) => verifyAuthenticationResponse({ response, expectedChallenge, credential });\n");
    const result = auditCode({ paths: [dir], base: dir });
    expect(result.findings.map((f) => `${f.rule}@${f.line} ${f.message}`).sort()).toEqual([
      'webauthn-expected-origin@2 verifyAuthenticationResponse without expectedOrigin.',
      'webauthn-expected-origin@2 verifyAuthenticationResponse without expectedRPID.',
    ]);
    const sarif = JSON.parse(formatSarif(result, '1.2.3')) as { runs: { results: { partialFingerprints: { primaryLocationLineHash: string } }[] }[] };
    const hashes = sarif.runs[0]?.results.map((r) => r.partialFingerprints.primaryLocationLineHash) ?? [];
    expect(new Set(hashes).size).toBe(2);
  });
});

describe('suppressions', () => {
  it('need a reason; with one they hide the finding on the next line or in the whole file', () => {
    const found = auditFiles({
      'a.ts': [
        '// gatehouse-audit-ignore token-in-script-storage -- demo page that stores a fake token on purpose',
        "localStorage.setItem('access_token', 'fake');",
        '// gatehouse-audit-ignore token-in-script-storage',
        "localStorage.setItem('access_token', t);",
        "localStorage.setItem('id_token', t); // gatehouse-audit-ignore token-in-script-storage -- same-line form",
      ].join('\n'),
      'b.ts': "/* gatehouse-audit-ignore-file token-in-script-storage -- attack code for a test */\nlocalStorage.setItem('access_token', t);\n",
    });
    expect(found).toEqual(['token-in-script-storage@a.ts:4', 'invalid-suppression@a.ts:3']);
  });

  it('a trailing comment covers only its own line; a comment alone on its line covers the next one', () => {
    // The docs' own example, followed by a real finding that must still be reported.
    const found = auditFiles({
      'a.ts': [
        "localStorage.setItem('id_token_hint', hint); // gatehouse-audit-ignore token-in-script-storage -- public hint, not a credential",
        "localStorage.setItem('access_token', t);",
        '/* gatehouse-audit-ignore token-in-script-storage -- a block comment alone on its line */',
        "localStorage.setItem('refresh_token', t);",
        "/* gatehouse-audit-ignore token-in-script-storage -- leading block comment */ localStorage.setItem('jwt', t);",
        "localStorage.setItem('session_token', t);",
      ].join('\n'),
      'b.jsx': ['export const A = () => (', '  <div>', '    {/* gatehouse-audit-ignore token-in-script-storage -- JSX comment on its own line */}', "    {localStorage.setItem('access_token', t)}", '  </div>', ');'].join('\n'),
    });
    expect(found).toEqual(['token-in-script-storage@a.ts:2', 'token-in-script-storage@a.ts:6']);
  });

  it('notes a suppression that names an unknown rule id (it suppresses nothing)', () => {
    const dir = mkdtempSync(join(scratch, 'unknown-rule-'));
    writeFileSync(join(dir, 'x.js'), "// gatehouse-audit-ignore token-in-script-storag -- typo in the rule id\nlocalStorage.setItem('jwt', v);\n");
    const result = auditCode({ paths: [dir], base: dir });
    expect(result.findings.map((f) => `${f.rule}@${f.file}:${f.line}`)).toEqual(['token-in-script-storage@x.js:2']);
    expect(result.notes).toEqual([{ file: 'x.js', line: 1, message: 'the suppression names "token-in-script-storag", which is not a rule id, so it suppresses nothing (rule ids: docs/code-audit.md).' }]);
    expect(formatText(result)).toContain('note: x.js:1: the suppression names "token-in-script-storag"');
  });

  it('counts what it suppressed', () => {
    const dir = mkdtempSync(join(scratch, 'count-'));
    writeFileSync(join(dir, 'x.js'), "// gatehouse-audit-ignore token-in-script-storage -- fixture\nlocalStorage.setItem('jwt', v);\n");
    expect(auditCode({ paths: [dir], base: dir })).toMatchObject({ findings: [], suppressed: 1, files: 1 });
  });
});

describe('file discovery', () => {
  it('skips node_modules, build output, declaration files and --exclude paths', () => {
    const bad = "localStorage.setItem('access_token', t);\n";
    const found = auditFiles({ 'src/app.tsx': `export const A = () => <div/>;\n${bad}`, 'node_modules/x/index.js': bad, 'dist/app.js': bad, '.next/server.js': bad, 'types.d.ts': 'declare const x: string;\n' });
    expect(found).toEqual(['token-in-script-storage@src/app.tsx:2']);
    const dir = mkdtempSync(join(scratch, 'exclude-'));
    mkdirSync(join(dir, 'fixtures'));
    writeFileSync(join(dir, 'fixtures', 'a.js'), bad);
    expect(auditCode({ paths: [dir], base: dir, exclude: [join(dir, 'fixtures')] }).files).toBe(0);
  });
});

describe('one bad file does not stop the audit', () => {
  it('skips a file it cannot read, with a note, and checks the others', () => {
    const dir = mkdtempSync(join(scratch, 'unreadable-'));
    const bad = "localStorage.setItem('access_token', t);\n";
    for (const name of ['a.js', 'b.js', 'c.js']) writeFileSync(join(dir, name), bad);
    // b.js disappears between listing and reading (as root, chmod 000 cannot make a file unreadable).
    const result = auditCode({ paths: [dir], base: dir, onProgress: (done) => done === 1 && rmSync(join(dir, 'b.js')) });
    expect(result.findings.map((f) => f.file)).toEqual(['a.js', 'c.js']);
    expect(result.notes).toEqual([{ file: 'b.js', message: 'NOT checked: could not be read (ENOENT).' }]);
    expect(formatText(result)).toContain('note: b.js: NOT checked: could not be read (ENOENT).');
    expect(JSON.parse(formatJson(result))).toMatchObject({ notes: [{ file: 'b.js' }] });
    expect(JSON.parse(formatSarif(result, '1.2.3'))).toMatchObject({ runs: [{ invocations: [{ executionSuccessful: true, toolExecutionNotifications: [{ level: 'warning', message: { text: 'NOT checked: could not be read (ENOENT).' }, locations: [{ physicalLocation: { artifactLocation: { uri: 'b.js' } } }] }] }] }] });
  });
});

describe('deep or unexpected code does not stop the audit', () => {
  it('checks a chain of 5,000 calls (generated code) without overflowing the stack', () => {
    const dir = mkdtempSync(join(scratch, 'deep-'));
    writeFileSync(join(dir, 'chain.js'), `a${'.b()'.repeat(5000)};\nlocalStorage.setItem('access_token', t);\n`);
    const started = performance.now();
    const result = auditCode({ paths: [dir], base: dir });
    expect(result.notes).toEqual([]);
    expect(result.findings.map((f) => `${f.rule}@${f.file}:${f.line}`)).toEqual(['token-in-script-storage@chain.js:2']);
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  it('a rule that throws on one file becomes a note for that file; other rules and files still run', () => {
    const dir = mkdtempSync(join(scratch, 'throws-'));
    const bad = "localStorage.setItem('access_token', t);\n";
    writeFileSync(join(dir, 'a.js'), bad);
    writeFileSync(join(dir, 'b.js'), bad);
    const broken: Rule = { info: { ...(RULES[1] as Rule).info, id: 'broken-rule' }, check: (file) => { if (file.path.endsWith('a.js')) throw new RangeError('Maximum call stack size exceeded'); } };
    const result = auditCode({ paths: [dir], base: dir, rules: [broken, ...RULES] });
    expect(result.findings.map((f) => `${f.rule}@${f.file}`)).toEqual(['token-in-script-storage@a.js', 'token-in-script-storage@b.js']);
    expect(result.notes).toEqual([{ file: 'a.js', message: 'rule broken-rule failed on this file (Maximum call stack size exceeded); the other rules ran. Please report it.' }]);
  });
});

describe('reports', () => {
  const dir = join(corpus, 'spa-client', 'vulnerable');
  const result = auditCode({ paths: [dir], base: dir });

  it('text: grouped by severity with file:line, the code, the fix and the guide', () => {
    const text = formatText(result);
    expect(text.indexOf('HIGH (')).toBeLessThan(text.indexOf('gatehouse audit:'));
    expect(text).toContain('src/auth.ts:13:3  token-in-script-storage');
    expect(text).toContain("13 |   localStorage.setItem('access_token', accessToken);");
    expect(text).toContain('Guide: docs/cookies.md');
  });

  it('json: versioned, with a summary', () => {
    const parsed = JSON.parse(formatJson(result)) as { version: number; summary: { high: number }; findings: unknown[] };
    expect(parsed.version).toBe(1);
    expect(parsed.summary.high).toBe(parsed.findings.length);
  });

  it('sarif: a 2.1.0 log with rules, levels, security-severity and relative locations', () => {
    const sarif = JSON.parse(formatSarif(result, '1.2.3')) as {
      version: string;
      runs: { tool: { driver: { name: string; rules: { id: string; properties: Record<string, string> }[] } }; results: { ruleId: string; ruleIndex: number; level: string; locations: { physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } } }[] }[] }[];
    };
    expect(sarif.version).toBe('2.1.0');
    const run = sarif.runs[0];
    expect(run?.tool.driver.rules.every((r) => /^\d+\.\d$/.test(r.properties['security-severity'] ?? ''))).toBe(true);
    expect(run?.results).toHaveLength(result.findings.length);
    for (const r of run?.results ?? []) {
      expect(run?.tool.driver.rules[r.ruleIndex]?.id).toBe(r.ruleId);
      expect(['error', 'warning', 'note']).toContain(r.level);
      expect(r.locations[0]?.physicalLocation.artifactLocation.uri).toMatch(/^src\/[a-z]+\.ts$/);
      expect(r.locations[0]?.physicalLocation.region.startLine).toBeGreaterThan(0);
    }
  });
});

describe('Gatehouse audits itself', () => {
  it('reports nothing at or above medium in src, demo, tests (without the corpus) and bench', () => {
    const result = auditCode({ paths: ['src', 'demo', 'tests', 'bench'].map((p) => join(root, p)), base: root, exclude: [corpus] });
    expect(result.files).toBeGreaterThan(100);
    expect(result.findings.filter((f) => f.severity !== 'low').map((f) => `${f.rule}@${f.file}:${f.line} ${f.message}`)).toEqual([]);
  });
});

describe('architecture', () => {
  it('src/code-audit imports only itself, oxc-parser, node: modules and the CLI\'s context (UsageError, repeatedOption)', () => {
    const base = join(root, 'src', 'code-audit');
    const files = readdirSync(base, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(10);
    const outside: string[] = [];
    for (const file of files) {
      const text = readFileSync(join(base, file), 'utf8');
      for (const match of text.matchAll(/^import [^'"]*['"]([^'"]+)['"]/gm)) {
        const spec = match[1] ?? '';
        if (spec === 'oxc-parser' || spec.startsWith('node:')) continue;
        const target = join(base, dirname(file), spec);
        if (target.startsWith(base + '/') || target === join(root, 'src', 'cli', 'context.js')) continue;
        outside.push(`${file}: ${spec}`);
      }
    }
    expect(outside).toEqual([]);
  });
});

describe('docs/code-audit.md', () => {
  it('documents every rule with its severity and guide, and every live check', () => {
    const doc = readFileSync(join(root, 'docs', 'code-audit.md'), 'utf8');
    for (const { id, severity, guide } of [...RULES.map((r) => r.info)]) {
      expect(doc, id).toContain(`| \`${id}\` | ${severity} |`);
      expect(doc, id).toContain(`### ${id} (${severity}`);
      expect(doc, id).toContain(`${guide}.md`);
    }
    const live = readFileSync(join(root, 'src', 'code-audit', 'live.ts'), 'utf8');
    for (const [, check] of live.matchAll(/check: '(live-[a-z-]+)'/g)) expect(doc).toContain(`\`${check}\``);
    for (const [, check] of live.matchAll(/add\('(live-[a-z-]+)'/g)) expect(doc).toContain(`\`${check}\``);
  });
});
