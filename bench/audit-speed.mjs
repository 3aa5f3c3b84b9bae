#!/usr/bin/env node
// Speed of `gatehouse audit` against ESLint with one rule, over the same generated tree, in the
// same run. Not a test (timings depend on the machine); the ratio goes in docs/code-audit.md.
//
//   node scripts/build.mjs --if-needed && node bench/audit-speed.mjs [files=5000] [runs=3]
//
// Both tools are started as a fresh process per run (startup included), read every file,
// parse it and walk it. ESLint runs with no config file and only `no-eval`, so the tree is
// plain ESM JavaScript, which both parse without plugins.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const FILES = Number(process.argv[2] ?? 5000);
const RUNS = Number(process.argv[3] ?? 3);

/** Realistic-looking modules of 40-120 lines: routes, services, browser helpers; a few with auth mistakes. */
function moduleText(i) {
  const kind = i % 4;
  const helpers = Array.from({ length: 6 + (i % 5) }, (_, j) => `export function helper${j}(input, options = {}) {
  const list = Array.isArray(input) ? input : [input];
  const mapped = list.map((item, index) => ({ ...item, index, tag: options.tag ?? 'v${j}' }));
  return mapped.filter((m) => m.index % ${j + 2} !== 0).reduce((sum, m) => sum + (m.value ?? 0), 0);
}`).join('\n\n');
  const body = [
    `import express from 'express';\nconst app = express();\napp.get('/items/${i}', async (req, res) => {\n  const items = await load(req.query.page);\n  res.json({ items, page: Number(req.query.page ?? 1) });\n});\nasync function load(page) { return [{ id: page, value: ${i} }]; }`,
    `export class Service${i} {\n  #cache = new Map();\n  constructor(db) { this.db = db; }\n  async get(id) {\n    if (this.#cache.has(id)) return this.#cache.get(id);\n    const row = await this.db.find(id);\n    this.#cache.set(id, row);\n    return row;\n  }\n}`,
    `export async function fetchProfile${i}() {\n  const response = await fetch('/api/profile', { credentials: 'include' });\n  if (!response.ok) throw new Error('profile ' + response.status);\n  const profile = await response.json();\n  document.title = profile.name;\n  return profile;\n}`,
    `export async function signIn${i}(email, password) {\n  const res = await fetch('/api/login', { method: 'POST', body: JSON.stringify({ email, password }) });\n  const { token } = await res.json();\n  ${i % 40 === 3 ? "localStorage.setItem('token', token);" : 'return token.length > 0;'}\n}`,
  ][kind];
  return `// generated module ${i}\n${body}\n\n${helpers}\n`;
}

function generate() {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-audit-speed-'));
  for (let i = 0; i < FILES; i++) {
    const sub = join(dir, 'src', `area${i % 50}`, `feature${i % 7}`);
    mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, `module${i}.js`), moduleText(i));
  }
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  return dir;
}

function time(command, args, cwd) {
  const started = process.hrtime.bigint();
  try {
    execFileSync(command, args, { cwd, stdio: ['ignore', 'ignore', 'inherit'], maxBuffer: 1 << 28 });
  } catch (error) {
    // Both tools exit 1 when they find something; only a missing status is a failure.
    if (typeof error.status !== 'number' || error.status > 1) throw error;
  }
  return Number(process.hrtime.bigint() - started) / 1e9;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const dir = generate();
try {
  const cli = join(root, 'dist', 'src', 'cli', 'main.js');
  const eslint = join(root, 'node_modules', 'eslint', 'bin', 'eslint.js');
  const audit = [];
  const lint = [];
  for (let r = 0; r < RUNS; r++) {
    // Alternate the order so neither tool always gets the warmer file cache.
    const pair = [
      () => audit.push(time(process.execPath, [cli, 'audit', '.', '--format', 'json', '--fail-on', 'none'], dir)),
      () => lint.push(time(process.execPath, [eslint, '--no-config-lookup', '--rule', '{"no-eval":"error"}', '.'], dir)),
    ];
    if (r % 2 === 1) pair.reverse();
    pair.forEach((f) => f());
  }
  const a = median(audit);
  const l = median(lint);
  console.log(`tree: ${FILES} files (${dir}), ${RUNS} runs each, median wall time including process start`);
  console.log(`gatehouse audit:            ${a.toFixed(2)} s  (${Math.round(FILES / a)} files/s)`);
  console.log(`eslint, one rule (no-eval): ${l.toFixed(2)} s  (${Math.round(FILES / l)} files/s)`);
  console.log(`ratio: gatehouse audit is ${(l / a).toFixed(1)}x the speed of ESLint with one rule`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
