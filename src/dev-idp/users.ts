/** A test user of the dev IdP. Its claims go into the ID token and the userinfo response. */
export interface DevIdpUser {
  /** The stable `sub` claim. */
  sub: string;
  email: string;
  emailVerified: boolean;
  name: string;
}

/**
 * The default test users. Subs are stable across runs so a relying party's account links
 * survive restarts. Uma's address is unverified: use her to test that the relying party
 * does not link or trust an unverified email.
 */
export const DEV_IDP_USERS: readonly DevIdpUser[] = Object.freeze([
  Object.freeze({ sub: 'dev-alice', email: 'alice@example.com', emailVerified: true, name: 'Alice' }),
  Object.freeze({ sub: 'dev-bob', email: 'bob@example.com', emailVerified: true, name: 'Bob' }),
  Object.freeze({ sub: 'dev-uma', email: 'uma@example.com', emailVerified: false, name: 'Unverified Uma' }),
]);
