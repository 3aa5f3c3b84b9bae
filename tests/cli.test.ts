import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..');
const cli = join(root, 'dist', 'src', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-cli-'));
const databaseUrl = `sqlite:${join(dir, 'cli.db')}`;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the built CLI from the repo root (so gatehouse.config.mjs supplies the demo's roles). */
async function gatehouse(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, ...args], { cwd: root, env: { ...process.env, DATABASE_URL: databaseUrl } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

// Each call starts a Node process; on a loaded 2-core CI machine that is seconds, not milliseconds.
describe('gatehouse CLI', { timeout: 180_000 }, () => {
  it('has --help for the tool and for every command', async () => {
    const top = await gatehouse('--help');
    expect(top.code).toBe(0);
    const commands = ['migrate', 'users list', 'users create', 'users set-role', 'users disable', 'users enable', 'sessions revoke', 'events'];
    for (const c of commands) expect(top.stdout).toContain(c);
    const helps = await Promise.all(commands.map((c) => gatehouse(...c.split(' '), '--help')));
    helps.forEach((help, i) => {
      expect(help.code, commands[i]).toBe(0);
      expect(help.stdout, commands[i]).toMatch(/^Usage: gatehouse /);
      expect(help.stdout, commands[i]).toContain('--database-url');
    });
  });

  it('migrates, manages users, revokes sessions and shows events', async () => {
    const migrated = await gatehouse('migrate');
    expect(migrated.stdout).toContain('applied 0001_foundation');
    expect((await gatehouse('migrate', '--status')).stdout).toContain('up to date');

    expect((await gatehouse('users', 'create', '--email', 'Ops@Example.com', '--role', 'member')).code).toBe(0);
    const setRole = await gatehouse('users', 'set-role', '--email', 'ops@example.com', '--role', 'editor');
    expect(setRole.stdout).toContain('role member -> editor');
    expect((await gatehouse('users', 'disable', '--email', 'ops@example.com')).stdout).toContain('disabled');
    const list = await gatehouse('users', 'list', '--json');
    expect(JSON.parse(list.stdout)).toMatchObject([{ email: 'Ops@Example.com', role: 'editor', disabled: true }]);
    expect((await gatehouse('users', 'enable', '--email', 'ops@example.com')).stdout).toContain('enabled');
    expect((await gatehouse('sessions', 'revoke', '--email', 'ops@example.com')).stdout).toContain('ended 0 session(s)');

    const events = await gatehouse('events', '--email', 'ops@example.com', '--json');
    const parsed = JSON.parse(events.stdout) as { type: string; data: unknown }[];
    expect(parsed.find((e) => e.type === 'user.role_changed')?.data).toEqual({ from: 'member', to: 'editor', sessionsEnded: 0 });
    expect(parsed.map((e) => e.type)).toEqual([
      'session.revoked',
      'user.enabled',
      'user.disabled',
      'user.role_changed',
      'user.created',
    ]);
  });

  it('explains bad arguments with exit code 2 and the usage line', async () => {
    const cases: [string[], RegExp][] = [
      [['users', 'set-role', '--email', 'ops@example.com'], /--role is required/],
      [['users', 'set-role', '--email', 'nobody@example.com', '--role', 'admin'], /No account with email nobody@example.com/],
      [['users', 'list', '--limit', 'many'], /--limit must be a whole number/],
      [['events', '--type', 'bogus'], /--type must be one of/],
      [['users', 'list', '--colour'], /Unknown option '--colour'/],
      [['frobnicate'], /unknown command "frobnicate"/],
      // An option before the command: its value (a URL with a password) is never echoed.
      [['--database-url', 'postgres://admin:S3cretPW@127.0.0.1:5432/test', 'users', 'list'], /unknown command "users list"\. Options go after the command/],
    ];
    for (const [args, message] of cases) {
      const result = await gatehouse(...args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr, args.join(' ')).toMatch(message);
      expect(result.stderr).not.toContain('S3cretPW');
    }
    const role = await gatehouse('users', 'set-role', '--email', 'ops@example.com', '--role', 'wizard');
    expect(role.code).toBe(1);
    expect(role.stderr).toMatch(/"wizard" is not one of member, editor, admin/);
    const db = await gatehouse('users', 'list', '--database-url', 'mysql://x');
    expect(db.code).toBe(1);
    expect(db.stderr).toMatch(/not supported. Use sqlite:/);
  });
});

describe('gatehouse CLI, outside a project folder', { timeout: 120_000 }, () => {
  const elsewhere = mkdtempSync(join(tmpdir(), 'gatehouse-cli-elsewhere-'));
  afterAll(() => rmSync(elsewhere, { recursive: true, force: true }));
  async function inFolder(folder: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const env = { ...process.env };
    delete env.DATABASE_URL;
    try {
      const { stdout, stderr } = await run(process.execPath, [cli, ...args], { cwd: folder, env });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  }

  it('--version prints the installed package version', async () => {
    const { readFileSync } = await import('node:fs');
    const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
    expect(await inFolder(elsewhere, '--version')).toMatchObject({ code: 0, stdout: `gatehouse ${version}\n` });
  });

  it('a JWT channel or strategy without the secret: a usage error for commands that revoke, nothing for the others; no origin warning in production', async () => {
    const withEnv = (env: Record<string, string>, ...args: string[]) =>
      run(process.execPath, [cli, ...args], { cwd: root, env: { ...process.env, DATABASE_URL: databaseUrl, ...env } }).then(
        ({ stderr }) => ({ code: 0, stderr }),
        (error: { code: number; stderr: string }) => error,
      );
    const partial: Record<string, string>[] = [{ GATEHOUSE_JWT_CHANNEL: 'myapp_revocations' }, { GATEHOUSE_SESSION_STRATEGY: 'jwt' }];
    for (const env of partial) {
      const result = await withEnv(env, 'users', 'disable', '--email', 'nobody@example.com');
      expect(result.code, JSON.stringify(env)).toBe(2);
      expect(result.stderr).toContain('JWT-mode servers need the CLI in JWT mode too: set GATEHOUSE_SESSION_STRATEGY=jwt and GATEHOUSE_JWT_SECRET');
    }
    // A release step without runtime secrets can still migrate.
    expect(await withEnv({ GATEHOUSE_SESSION_STRATEGY: 'jwt' }, 'migrate', '--status')).toMatchObject({ code: 0 });
    const production = await withEnv({ NODE_ENV: 'production' }, 'users', 'list');
    expect(production.code).toBe(0);
    expect(production.stderr).not.toContain('local development origin');
  });

  it('on a database that was never migrated, says to run migrate (not "try again shortly")', async () => {
    const result = await inFolder(elsewhere, 'users', 'list', '--database-url', `sqlite:${join(elsewhere, 'empty.db')}`);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('is not migrated (or not fully, after an upgrade). Run `npx gatehouse migrate`');
    expect(result.stderr).not.toContain('Try again shortly');
  });

  it('a gatehouse.config.ts: loaded where Node strips types, else a clear exit 2', async () => {
    const folder = mkdtempSync(join(elsewhere, 'ts-'));
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(folder, 'gatehouse.config.ts'), `const databaseUrl: string = 'sqlite:${join(folder, 'from-ts.db')}';\nexport default { databaseUrl };\n`);
    const result = await inFolder(folder, 'migrate');
    if ((process.features as { typescript?: unknown }).typescript) {
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain('from-ts.db');
    } else {
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('cannot load TypeScript by itself. Write the config as gatehouse.config.mjs');
    }
  });
});
