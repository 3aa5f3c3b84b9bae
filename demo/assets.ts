import { createHash } from 'node:crypto';
import { readFile, realpath } from 'node:fs/promises';
import { sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The browser code, served as plain ES modules: no bundler, no CDN. The pages load
 * `gatehouse/client` exactly as an app would import it; an import map points the bare
 * specifiers at these routes:
 *
 *   /assets/gatehouse-client/*        dist/src/client/*.js (the package's `./client` export, built by tsc)
 *   /assets/vendor/simplewebauthn/*   @simplewebauthn/browser's ESM build (several files)
 *   /assets/demo/*                    the demo's page scripts, dist/demo/browser/*.js
 *
 * Both specifiers are resolved the way Node resolves them, so the folders are the ones the
 * package really uses, wherever npm installed them.
 */
const clientEntry = import.meta.resolve('gatehouse/client');
const folders = {
  client: fileURLToPath(new URL('./', clientEntry)),
  vendor: fileURLToPath(new URL('./', import.meta.resolve('@simplewebauthn/browser'))),
  // tsc compiles demo/browser/*.ts next to the client: dist/demo/browser/.
  pages: fileURLToPath(new URL('../../demo/browser/', new URL('./', clientEntry))),
};

export const ASSET_ROUTES = {
  '/assets/gatehouse-client/': folders.client,
  '/assets/vendor/simplewebauthn/': folders.vendor,
  '/assets/demo/': folders.pages,
} as const;

export const importMap = JSON.stringify({
  imports: {
    'gatehouse/client': '/assets/gatehouse-client/index.js',
    '@simplewebauthn/browser': '/assets/vendor/simplewebauthn/index.js',
  },
});

/**
 * The import map is the one inline script. CSP allows it by its hash, so `script-src` stays
 * `'self'` plus exactly this text (CSP3 "hash-source"); any other inline script is refused.
 */
export const importMapHash = `'sha256-${createHash('sha256').update(importMap, 'utf8').digest('base64')}'`;

/**
 * Reads one `.js` file inside `root`, or returns null (the caller answers 404). The path is
 * decoded once, resolved, and must stay inside the folder after symlinks are followed:
 * `..`, `%2e%2e`, absolute paths and links out of the folder all miss.
 */
export async function readAsset(root: string, relative: string): Promise<Response | null> {
  let name: string;
  try {
    name = decodeURIComponent(relative);
  } catch {
    return null;
  }
  if (!/^[A-Za-z0-9_\-./]+\.js$/.test(name) || name.split('/').some((part) => part === '' || part === '.' || part === '..')) return null;
  try {
    const base = (await realpath(root)) + sep;
    const file = await realpath(base + name);
    if (!file.startsWith(base)) return null;
    const body = await readFile(file);
    return new Response(body, {
      headers: { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-cache' },
    });
  } catch {
    return null; // missing, a folder, or unreadable
  }
}
