import { expect } from 'vitest';

/** A cookie-keeping user agent that does not follow redirects by itself. */
export class Agent {
  readonly cookies = new Map<string, string>();
  readonly setCookies: string[] = [];

  async request(url: URL, form?: Record<string, string>): Promise<Response> {
    const headers = new Headers();
    if (this.cookies.size > 0) headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    if (form !== undefined) headers.set('content-type', 'application/x-www-form-urlencoded');
    const response = await fetch(url, { method: form === undefined ? 'GET' : 'POST', headers, body: form === undefined ? undefined : new URLSearchParams(form), redirect: 'manual' });
    for (const cookie of response.headers.getSetCookie()) {
      this.setCookies.push(cookie);
      const [pair = ''] = cookie.split(';');
      const name = pair.slice(0, pair.indexOf('='));
      const value = pair.slice(pair.indexOf('=') + 1);
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(cookie)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return response;
  }
}

export type Choice = { sub: string } | 'cancel';

/**
 * Plays the browser: follows the IdP's redirects, picks a test user (or Cancel) on the
 * chooser page, submits oidc-provider's auto-submit forms, and stops at the redirect URI.
 */
export async function authorize(agent: Agent, start: URL, choice: Choice, redirectUri: string): Promise<{ callback: URL; chooserShown: boolean }> {
  let url = start;
  let response = await agent.request(url);
  let chooserShown = false;
  for (let hop = 0; hop < 20; hop++) {
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location !== null) {
      url = new URL(location, url);
      if (url.href.startsWith(redirectUri)) return { callback: url, chooserShown };
      response = await agent.request(url);
      continue;
    }
    const html = await response.text();
    expect(response.status, html).toBe(200);
    if (html.includes('<title>Dev IdP — choose a test user</title>')) {
      chooserShown = true;
      expect(html).not.toContain('<script');
      const action =
        choice === 'cancel'
          ? /<form class="cancel" method="post" action="([^"]+)">/.exec(html)?.[1]
          : new RegExp(`<form method="post" action="([^"]+)">\\s*<input type="hidden" name="sub" value="${choice.sub}">`).exec(html)?.[1];
      expect(action, html).toBeDefined();
      url = new URL(action ?? '', url);
      response = await agent.request(url, choice === 'cancel' ? {} : { sub: choice.sub });
      continue;
    }
    // oidc-provider's auto-submitting form (ending the previous user's IdP session).
    const form = /<form method="post" action="([^"]+)">/.exec(html);
    expect(form, html).not.toBeNull();
    const inputs = Object.fromEntries([...html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"\/>/g)].map((m) => [m[1], m[2]]));
    url = new URL(form?.[1] ?? '', url);
    response = await agent.request(url, inputs);
  }
  throw new Error('too many redirects');
}

