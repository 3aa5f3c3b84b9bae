import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import type * as OidcProvider from 'oidc-provider';
import type { ClientMetadata, Configuration, Provider } from 'oidc-provider';
import { ConfigurationError } from '../errors.js';
import { handleInteraction, INTERACTION_PREFIX, renderError } from './interaction.js';
import { createMemoryStore, type MemoryStore } from './memory-adapter.js';
import { DEV_IDP_USERS, type DevIdpUser } from './users.js';

export { DEV_IDP_USERS, type DevIdpUser };

/** A relying party registered with the dev IdP. */
export interface DevIdpClient {
  clientId: string;
  /** Without a secret the client is public (token_endpoint_auth_method `none`, PKCE only). */
  clientSecret?: string;
  /** How a confidential client sends its secret. Default: client_secret_basic. */
  tokenEndpointAuthMethod?: 'client_secret_basic' | 'client_secret_post';
  redirectUris: string[];
}

export interface DevIdpOptions {
  /** Default 0: an ephemeral port (the CLI defaults to 9000). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default `http://localhost:<port>`. An origin only: no path, query or fragment. */
  issuer?: string;
  clients: DevIdpClient[];
  /** Default: DEV_IDP_USERS (Alice, Bob, Unverified Uma). */
  users?: DevIdpUser[];
}

export interface DevIdp {
  /** Exactly the `issuer` that discovery publishes and ID tokens carry. */
  issuer: string;
  close(): Promise<void>;
  /** Publishes a NEW signing key and signs with it from now on (the old key stays in the JWKS). Returns the new kid. */
  rotateKeys(): Promise<string>;
}

type OidcProviderModule = typeof OidcProvider;

const SCOPES = ['openid', 'email', 'profile'];

/**
 * oidc-provider is an optional peer dependency: Gatehouse works without it, and only the
 * dev IdP loads it, on first use.
 */
async function loadOidcProvider(): Promise<OidcProviderModule> {
  try {
    return await import('oidc-provider');
  } catch (error) {
    const missing =
      typeof error === 'object' && error !== null && 'code' in error && error.code === 'ERR_MODULE_NOT_FOUND' && error instanceof Error && error.message.includes("'oidc-provider'");
    if (missing) throw new ConfigurationError('the dev IdP needs the oidc-provider package, which is not installed. Run: npm install -D oidc-provider');
    throw error;
  }
}

/** An ES256 signing key as a private JWK, named by its RFC 7638 thumbprint. */
async function generateSigningKey(): Promise<JWK> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid: await calculateJwkThumbprint(jwk), alg: 'ES256', use: 'sig' };
}

function checkOptions(options: DevIdpOptions): { users: readonly DevIdpUser[] } {
  if (!Array.isArray(options.clients) || options.clients.length === 0) throw new ConfigurationError('the dev IdP needs at least one client.');
  for (const client of options.clients) {
    if (typeof client.clientId !== 'string' || client.clientId === '') throw new ConfigurationError('every dev IdP client needs a clientId.');
    if (!Array.isArray(client.redirectUris) || client.redirectUris.length === 0) {
      throw new ConfigurationError(`dev IdP client "${client.clientId}" needs at least one redirect URI.`);
    }
    for (const uri of client.redirectUris) {
      if (!URL.canParse(uri) || !['http:', 'https:'].includes(new URL(uri).protocol)) {
        throw new ConfigurationError(`dev IdP client "${client.clientId}": redirect URI "${uri}" is not an absolute http(s) URL.`);
      }
    }
  }
  const users = options.users ?? DEV_IDP_USERS;
  if (users.length === 0) throw new ConfigurationError('the dev IdP needs at least one user.');
  if (new Set(users.map((u) => u.sub)).size !== users.length) throw new ConfigurationError('dev IdP users must have distinct subs.');
  return { users };
}

function issuerFor(option: string | undefined, port: number): string {
  if (option === undefined) return `http://localhost:${port}`;
  const url = URL.canParse(option) ? new URL(option) : undefined;
  // The dev IdP serves its endpoints from the root; an issuer with a path would not match them.
  if (url === undefined || !['http:', 'https:'].includes(url.protocol) || url.pathname !== '/' || url.search !== '' || url.hash !== '') {
    throw new ConfigurationError(`dev IdP issuer "${option}" must be an http(s) origin such as http://localhost:9000 (no path, query or fragment).`);
  }
  return url.origin;
}

function clientMetadata(client: DevIdpClient): ClientMetadata {
  const secret = client.clientSecret !== undefined && client.clientSecret !== '';
  return {
    client_id: client.clientId,
    ...(secret ? { client_secret: client.clientSecret } : {}),
    redirect_uris: [...client.redirectUris],
    token_endpoint_auth_method: secret ? (client.tokenEndpointAuthMethod ?? 'client_secret_basic') : 'none',
    grant_types: ['authorization_code'],
    response_types: ['code'],
    id_token_signed_response_alg: 'ES256',
  };
}

interface ProviderSetup {
  oidc: OidcProviderModule;
  issuer: string;
  clients: ClientMetadata[];
  users: readonly DevIdpUser[];
  store: MemoryStore;
  /** Newest first: oidc-provider signs with the first key that fits the algorithm. */
  keys: JWK[];
}

