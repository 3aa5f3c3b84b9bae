import { entraIdProvider, githubProvider, googleProvider, oidcProvider, type OAuthProvider } from 'gatehouse';
import { startDevIdp, type DevIdp } from 'gatehouse/dev-idp';

/**
 * The demo's sign-in providers, from the environment. With none configured, `npm start`
 * runs the dev IdP (a real OpenID Provider on oidc-provider) next to the demo, so
 * "Sign in with Dev IdP" works offline.
 */
export interface DemoProviders {
  providers: OAuthProvider[];
  devIdp: DevIdp | null;
  /** What to print at startup. */
  description: string;
}

const DEV_CLIENT_ID = 'gatehouse-demo';

function env(name: string): string | undefined {
  const value = process.env[name];
  return value === undefined || value === '' ? undefined : value;
}

export async function demoProviders(origin: string): Promise<DemoProviders> {
  const providers: OAuthProvider[] = [];
  const googleId = env('GOOGLE_CLIENT_ID');
  if (googleId) providers.push(googleProvider({ clientId: googleId, clientSecret: env('GOOGLE_CLIENT_SECRET') }));
  const entraTenant = env('ENTRA_TENANT_ID');
  const entraId = env('ENTRA_CLIENT_ID');
  if (entraTenant && entraId) providers.push(entraIdProvider({ tenantId: entraTenant, clientId: entraId, clientSecret: env('ENTRA_CLIENT_SECRET') }));
  const githubId = env('GITHUB_CLIENT_ID');
  if (githubId) providers.push(githubProvider({ clientId: githubId, clientSecret: env('GITHUB_CLIENT_SECRET') }));
  const issuer = env('OIDC_ISSUER');
  const oidcId = env('OIDC_CLIENT_ID');
  if (issuer && oidcId) {
    providers.push(oidcProvider({ id: 'oidc', name: env('OIDC_NAME') ?? 'OpenID Connect', issuer, clientId: oidcId, clientSecret: env('OIDC_CLIENT_SECRET'), idTokenAlg: env('OIDC_ID_TOKEN_ALG') }));
  }
  const devIssuer = env('OAUTH_DEV_ISSUER');
  if (devIssuer) {
    providers.push(oidcProvider({ id: 'dev', name: 'Dev IdP', issuer: devIssuer, clientId: env('OAUTH_DEV_CLIENT_ID') ?? DEV_CLIENT_ID, clientSecret: env('OAUTH_DEV_CLIENT_SECRET'), idTokenAlg: 'ES256' }));
  }
  if (providers.length > 0 || env('GATEHOUSE_DEV_IDP') === '0') {
    return { providers, devIdp: null, description: providers.length === 0 ? 'none' : providers.map((p) => p.name).join(', ') };
  }

  const wanted = Number(env('DEV_IDP_PORT') ?? 9000);
  const clients = [{ clientId: DEV_CLIENT_ID, redirectUris: [`${origin}/auth/oauth/dev/callback`] }];
  let devIdp: DevIdp;
  try {
    devIdp = await startDevIdp({ port: wanted, host: '127.0.0.1', clients });
  } catch (error) {
    if (!(error instanceof Error && 'code' in error && error.code === 'EADDRINUSE')) throw error;
    // Port taken (another demo?): any free port works, the issuer says which.
    devIdp = await startDevIdp({ port: 0, host: '127.0.0.1', clients });
    console.warn(`  dev IdP: port ${wanted} is in use; using ${devIdp.issuer} instead (set DEV_IDP_PORT to choose)`);
  }
  providers.push(oidcProvider({ id: 'dev', name: 'Dev IdP', issuer: devIdp.issuer, clientId: DEV_CLIENT_ID, idTokenAlg: 'ES256' }));
  return { providers, devIdp, description: `Dev IdP at ${devIdp.issuer} (offline test users; set GOOGLE_CLIENT_ID, GITHUB_CLIENT_ID, ... for real providers)` };
}
