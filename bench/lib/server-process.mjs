// The life of one target's server: a child process started, proven, asked for its CPU time,
// and stopped. See servers/server.mjs for the other side.
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RESULTS_DIR } from './config.mjs';

const SERVER = fileURLToPath(new URL('../servers/server.mjs', import.meta.url));

export function startServer(target, spec, { cpuProfile, round }) {
  const execArgv = cpuProfile
    ? ['--cpu-prof', `--cpu-prof-dir=${join(RESULTS_DIR, 'profiles')}`, `--cpu-prof-name=${target.id}-round${round}.cpuprofile`]
    : [];
  const child = fork(SERVER, [], { env: { ...process.env, BENCH_SERVER: JSON.stringify(spec) }, execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the ${target.id} server did not start within 60s`));
    }, 60_000);
    child.once('message', (message) => {
      clearTimeout(timer);
      resolve({ child, port: message.ready });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the ${target.id} server exited (code ${code}) before it was ready`));
    });
  });
}

/** The server's own CPU time (user + system) so far, in microseconds. */
export function serverCpu({ child }) {
  return new Promise((resolve) => {
    child.once('message', (message) => resolve(message.cpu.user + message.cpu.system));
    child.send('cpu');
  });
}

export async function stopServer({ child }) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.send('stop');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** A target only counts if it answers a real session with its user and refuses a forged one. */
export async function verifyServer(url, target, tokens) {
  for (const { cookie, userId } of [tokens[0], tokens[tokens.length - 1]]) {
    const response = await fetch(url, { headers: { cookie } });
    const body = await response.json();
    if (response.status !== 200 || body.userId !== userId) throw new Error(`${target.id}: a valid session got ${response.status} ${JSON.stringify(body)}`);
  }
  if (target.server === 'bare') return;
  const forged = tokens[0].cookie.slice(0, -1) + (tokens[0].cookie.endsWith('A') ? 'B' : 'A');
  for (const headers of [{}, { cookie: forged }]) {
    const response = await fetch(url, { headers });
    await response.arrayBuffer();
    if (response.status !== 401) throw new Error(`${target.id}: a request without a valid session got ${response.status}, expected 401`);
  }
}
