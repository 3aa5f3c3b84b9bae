// A fake github.com for the OAuth App flow (plain OAuth 2.0: no ID token, no discovery, no RFC 9207
// `iss`), at GitHub's own paths so a provider config only swaps the base URLs:
//   authorization  ${baseUrl}/login/oauth/authorize
//   token          ${baseUrl}/login/oauth/access_token
//   REST API       ${baseUrl}/api  (/user, /user/emails)
// GitHub's quirks are kept on purpose: token errors come back as HTTP 200 with an `error` member,
// the response is form-encoded unless `Accept: application/json`, and token_type is "bearer".
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { clientCredentials, readBody, safeEqual, sendJson } from './http.js';

export interface FakeGitHubUser {
  id: number;
  login: string;
  name: string | null;
  email: string | null;
}

export interface FakeGitHubEmail {
  email: string;
  primary: boolean;
  verified: boolean;
}

export interface FakeGitHubOptions {
  clientId?: string; // default 'gatehouse-github-test'
  clientSecret?: string; // default 'github-secret-0123456789abcdef'
  user?: FakeGitHubUser; // default id 4242, login 'octo', email null (public email hidden)
  emails?: FakeGitHubEmail[]; // default primary verified octo@example.com + unverified secondary
}

export interface FakeGitHub {
  baseUrl: string; // http://127.0.0.1:port
  clientId: string;
  clientSecret: string;
  hits: { authorize: number; token: number; user: number; emails: number };
  /** Settable: what /api/user returns for every token. */
  user: FakeGitHubUser;
  /** Settable: what /api/user/emails returns for every token. */
  emails: FakeGitHubEmail[];
  /** The parameters of the last authorization request. */
  lastAuthorizeParams: URLSearchParams | null;
  close(): Promise<void>;
}

interface IssuedCode {
  redirectUri: string;
  codeChallenge: string | null;
  scope: string;
  expiresAt: number;
}

const CODE_LIFETIME_MS = 10 * 60_000; // GitHub: codes expire after 10 minutes
const ERROR_DOCS = 'https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors';

export async function startFakeGitHub(options: FakeGitHubOptions = {}): Promise<FakeGitHub> {
  const codes = new Map<string, IssuedCode>();
  const accessTokens = new Set<string>();

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) sendJson(response, 500, { message: String(error) });
      else response.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('fake-github: not listening on TCP');

  const github: FakeGitHub = {
    baseUrl: `http://127.0.0.1:${address.port}`,
    clientId: options.clientId ?? 'gatehouse-github-test',
    clientSecret: options.clientSecret ?? 'github-secret-0123456789abcdef',
    hits: { authorize: 0, token: 0, user: 0, emails: 0 },
    user: options.user ?? { id: 4242, login: 'octo', name: 'Octo Cat', email: null },
    emails: options.emails ?? [
      { email: 'octo@example.com', primary: true, verified: true },
      { email: 'octo-old@example.com', primary: false, verified: false },
    ],
    lastAuthorizeParams: null,
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', github.baseUrl);
    switch (`${request.method ?? 'GET'} ${url.pathname}`) {
      case 'GET /login/oauth/authorize':
        github.hits.authorize++;
        return authorize(url.searchParams, response);
      case 'POST /login/oauth/access_token':
        github.hits.token++;
        return accessToken(request, response);
      case 'GET /api/user':
        github.hits.user++;
        if (!apiAuthorized(request, response)) return;
        return sendJson(response, 200, {
          ...github.user,
          node_id: `U_fake${github.user.id}`,
          type: 'User',
          html_url: `https://github.com/${github.user.login}`,
        });
      case 'GET /api/user/emails':
        github.hits.emails++;
        if (!apiAuthorized(request, response)) return;
        return sendJson(
          response,
          200,
          github.emails.map((entry) => ({ ...entry, visibility: entry.primary ? 'private' : null })),
        );
      default:
        return sendJson(response, 404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' });
    }
  }

  function authorize(params: URLSearchParams, response: ServerResponse): void {
    github.lastAuthorizeParams = new URLSearchParams(params);
    const redirectUri = params.get('redirect_uri');
    if (params.get('client_id') !== github.clientId || redirectUri === null || !URL.canParse(redirectUri)) {
      // GitHub shows an error page to the user; it never redirects to an unverified callback.
      response.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found');
      return;
    }
    const codeChallenge = params.get('code_challenge');
    const method = params.get('code_challenge_method');
    if (codeChallenge !== null && method !== 'S256') {
      response.writeHead(400, { 'content-type': 'text/plain' }).end('code_challenge_method must be S256');
      return;
    }
    const code = randomBytes(10).toString('hex'); // GitHub codes are 20 hex characters
    codes.set(code, { redirectUri, codeChallenge, scope: params.get('scope') ?? '', expiresAt: Date.now() + CODE_LIFETIME_MS });
    const location = new URL(redirectUri);
    location.searchParams.set('code', code);
    const state = params.get('state');
    if (state !== null) location.searchParams.set('state', state);
    response.writeHead(302, { location: location.href }).end();
  }

  async function accessToken(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const form = new URLSearchParams(await readBody(request));
    const wantsJson = (request.headers.accept ?? '').includes('application/json');
    const reply = (body: Record<string, string>) => {
      // GitHub answers 200 even for errors; only the body says it failed.
      if (wantsJson) return sendJson(response, 200, body);
      response.writeHead(200, { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' });
      response.end(new URLSearchParams(body).toString());
    };
    const fail = (error: string, description: string) =>
      reply({ error, error_description: description, error_uri: `${ERROR_DOCS}#${error.replace(/_/g, '-')}` });

    const client = clientCredentials(request.headers.authorization, form);
    if (client === null || client.id !== github.clientId || !safeEqual(client.secret, github.clientSecret)) {
      return fail('incorrect_client_credentials', 'The client_id and/or client_secret passed are incorrect.');
    }
    const code = form.get('code') ?? '';
    const issued = codes.get(code);
    codes.delete(code); // single use
    if (issued === undefined || issued.expiresAt < Date.now()) {
      return fail('bad_verification_code', 'The code passed is incorrect or expired.');
    }
    const redirectUri = form.get('redirect_uri');
    if (redirectUri !== null && redirectUri !== issued.redirectUri) {
      return fail('redirect_uri_mismatch', 'The redirect_uri MUST match the registered callback URL for this application.');
    }
    const verifier = form.get('code_verifier');
    if (issued.codeChallenge !== null) {
      const computed = verifier === null ? '' : createHash('sha256').update(verifier, 'ascii').digest('base64url');
      if (!safeEqual(computed, issued.codeChallenge)) return fail('bad_verification_code', 'The code_verifier does not match the code_challenge.');
    }
    const token = `gho_${randomBytes(18).toString('base64url')}`;
    accessTokens.add(token);
    // GitHub separates granted scopes with commas.
    reply({ access_token: token, token_type: 'bearer', scope: issued.scope.split(/[\s,]+/).filter(Boolean).join(',') });
  }

  function apiAuthorized(request: IncomingMessage, response: ServerResponse): boolean {
    if (request.headers['user-agent'] === undefined) {
      // docs.github.com/rest: requests without a User-Agent header are rejected.
      sendJson(response, 403, { message: 'Request forbidden by administrative rules. Please make sure your request has a User-Agent header.' });
      return false;
    }
    const match = /^(?:Bearer|token) (.+)$/i.exec(request.headers.authorization ?? '');
    if (match?.[1] === undefined || !accessTokens.has(match[1])) {
      sendJson(response, 401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest', status: '401' });
      return false;
    }
    return true;
  }

  return github;
}




