import { repeatedOption, UsageError } from '../cli/context.js';
import { startDevIdp } from './dev-idp.js';
import { DEV_IDP_USERS } from './users.js';

/** `gatehouse dev-idp`: the CLI side of the dev IdP. Declared in src/cli/commands.ts. */
export const DEV_IDP_DEFAULTS = {
  port: 9000,
  host: '127.0.0.1',
  clientId: 'gatehouse-demo',
  redirectUri: 'http://localhost:3000/auth/oauth/dev/callback',
} as const;


function text(values: Record<string, string | boolean | undefined>, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

export async function runDevIdpCommand(values: Record<string, string | boolean | undefined>, argv: readonly string[]): Promise<void> {
  const port = Number(text(values, 'port') ?? DEV_IDP_DEFAULTS.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new UsageError('--port must be a whole number from 0 to 65535.');
  const host = text(values, 'host') ?? DEV_IDP_DEFAULTS.host;
  const clientId = text(values, 'client-id') ?? DEV_IDP_DEFAULTS.clientId;
  const clientSecret = text(values, 'client-secret');
  const given = repeatedOption(argv, 'redirect-uri');
  const redirectUris = given.length > 0 ? given : [DEV_IDP_DEFAULTS.redirectUri];
  for (const uri of redirectUris) {
    if (!URL.canParse(uri)) throw new UsageError(`--redirect-uri "${uri}" is not an absolute URL.`);
  }

  const idp = await startDevIdp({ port, host, clients: [{ clientId, clientSecret, redirectUris }] });
  const env = [`OAUTH_DEV_ISSUER=${idp.issuer}`, `OAUTH_DEV_CLIENT_ID=${clientId}`, ...(clientSecret === undefined ? [] : [`OAUTH_DEV_CLIENT_SECRET=${clientSecret}`])];
  console.log(
    [
      'Dev IdP: a local OpenID Provider for development and tests. Never use it in production.',
      `  issuer         ${idp.issuer}`,
      `  client id      ${clientId} (${clientSecret === undefined ? 'public client: PKCE, no secret' : 'confidential: client_secret_basic'})`,
      `  redirect URIs  ${redirectUris.join(', ')}`,
      `  test users     ${DEV_IDP_USERS.map((u) => `${u.name} <${u.email}>${u.emailVerified ? '' : ' (email not verified)'}`).join(', ')}`,
      '',
      'Point the app at it:',
      `  ${env.join(' ')} npm start`,
      '',
      'Press Ctrl+C to stop.',
    ].join('\n'),
  );

  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await idp.close();
  console.log('Dev IdP stopped.');
}
