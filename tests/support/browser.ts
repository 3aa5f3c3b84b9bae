// What the Chromium test files share: where Chromium is, whether to skip, how to launch it,
// and a server on a free port for the pages under test.
import { existsSync } from 'node:fs';
import { serve, type ServerType } from '@hono/node-server';
import { chromium, type Browser, type CDPSession } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/**
 * Whether Chromium is installed. Missing: a printed reason and the file's tests skip, or a
 * failure with GATEHOUSE_REQUIRE_SERVICES=1 (CI).
 */
export function chromiumAvailable(what: string): boolean {
  if (existsSync(CHROMIUM)) return true;
  const reason = `Chromium not found at ${CHROMIUM}`;
  if (process.env.GATEHOUSE_REQUIRE_SERVICES === '1') throw new Error(`${reason} (required: GATEHOUSE_REQUIRE_SERVICES=1)`);
  console.warn(`[skip] ${reason}; ${what} are skipped. Set GATEHOUSE_REQUIRE_SERVICES=1 to fail instead.`);
  return false;
}

/** Headless Debian Chromium, with the flags that keep it off the (closed) network. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Serves `fetch` on a free port; the fetch is late-bound because the origin must name the port. */
export function listen(hostname: string, fetch: (request: Request, env: unknown) => Response | Promise<Response>): Promise<{ server: ServerType; port: number }> {
  return new Promise((resolve) => {
    const server = serve({ fetch, hostname, port: 0 }, (info) => resolve({ server, port: info.port }));
  });
}

/**
 * A DevTools WebAuthn virtual authenticator that holds discoverable credentials and verifies the
 * user (a platform authenticator with biometrics); returns its id. Call `WebAuthn.enable` first.
 */
export async function addVirtualAuthenticator(cdp: CDPSession, transport: 'internal' | 'usb' = 'internal'): Promise<string> {
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport, hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  return authenticatorId;
}

/** afterAll for the browser suites: the browser, then the server, then whatever else holds resources. */
export async function closeAll(browser: Browser | undefined, site: { server: ServerType } | undefined, ...rest: ({ close(): Promise<void> } | undefined)[]): Promise<void> {
  await browser?.close();
  if (site) await new Promise<void>((resolve) => site.server.close(() => resolve()));
  for (const item of rest) await item?.close();
}
