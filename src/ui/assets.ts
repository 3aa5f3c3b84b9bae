import { createHash } from 'node:crypto';
import { readFile, realpath } from 'node:fs/promises';
import { sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The browser code of the built-in pages, served as plain ES modules by the handler itself: no
 * bundler, no CDN, nothing for the app to copy. Under `<base>/assets/`:
 *
 *   client/*          gatehouse/client (this package's `./client` export)
 *   simplewebauthn/*  @simplewebauthn/browser's ESM build
 *   ui/*              the pages' scripts (src/ui/browser, compiled next to the client)
 *   ui.css            the stylesheet with the configured theme
 *
 * The folders are found the way Node resolves the packages, so they are the ones in use
 * wherever npm put them.
 */
export type AssetFolder = 'client' | 'simplewebauthn' | 'ui';

let folders: Record<AssetFolder, string> | undefined;

function assetFolders(): Record<AssetFolder, string> {
  if (folders !== undefined) return folders;
  const clientEntry = import.meta.resolve('gatehouse/client');
  folders = {
    client: fileURLToPath(new URL('./', clientEntry)),
    simplewebauthn: fileURLToPath(new URL('./', import.meta.resolve('@simplewebauthn/browser'))),
    // tsc compiles src/ui/browser/*.ts next to the client: dist/src/ui/browser/.
    ui: fileURLToPath(new URL('../ui/browser/', new URL('./', clientEntry))),
  };
  return folders;
}

export function importMap(basePath: string): string {
  return JSON.stringify({
    imports: {
      'gatehouse/client': `${basePath}/assets/client/index.js`,
      '@simplewebauthn/browser': `${basePath}/assets/simplewebauthn/index.js`,
    },
  });
}

/** CSP3 hash-source of an inline script: the import map is the pages' one inline script. */
export function scriptHash(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

interface Asset {
  body: Uint8Array<ArrayBuffer>;
  etag: string;
}

const cache = new Map<string, Promise<Asset | null>>();
const MAX_CACHED = 500;

async function load(folder: AssetFolder, name: string): Promise<Asset | null> {
  try {
    const base = (await realpath(assetFolders()[folder])) + sep;
    const file = await realpath(base + name);
    // After symlinks are followed, the file must still be inside the folder.
    if (!file.startsWith(base)) return null;
    const body = new Uint8Array(await readFile(file));
    return { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
  } catch {
    return null; // missing, a folder, or unreadable
  }
}

/**
 * One `.js` file inside an asset folder, or null (the caller answers 404). The name is decoded
 * once and must be plain segments: `..`, `%2e%2e`, absolute paths, empty segments, and links out
 * of the folder all miss. Files are read once and kept in memory (the set is small and fixed).
 */
export async function readAsset(folder: AssetFolder, relative: string, ifNoneMatch: string | null): Promise<Response | null> {
  let name: string;
  try {
    name = decodeURIComponent(relative);
  } catch {
    return null;
  }
  if (name.length > 200 || !/^[A-Za-z0-9_\-./]+\.js$/.test(name) || name.split('/').some((part) => part === '' || part === '.' || part === '..')) return null;
  const key = `${folder}/${name}`;
  let pending = cache.get(key);
  if (pending === undefined) {
    pending = load(folder, name);
    // Misses are not kept: a flood of made-up names must not grow the map.
    void pending.then((asset) => {
      if (asset === null) cache.delete(key);
    });
    if (cache.size < MAX_CACHED) cache.set(key, pending);
  }
  const asset = await pending;
  if (asset === null) return null;
  return fileResponse(asset.body, asset.etag, 'text/javascript; charset=utf-8', ifNoneMatch);
}

/** A static file: revalidated on each use (`no-cache` + ETag), so an upgrade is picked up at once. */
export function fileResponse(body: Uint8Array<ArrayBuffer> | string, etag: string, contentType: string, ifNoneMatch: string | null): Response {
  const headers = { etag, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' };
  if (ifNoneMatch !== null && ifNoneMatch.split(',').some((tag) => tag.trim() === etag)) return new Response(null, { status: 304, headers });
  return new Response(body, { headers: { ...headers, 'content-type': contentType } });
}

export function etagOf(text: string): string {
  return `"${createHash('sha256').update(text, 'utf8').digest('base64url').slice(0, 27)}"`;
}
