#!/usr/bin/env node
// Compiles src/ and demo/ to dist/ with tsc. With --if-needed, skips the build when
// dist/ is newer than every source file, so `npm start` and `npm test` stay fast.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const stamp = join(root, 'dist', '.build-stamp');

function newest(path) {
  const info = statSync(path);
  if (!info.isDirectory()) return info.mtimeMs;
  let max = info.mtimeMs;
  for (const entry of readdirSync(path)) max = Math.max(max, newest(join(path, entry)));
  return max;
}

const inputs = ['src', 'demo', 'tsconfig.json', 'tsconfig.build.json', 'package.json'].map((p) => join(root, p)).filter(existsSync);
if (process.argv.includes('--if-needed') && existsSync(stamp)) {
  const built = statSync(stamp).mtimeMs;
  if (inputs.every((p) => newest(p) <= built)) process.exit(0);
}

process.stdout.write('gatehouse: compiling TypeScript (src/, demo/) to dist/ ... ');
const started = Date.now();
rmSync(join(root, 'dist'), { recursive: true, force: true });
try {
  execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.build.json')], {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
} catch {
  console.error('\ngatehouse: the build failed (TypeScript errors above). Fix them, then run the command again.');
  process.exit(1);
}
// The CLI is an executable (npm sets the bit on install; npx in this repo needs it too).
chmodSync(join(root, 'dist', 'src', 'cli', 'main.js'), 0o755);
writeFileSync(stamp, new Date().toISOString());
console.log(`done in ${((Date.now() - started) / 1000).toFixed(1)}s`);