function createProvider({ oidc, issuer, clients, users, store, keys }: ProviderSetup): Provider {
  const policy = oidc.interactionPolicy.base();
  // Show the user chooser on every authorization request, even with a live IdP session, so
  // a developer can switch test users; the request that resumes after a choice passes.
  policy.get('login')?.checks.push(
    new oidc.interactionPolicy.Check('dev_idp_choose_user', 'the dev IdP asks for a test user every time', (ctx) => ctx.oidc.result?.login === undefined),
  );

  const configuration: Configuration = {
    adapter: (model) => store.adapterFor(model),
    clients: structuredClone(clients),
    clientDefaults: { grant_types: ['authorization_code'], response_types: ['code'], id_token_signed_response_alg: 'ES256', token_endpoint_auth_method: 'none' },
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'none'],
    clientBasedCORS: (_ctx, origin, client) => client.redirectUris.some((uri) => new URL(uri).origin === origin),
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    scopes: SCOPES,
    // The ID token carries every claim its scopes grant (email, email_verified, name), so a
    // relying party needs no userinfo call. The userinfo endpoint answers too.
    conformIdTokenClaims: false,
    // oidc-provider adds Secure only when the request itself is https (ctx.secure), so these
    // cookies are stored by browsers on http://localhost and http://127.0.0.1.
    cookies: { long: { httpOnly: true, sameSite: 'lax' }, short: { httpOnly: true, sameSite: 'lax' } },
    enabledJWA: { idTokenSigningAlgValues: ['ES256'] },
    // devInteractions is oidc-provider's own demo login page; ours replaces it.
    // rpInitiatedLogout stays on: it gives relying parties an end_session_endpoint, and it is
    // how oidc-provider ends the previous user's IdP session when a different test user is chosen.
    features: { devInteractions: { enabled: false }, rpInitiatedLogout: { enabled: true }, userinfo: { enabled: true } },
    async findAccount(_ctx, sub) {
      const user = users.find((u) => u.sub === sub);
      if (user === undefined) return undefined;
      return {
        accountId: user.sub,
        async claims() {
          return { sub: user.sub, email: user.email, email_verified: user.emailVerified, name: user.name };
        },
      };
    },
    interactions: { policy, url: (_ctx, interaction) => `${INTERACTION_PREFIX}${interaction.uid}` },
    jwks: { keys: structuredClone(keys) },
    // No consent screen: every requested scope (openid email profile) is granted at once.
    async loadExistingGrant(ctx) {
      const { client, session, params, provider, result } = ctx.oidc;
      const accountId = session?.accountId;
      if (client === undefined || session === undefined || accountId === undefined) return undefined;
      const grantId = result?.consent?.grantId ?? session.grantIdFor(client.clientId);
      const existing = grantId === undefined ? undefined : await provider.Grant.find(grantId);
      const grant = existing !== undefined && existing.accountId === accountId ? existing : new provider.Grant({ accountId, clientId: client.clientId });
      const requested = typeof params?.scope === 'string' ? params.scope.split(' ') : [];
      grant.addOIDCScope(requested.filter((s) => SCOPES.includes(s)).join(' '));
      await grant.save();
      return grant;
    },
    // OAuth 2.1 / RFC 9700 2.1.1: PKCE on every authorization code request (S256 is the only
    // method oidc-provider 9 implements).
    pkce: { required: () => true },
    renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = renderError(out.error, out.error_description ?? 'The request could not be processed.');
    },
    responseTypes: ['code'],
    ttl: { AccessToken: 3600, AuthorizationCode: 60, IdToken: 3600, Interaction: 3600, Session: 86_400, Grant: 86_400 },
  };

  const provider = new oidc.Provider(issuer, configuration);
  provider.on('server_error', (_ctx, error) => console.error('dev IdP: internal error', error));
  return provider;
}

/**
 * Starts a real OpenID Provider (oidc-provider) on a local port, for offline development
 * and tests. Authorization code flow with PKCE S256, ES256-signed ID tokens carrying email,
 * email_verified and name, RFC 9207 `iss` in the authorization response. Never for production.
 */
export async function startDevIdp(options: DevIdpOptions): Promise<DevIdp> {
  const { users } = checkOptions(options);
  const oidc = await loadOidcProvider();
  const store = createMemoryStore();
  const keys = [await generateSigningKey()];
  let current: { provider: Provider; handle: (req: IncomingMessage, res: ServerResponse) => void } | undefined;

  const server = createServer((req, res) => {
    if (current === undefined) {
      res.statusCode = 503;
      res.end();
      return;
    }
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (path.startsWith(INTERACTION_PREFIX)) void handleInteraction(current.provider, users, req, res, path);
    else current.handle(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  // After startup an 'error' (a failed accept, say) must not crash the app that embeds the dev IdP.
  server.on('error', (error) => console.error('dev IdP: server error', error.message));

  const close = async (): Promise<void> => {
    if (!server.listening) return;
    await new Promise<void>((resolve, reject) => {
      server.close((error) => (error === undefined ? resolve() : reject(error)));
      server.closeAllConnections();
    });
    store.clear();
  };

  try {
    const address = server.address();
    if (address === null || typeof address === 'string') throw new ConfigurationError('the dev IdP must listen on a TCP port.');
    const { port } = address;
    const setup: ProviderSetup = { oidc, issuer: issuerFor(options.issuer, port), clients: options.clients.map(clientMetadata), users, store, keys };
    const install = () => {
      const provider = createProvider(setup);
      current = { provider, handle: provider.callback() };
    };
    install();

    let rotation = Promise.resolve('');
    return {
      issuer: setup.issuer,
      close,
      rotateKeys() {
        // One rotation at a time; sign-ins in progress survive it (the store is shared).
        rotation = rotation.catch(() => '').then(async () => {
          const key = await generateSigningKey();
          keys.unshift(key);
          install();
          return key.kid ?? '';
        });
        return rotation;
      },
    };
  } catch (error) {
    await close();
    throw error;
  }
}
