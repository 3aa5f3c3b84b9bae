import { execFile, execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { hasPostgres } from './services.js';

/**
 * A short run of scripts/crash-test.mjs (3 kills per database) so CI proves the invariants
 * on every change; the longer run and its figures are in docs/operations.md.
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));

describe('crash safety (SIGKILL mid-traffic, restart, invariants)', () => {
  it('holds every invariant on SQLite and PostgreSQL', async () => {
    // The script runs the compiled demo: build it if the sources changed.
    execFileSync(process.execPath, ['scripts/build.mjs', '--if-needed'], { cwd: ROOT, stdio: 'inherit' });
    const databases = hasPostgres ? 'sqlite,postgres' : 'sqlite';
    const { stdout } = await promisify(execFile)(process.execPath, ['scripts/crash-test.mjs', '--kills', '3', '--databases', databases, '--seed', '7'], { cwd: ROOT, timeout: 120_000 });
    expect(stdout).toContain('all invariants held');
    const results = JSON.parse(stdout.split('\n').find((l) => l.startsWith('[{'))!) as Array<{ kind: string; kills: number; signUps: number; violations: string[] }>;
    expect(results.map((r) => [r.kind, r.kills, r.violations])).toEqual(databases.split(',').map((k) => [k, 3, []]));
  }, 150_000);
});
