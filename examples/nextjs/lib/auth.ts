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
    // GATEHOUSE_SESSION_STRATEGY=jwt (plus GATEHOUSE_JWT_SECRET, 32+ characters): short-lived access
    // JWTs and rotating refresh tokens instead of database sessions; proxy.ts then verifies the JWT.
    ...(process.env.GATEHOUSE_SESSION_STRATEGY === 'jwt' ? { session: { strategy: 'jwt' as const }, jwt: { secret: process.env.GATEHOUSE_JWT_SECRET } } : {}),
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
