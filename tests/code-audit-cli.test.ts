import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { COMMANDS, parseCommand, parseCommandLine, type Command } from '../src/cli/commands.js';
import { UsageError } from '../src/cli/context.js';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..');
const cli = join(root, 'dist', 'src', 'cli', 'main.js');
const corpus = join(root, 'tests', 'fixtures', 'audit-corpus');
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-audit-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function gatehouse(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, ...args], { cwd: root });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('the option parser extension (positionals, exit codes)', () => {
  const audit = COMMANDS.find((c) => c.name === 'audit') as Command;
  const migrate = COMMANDS.find((c) => c.name === 'migrate') as Command;

  it('gives positionals to commands that declare them and still refuses them elsewhere', () => {
    expect(parseCommandLine(audit, ['src', 'demo', '--format', 'json'])).toEqual({ values: { format: 'json' }, positionals: ['src', 'demo'] });
    expect(() => parseCommandLine(migrate, ['extra'])).toThrow(UsageError);
    expect(parseCommand(migrate, ['--status'])).toEqual({ status: true });
  });
});

describe('gatehouse audit (built CLI)', { timeout: 120_000 }, () => {
  it('is listed in the overview and has --help', async () => {
    expect((await gatehouse('--help')).stdout).toContain('audit');
    const help = await gatehouse('audit', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: gatehouse audit/);
    for (const option of ['--format', '--fail-on', '--exclude', '--url', '--cookie']) expect(help.stdout).toContain(option);
  });

  it('exits 1 on findings at or above --fail-on (default high), 0 below it, 0 when clean', async () => {
    const vulnerable = join(corpus, 'spa-client', 'vulnerable');
    const found = await gatehouse('audit', vulnerable);
    expect(found.code).toBe(1);
    expect(found.stdout).toContain('HIGH (');
    expect((await gatehouse('audit', vulnerable, '--fail-on', 'none')).code).toBe(0);
    const fixed = await gatehouse('audit', join(corpus, 'spa-client', 'fixed'), '--fail-on', 'low');
    expect(fixed.code).toBe(0);
    expect(fixed.stdout).toContain('no findings');
    // Only low findings: fail with --fail-on low, pass with the default.
    const low = join(dir, 'low');
    mkdirSync(low);
    writeFileSync(join(low, 'server.js'), "import express from 'express';\nconst app = express();\napp.post('/login', (req, res) => res.json({}));\n");
    expect((await gatehouse('audit', low)).code).toBe(0);
    expect((await gatehouse('audit', low, '--fail-on', 'low')).code).toBe(1);
  });

  it('writes JSON and SARIF, to a file with --output', async () => {
    const json = await gatehouse('audit', join(corpus, 'express-api', 'vulnerable'), '--format', 'json');
    const parsed = JSON.parse(json.stdout) as { findings: { rule: string }[] };
    expect(parsed.findings.map((f) => f.rule)).toContain('refresh-token-rotation');
    const out = join(dir, 'audit.sarif');
    const sarif = await gatehouse('audit', join(corpus, 'hono-passkeys', 'vulnerable'), '--format', 'sarif', '--output', out);
    expect(sarif.code).toBe(1);
    expect(sarif.stdout).toBe('');
    const log = JSON.parse(readFileSync(out, 'utf8')) as { version: string; runs: { results: unknown[] }[] };
    expect(log.version).toBe('2.1.0');
    expect(log.runs[0]?.results.length).toBeGreaterThan(5);
  });

  it('refuses an --output in a missing folder before auditing, and exits 3 when the report cannot be written', async () => {
    const missing = await gatehouse('audit', join(corpus, 'spa-client', 'fixed'), '--output', '/nonexistent/x.json');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('gatehouse audit: --output /nonexistent/x.json: the folder /nonexistent does not exist.');
    expect((await gatehouse('audit', join(corpus, 'spa-client', 'fixed'), '--output', dir)).stderr).toContain('is a folder');
    if (existsSync('/dev/full')) {
      const full = await gatehouse('audit', join(corpus, 'spa-client', 'fixed'), '--output', '/dev/full');
      expect(full.code).toBe(3);
      expect(full.stderr).toMatch(/^gatehouse audit: could not write the report to \/dev\/full \(ENOSPC/);
    }
  });

  it('exits 3, not 1, when the audit cannot be completed (a site that does not answer)', async () => {
    const down = await gatehouse('audit', '--url', 'http://127.0.0.1:9');
    expect(down.code).toBe(3);
    expect(down.stderr).toContain('gatehouse audit: http://127.0.0.1:9 did not answer.');
  });

  it('says so when it found no source files, instead of looking like a clean pass', async () => {
    const empty = join(dir, 'empty');
    mkdirSync(join(empty, 'node_modules', 'x'), { recursive: true });
    writeFileSync(join(empty, 'node_modules', 'x', 'index.js'), "localStorage.setItem('access_token', t);\n");
    writeFileSync(join(empty, 'README.md'), '# not code\n');
    const result = await gatehouse('audit', empty);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('gatehouse audit: warning: no JS/TS source files found under');
    expect(result.stdout).toContain('no JS/TS source files found; nothing was checked.');
    expect(result.stdout).not.toContain('no findings');
  });

  it('answers usage errors with exit code 2', async () => {
    const cases = [
      ['audit', '--format', 'xml'],
      ['audit', '--fail-on', 'critical'],
      ['audit', 'no/such/folder'],
      ['audit', '--url', 'ftp://example.com'],
      ['audit', '--url', 'http://127.0.0.1:9', 'src'],
      ['audit', '--cookie', 'a=b'],
      ['audit', '--nope'],
    ];
    for (const args of cases) {
      const result = await gatehouse(...args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr, args.join(' ')).toContain('gatehouse audit:');
    }
  });
});
