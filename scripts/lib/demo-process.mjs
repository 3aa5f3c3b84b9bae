// The demo server as a child process, for the crash and load scripts: a free port, start it,
// wait until it says it listens.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer().once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Starts `dist/demo/server.js` on 127.0.0.1:port (no dev IdP); resolves once it listens. */
export async function startDemoServer(port, env) {
  const child = spawn(process.execPath, ['dist/demo/server.js'], {
    cwd: ROOT,
    env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1', GATEHOUSE_DEV_IDP: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${log}`)), 20_000);
    const collect = (chunk) => {
      log = (log + chunk.toString()).slice(-4000);
      if (log.includes('Gatehouse demo on')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${log}`));
    });
  });
  return { child, base: `http://127.0.0.1:${port}`, output: () => log };
}
