// The demo server as a child process, for the tests that run two instances side by side.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const HOST = '127.0.0.1';

export { freePort } from './private-services.js';

export interface DemoInstance {
  base: string;
  child: ChildProcess;
  output: () => string;
}

/**
 * Starts dist/demo/server.js on 127.0.0.1:port with `env`; resolves once it listens.
 * `onOutput` sees everything it writes to stdout and stderr (output() keeps only the tail).
 */
export async function startDemo(port: number, env: Record<string, string>, onOutput?: (text: string, stream: 'stdout' | 'stderr') => void): Promise<DemoInstance> {
  const child = spawn(process.execPath, ['dist/demo/server.js'], {
    cwd: ROOT,
    env: { ...process.env, ...env, PORT: String(port), HOST },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`demo on port ${port} did not start:\n${log}`)), 20_000);
    // Both pipes stay drained for the child's whole life, so it never blocks on a full pipe.
    const collect = (chunk: Buffer, stream: 'stdout' | 'stderr') => {
      const text = chunk.toString();
      onOutput?.(text, stream);
      log = (log + text).slice(-4000);
      if (log.includes('Gatehouse demo on')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', (chunk: Buffer) => collect(chunk, 'stdout'));
    child.stderr?.on('data', (chunk: Buffer) => collect(chunk, 'stderr'));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`demo on port ${port} exited with ${code}:\n${log}`));
    });
  });
  return { base: `http://${HOST}:${port}`, child, output: () => log };
}

export function stopDemo(instance: DemoInstance | undefined): Promise<void> {
  if (instance === undefined || instance.child.exitCode !== null || instance.child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    instance.child.once('exit', () => resolve());
    instance.child.kill('SIGTERM');
  });
}
