import { fileURLToPath } from 'node:url';
import type { NextConfig } from 'next';

const here = fileURLToPath(new URL('.', import.meta.url));

const config: NextConfig = {
  // Gatehouse runs on the server as the plain Node package it is (it opens SQLite through a
  // native driver and loads its optional peers on demand): Node loads it, Next does not bundle it.
  // gatehouse/client, used by the client components, is still bundled for the browser.
  serverExternalPackages: ['gatehouse'],
  // This folder is the app's root, even inside the gatehouse repository (which has its own lock file).
  turbopack: { root: here },
  outputFileTracingRoot: here,
};

export default config;
