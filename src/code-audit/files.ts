import { readdirSync, statSync } from 'node:fs';
import { extname, join, relative, resolve, sep } from 'node:path';

/** Dependencies, build output, caches and VCS folders: never the app's own source. */
export const IGNORED_DIRECTORIES = new Set([
  'node_modules', 'dist', 'build', 'out', '.next', '.nuxt', '.output', '.svelte-kit', '.vercel', '.netlify',
  '.turbo', '.cache', '.parcel-cache', 'coverage', '.git', '.hg', '.svn', 'bower_components', 'vendor', '.yarn', '.pnpm-store',
  'storybook-static', 'public/build',
]);
const EXTENSIONS = new Set(['.js', '.jsx', '.ts', '.tsx', '.mjs', '.cjs', '.mts', '.cts']);
/** Bigger files are bundles or generated code, not hand-written auth logic. */
export const MAX_FILE_BYTES = 1_000_000;

export interface FileListOptions {
  /** Files or folders to skip, relative to the working directory. */
  exclude?: string[];
}

/** Every JS/TS source file under the given paths, sorted, without ignored folders. */
export function listSourceFiles(paths: string[], options: FileListOptions = {}): string[] {
  const excluded = (options.exclude ?? []).map((p) => resolve(p));
  const isExcluded = (p: string) => excluded.some((e) => p === e || p.startsWith(e + sep));
  const out = new Set<string>();
  const visit = (dir: string) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return; // unreadable folder: skip it like git does
    }
    for (const entry of entries) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!IGNORED_DIRECTORIES.has(entry.name) && !entry.name.startsWith('.') && !isExcluded(full)) visit(full);
      } else if (entry.isFile() && isSource(entry.name) && !isExcluded(full)) out.add(full);
    }
  };
  for (const p of paths) {
    const full = resolve(p);
    const info = statSync(full); // throws ENOENT: the CLI reports it as a usage error
    if (info.isDirectory()) visit(full);
    else if (!isExcluded(full)) out.add(full);
  }
  return [...out].sort();
}

function isSource(name: string): boolean {
  return EXTENSIONS.has(extname(name)) && !name.endsWith('.d.ts') && !name.endsWith('.d.mts') && !/\.min\.[cm]?js$/.test(name);
}

/** Forward-slash path relative to `base`, for reports and SARIF. */
export function displayPath(file: string, base: string): string {
  const r = relative(base, file);
  return (r === '' ? file : r).split(sep).join('/');
}
