import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (path: string) => fileURLToPath(new URL(`./src/${path}`, import.meta.url));

export default defineConfig({
  // Tests import the demo, which imports 'gatehouse' like a user's app: point that at the
  // sources so tests and demo share one copy of the library.
  resolve: {
    alias: [
      { find: /^gatehouse\/authz$/, replacement: src('authz/index.ts') },
      { find: /^gatehouse\/testing$/, replacement: src('testing/index.ts') },
      { find: /^gatehouse\/dev-idp$/, replacement: src('dev-idp/dev-idp.ts') },
      { find: /^gatehouse\/next\/middleware$/, replacement: src('adapters/next/middleware.ts') },
      { find: /^gatehouse\/next$/, replacement: src('adapters/next/index.ts') },
      { find: /^gatehouse\/hono$/, replacement: src('adapters/hono.ts') },
      { find: /^gatehouse\/express$/, replacement: src('adapters/express.ts') },
      { find: /^gatehouse\/node$/, replacement: src('adapters/node.ts') },
      { find: /^gatehouse$/, replacement: src('index.ts') },
    ],
  },
  test: {
    include: ['tests/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // PostgreSQL-backed files share one database: keep files from stepping on each other.
    fileParallelism: false,
  },
});
