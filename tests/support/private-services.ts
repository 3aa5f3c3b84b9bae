// Private PostgreSQL and Redis servers for tests that stop a dependency FOR REAL (SIGKILL)
// and start it again on the same port, without touching the shared services other tests use.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PrivateService {
  url: string;
  /** Kills the server process (SIGKILL: no goodbye to clients). */
  kill(): Promise<void>;
  /** Starts it again on the same port and data directory. */
  start(): Promise<void>;
  close(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await exited;
}

export async function startPrivateRedis(): Promise<PrivateService> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    await waitForPort(port);
  };
  await start();
  return { url: `redis://127.0.0.1:${port}`, kill: () => stopChild(child), start, close: () => stopChild(child) };
}

/** Where PostgreSQL's binaries are (Debian layout), or null. */
function postgresBin(): string | null {
  const found = spawnSync('sh', ['-c', 'ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1'], { encoding: 'utf8' });
  const dir = found.stdout.trim();
  return dir === '' ? null : dir;
}

/**
 * Why a private PostgreSQL cannot run here, or null when it can: it needs Debian's binaries
 * and, as root, the `postgres` user (PostgreSQL refuses to run as root).
 */
export function privatePostgresUnavailable(): string | null {
  if (postgresBin() === null) return 'PostgreSQL binaries not found under /usr/lib/postgresql';
  if (process.getuid?.() === 0 && spawnSync('id', ['postgres']).status !== 0) return 'running as root without a postgres user';
  return null;
}

/** SIGKILL to the postmaster named in postmaster.pid and to every process it started. */
function killServer(data: string): void {
  let pid: number;
  try {
    pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return;
  }
  if (!Number.isInteger(pid) || pid <= 1) return;
  spawnSync('pkill', ['-9', '-P', String(pid)]);
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
  // The backends notice too; give the kernel a moment to reap them before a restart.
  spawnSync('sleep', ['0.3']);
}

export async function startPrivatePostgres(): Promise<PrivateService> {
  const bin = postgresBin();
  if (bin === null) throw new Error('PostgreSQL binaries not found');
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-pg-'));
  chmodSync(dir, 0o777);
  const data = join(dir, 'data');
  const asPostgres = (command: string, args: string[]) => (process.getuid?.() === 0 ? { command: 'runuser', args: ['-u', 'postgres', '--', command, ...args] } : { command, args });
  const init = asPostgres(join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
  const result = spawnSync(init.command, init.args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`initdb failed: ${result.stderr}`);
  let child: ChildProcess | undefined;
  const start = async () => {
    const run = asPostgres(join(bin, 'postgres'), ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off']);
    child = spawn(run.command, run.args, { stdio: 'ignore' });
    await waitForPort(port);
    // Accepting TCP is not accepting queries yet: wait until it answers.
    const ready = asPostgres(join(bin, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port)]);
    for (let i = 0; i < 100 && spawnSync(ready.command, ready.args).status !== 0; i++) await new Promise((r) => setTimeout(r, 100));
  };
  await start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    // A crash: the postmaster AND its backends die at once (SIGKILL), no shutdown checkpoint.
    kill: async () => {
      killServer(data);
      await stopChild(child);
    },
    start,
    close: async () => {
      killServer(data);
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
