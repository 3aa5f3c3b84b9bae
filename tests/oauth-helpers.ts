import { expect } from 'vitest';
import type { TestInstance } from './helpers.js';

/** One simulated browser for OAuth flows: keeps Gatehouse's cookies, follows the provider's redirect by hand. */
export class OAuthBrowser {
  readonly jar = new Map<string, string>();
  constructor(
    private readonly t: TestInstance,
    readonly ip = '203.0.113.20',
  ) {}

  get cookie(): string {
    return [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  has(name: string): boolean {
    return this.jar.has(name);
  }

  /** A request to Gatehouse as this browser; `site` is what Sec-Fetch-Site says. */
  async send(path: string, init: { method?: string; json?: unknown; accept?: string; site?: string } = {}): Promise<Response> {
    const headers: Record<string, string> = { accept: init.accept ?? 'text/html,application/xhtml+xml', 'sec-fetch-site': init.site ?? 'same-origin' };
    const res = await this.t.request(path, {
      method: init.method ?? 'GET',
      cookie: this.cookie,
      ip: this.ip,
      headers,
      body: init.json === undefined ? undefined : JSON.stringify(init.json),
    });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      if (/Max-Age=0/.test(line)) this.jar.delete(name);
      else this.jar.set(name, pair!.slice(eq + 1));
    }
    return res;
  }

  /** GET /auth/oauth/:provider: returns the provider's authorization URL. */
  async start(provider: string, returnTo?: string): Promise<URL> {
    const res = await this.send(`/auth/oauth/${provider}${returnTo === undefined ? '' : `?returnTo=${encodeURIComponent(returnTo)}`}`);
    expect(res.status, await res.clone().text()).toBe(302);
    return new URL(res.headers.get('location')!);
  }

  /** Visits the provider's authorization endpoint (which answers at once) and returns where it sends the browser back. */
  async authorize(url: URL): Promise<URL> {
    const res = await fetch(url, { redirect: 'manual' });
    expect(res.status).toBe(302);
    return new URL(res.headers.get('location')!);
  }

  /** Arrives at Gatehouse's callback like a browser coming back from the provider (a cross-site top-level GET). */
  callback(url: URL, accept?: string): Promise<Response> {
    return this.send(`${url.pathname}${url.search}`, { site: 'cross-site', ...(accept === undefined ? {} : { accept }) });
  }

  /** Start, authorize and callback in one go. */
  async signIn(provider: string, returnTo?: string): Promise<Response> {
    return this.callback(await this.authorize(await this.start(provider, returnTo)));
  }
}

/** The error code a failed navigation was redirected with (`/sign-in?error=CODE`). */
export function errorCode(res: Response): string | null {
  const location = res.headers.get('location');
  if (location === null) return null;
  return new URL(location, 'http://x.invalid').searchParams.get('error');
}
