import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/index.js';
import { JWT_SECRET } from './jwt-helpers.js';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..');
const cli = join(root, 'dist', 'src', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-jwt-cli-'));
const databaseUrl = `sqlite:${join(dir, 'cli.db')}`;

async function gatehouse(env: Record<string, string>, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, ...args], { cwd: root, env: { ...process.env, DATABASE_URL: databaseUrl, ...env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
const jwtEnv = { GATEHOUSE_SESSION_STRATEGY: 'jwt', GATEHOUSE_JWT_SECRET: JWT_SECRET, REDIS_URL: '' };

describe('gatehouse keys', { timeout: 180_000 }, () => {
  beforeAll(() => {
    execFileSync(process.execPath, ['scripts/build.mjs', '--if-needed'], { cwd: root, stdio: 'pipe' });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keys rotate: --help, refuses outside JWT mode, and rotates (new key signs, the old one retires later)', async () => {
    const help = await gatehouse({}, 'keys', 'rotate', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: gatehouse keys rotate/);
    expect(help.stdout).toContain('--database-url');
    expect((await gatehouse({}, '--help')).stdout).toContain('keys rotate');

    expect((await gatehouse({}, 'migrate')).code).toBe(0);
    const off = await gatehouse({ GATEHOUSE_SESSION_STRATEGY: '' }, 'keys', 'rotate');
    expect(off.code).toBe(2);
    expect(off.stderr).toContain('GATEHOUSE_SESSION_STRATEGY=jwt and GATEHOUSE_JWT_SECRET');

    const first = await gatehouse(jwtEnv, 'keys', 'rotate');
    expect(first.code).toBe(0);
    const kid = /New signing key (\S+)/.exec(first.stdout)?.[1];
    expect(kid).toBeDefined();
    const second = await gatehouse(jwtEnv, 'keys', 'rotate');
    expect(second.code).toBe(0);
    expect(second.stdout).toContain(`Retiring ${kid}`);
    expect(second.stdout).toMatch(/keep verifying for 17 minutes/);

    const list = await gatehouse(jwtEnv, 'keys', 'list', '--json');
    expect(list.code).toBe(0);
    const rows = JSON.parse(list.stdout) as { kid: string; status: string; retiresAt: string }[];
    expect(rows.filter((r) => r.status === 'signing')).toHaveLength(1);
    expect(rows.find((r) => r.kid === kid)).toMatchObject({ status: 'verifying', retiresAt: expect.any(String) });

    // [DB] the private key is stored encrypted only.
    const database = await openDatabase(databaseUrl);
    const stored = await database.kysely.selectFrom('gatehouse_signing_keys').selectAll().execute();
    await database.close();
    for (const row of stored) {
      expect(row.private_jwe.split('.')).toHaveLength(5);
      expect(row.private_jwe).not.toContain('"d"');
      expect(JSON.parse(row.public_jwk)).not.toHaveProperty('d');
    }
  });
});
