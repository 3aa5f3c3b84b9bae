import * as client from 'openid-client';
import { z } from 'zod';
import type { ProviderIdentity } from './flow.js';
import type { GitHubProvider } from './providers.js';

const userSchema = z.object({ id: z.number().int().positive(), login: z.string(), name: z.string().nullable().optional() });
const emailsSchema = z.array(z.object({ email: z.string(), primary: z.boolean(), verified: z.boolean() }));

/** The identity GitHub's issuer-less OAuth answers with: a fixed issuer per GitHub instance. */
export function githubIssuer(provider: GitHubProvider): string {
  return (provider.baseUrl ?? 'https://github.com').replace(/\/$/, '');
}

async function getJson(config: client.Configuration, accessToken: string, url: URL): Promise<unknown> {
  const headers = new Headers({ accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28', 'user-agent': 'gatehouse' });
  const response = await client.fetchProtectedResource(config, accessToken, url, 'GET', undefined, headers);
  if (!response.ok) throw new Error(`GitHub API ${url.pathname} answered ${response.status}`, { cause: response });
  return response.json();
}

/**
 * GitHub has no ID token (plain OAuth 2.0): the identity is the numeric user id from
 * `GET /user` (logins can be renamed, ids cannot), and the email is the primary entry of
 * `GET /user/emails` only if GitHub marked it verified. The public profile email is never used.
 */
export async function fetchGitHubIdentity(config: client.Configuration, provider: GitHubProvider, accessToken: string): Promise<Omit<ProviderIdentity, 'tokens'>> {
  const api = (provider.apiBaseUrl ?? 'https://api.github.com').replace(/\/$/, '');
  const user = userSchema.parse(await getJson(config, accessToken, new URL(`${api}/user`)));
  const emails = emailsSchema.parse(await getJson(config, accessToken, new URL(`${api}/user/emails`)));
  const primary = emails.find((e) => e.primary && e.verified);
  return {
    issuer: githubIssuer(provider),
    subject: String(user.id),
    email: primary?.email ?? null,
    emailVerified: primary !== undefined,
    name: user.name ?? user.login,
  };
}
