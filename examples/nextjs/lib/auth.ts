// The one Gatehouse instance of this app, and the helpers its pages and actions use.
// Server-only: it opens the database. Client components use gatehouse/client instead.
import { createGatehouse, oidcProvider, type Gatehouse } from 'gatehouse';
import { createNextAuth } from 'gatehouse/next';
import { authz } from '../gatehouse.config.mjs';

export { authz };

function create(): Gatehouse {
  const origin = process.env.GATEHOUSE_ORIGIN ?? `http://localhost:${process.env.PORT ?? '3000'}`;
  return createGatehouse({
    database: process.env.DATABASE_URL ?? 'sqlite:./data/app.db',
    origin,
    authz,
    oauth: {
      providers: [
        // The dev IdP (`npm run dev-idp`): a real OpenID Provider with test users, for development.
        // Replace it with googleProvider(...), entraIdProvider(...), ... in production.
        oidcProvider({
          id: 'dev',
          name: 'Dev IdP',
          issuer: process.env.OAUTH_DEV_ISSUER ?? 'http://localhost:9000',
          clientId: process.env.OAUTH_DEV_CLIENT_ID ?? 'gatehouse-demo',
          idTokenAlg: 'ES256',
        }),
      ],
    },
  });
}

// One instance per server process, also across the module reloads of `next dev`.
const globalWithAuth = globalThis as typeof globalThis & { gatehouse?: Gatehouse };
export const auth: Gatehouse = (globalWithAuth.gatehouse ??= create());

export const { getSession, requireSession, requirePermission, verifyOrigin } = createNextAuth(auth);
