import type { Core } from '../core.js';
import { ConflictError } from '../errors.js';
import { randomToken } from '../lib/crypto.js';
import { cleanDisplayText, isPlainEmailText } from '../lib/text.js';
import { normalizeEmail } from '../storage/sql-rows.js';
import type { IdentityRecord, OAuthTransactionRecord, Storage, UserRecord } from '../storage/contract.js';
import type { ResolvedProvider } from './config.js';
import { OAuthError, type OAuthFlow, type ProviderIdentity, type Resolution } from './flow.js';

function newIdentity(userId: string, rp: ResolvedProvider, identity: ProviderIdentity, tokens: string | null, now: number): IdentityRecord {
  return {
    id: randomToken(16),
    userId,
    provider: rp.provider.id,
    issuer: identity.issuer,
    subject: identity.subject,
    email: identity.email,
    emailVerified: identity.emailVerified,
    tokens,
    createdAt: now,
    lastUsedAt: now,
  };
}

function accountExists(providerName: string): OAuthError {
  return new OAuthError(
    'OAUTH_ACCOUNT_EXISTS',
    `An account with this email already exists. Sign in the way you usually do, then link ${providerName} from your account page.`,
    'account_exists',
    409,
  );
}

/**
 * Turns a verified identity into an account decision. Identity is (issuer, subject) only
 * (OIDC-13). A new identity whose email matches an existing account is linked only when
 * the provider verified the email AND the app allowed it for this provider; otherwise the
 * user is told to sign in and link from the account page. A new account needs a verified
 * email, so nobody can squat an address they do not own.
 */
export async function resolveIdentity(
  core: Core,
  flow: OAuthFlow,
  rp: ResolvedProvider,
  transaction: OAuthTransactionRecord,
  asserted: ProviderIdentity,
  signedInUserId: string | null,
): Promise<Resolution> {
  // A subject or issuer with a control character (NUL: PostgreSQL refuses it) is no identity
  // Gatehouse can store; the ID token is refused, not half-stored.
  if (CONTROL.test(asserted.subject) || CONTROL.test(asserted.issuer)) {
    throw new OAuthError('OAUTH_INVALID_RESPONSE', 'The provider sent a response that failed validation. No sign-in happened.', 'subject_invalid');
  }
  const identity = usableEmail(asserted);
  const store = await core.storage();
  const now = core.config.now();
  const sealed = await flow.sealTokens(identity);
  const existing = await store.findIdentity(identity.issuer, identity.subject);
  const use = { email: identity.email, emailVerified: identity.emailVerified, lastUsedAt: now, ...(sealed === null ? {} : { tokens: sealed }) };

  if (transaction.intent === 'link') {
    // The browser must still be signed in as the user who asked to link (bound at start).
    if (transaction.userId === null || signedInUserId !== transaction.userId) {
      throw new OAuthError('OAUTH_LINK_SESSION_CHANGED', 'You are no longer signed in as the account that asked to link. Sign in and try again.', 'link_session_changed', 403);
    }
    const user = await store.findUserById(transaction.userId);
    if (user === null) throw new OAuthError('OAUTH_LINK_SESSION_CHANGED', 'Your account no longer exists.', 'link_user_missing', 403);
    if (existing !== null) {
      if (existing.userId !== user.id) {
        throw new OAuthError('OAUTH_IDENTITY_TAKEN', 'This provider account is already linked to another account.', 'identity_taken', 409);
      }
      await store.recordIdentityUse(existing.id, use);
      return { kind: 'linked', user, identity: existing, automatic: false };
    }
    const record = newIdentity(user.id, rp, identity, sealed, now);
    await insertIdentity(store.insertIdentity.bind(store), record);
    return { kind: 'linked', user, identity: record, automatic: false };
  }

  if (existing !== null) {
    await store.recordIdentityUse(existing.id, use);
    const user = await store.findUserById(existing.userId);
    if (user === null) throw new OAuthError('OAUTH_INVALID_RESPONSE', 'This account no longer exists.', 'identity_orphaned', 400);
    return { kind: 'signed_in', user, identity: existing };
  }
  if (identity.email === null || !identity.emailVerified) {
    throw new OAuthError(
      'OAUTH_EMAIL_NOT_VERIFIED',
      `${rp.provider.name} did not confirm an email address for this account, so no account can be created from it. Verify your email there, or sign up another way.`,
      'email_not_verified',
      403,
    );
  }
  const owner = await store.findUserByEmail(identity.email);
  if (owner !== null) {
    if (rp.provider.linkByVerifiedEmail !== true || !(await mayLinkByEmail(store, owner, identity.issuer))) throw accountExists(rp.provider.name);
    const record = newIdentity(owner.id, rp, identity, sealed, now);
    await insertIdentity(store.insertIdentity.bind(store), record);
    return { kind: 'linked', user: owner, identity: record, automatic: true };
  }
  const record = newIdentity(randomToken(16), rp, identity, sealed, now);
  let user: UserRecord;
  try {
    user = await store.createUserWithIdentity({ id: record.userId, email: identity.email, name: cleanDisplayText(identity.name, 100), role: core.config.authz.defaultRole, now }, record);
  } catch (error) {
    // Lost a race with another sign-up for the same email: same answer as above.
    if (error instanceof ConflictError && error.code === 'EMAIL_TAKEN') throw accountExists(rp.provider.name);
    throw error;
  }
  return { kind: 'signed_up', user, identity: record };
}

/**
 * `linkByVerifiedEmail` links only to an account whose email is itself proven: one of its
 * linked identities had a provider verify that same address. A passkey sign-up proves no email,
 * so an attacker who signs up first as the victim's address can never have the victim's provider
 * identity attached to that account (pre-account takeover, OIDC-13). And never when the account
 * already has an identity at this issuer: a second subject there asserting the same address is
 * an address the provider reassigned, not the same person.
 */
async function mayLinkByEmail(store: Storage, owner: UserRecord, issuer: string): Promise<boolean> {
  const linked = await store.listIdentities(owner.id);
  if (linked.some((i) => i.issuer === issuer)) return false;
  const address = normalizeEmail(owner.email);
  return linked.some((i) => i.emailVerified && i.email !== null && normalizeEmail(i.email) === address);
}

/** Addresses as the sign-up form accepts them, at most 254 characters (RFC 5321's path limit). */
const EMAIL = /^[^\s@\p{Cc}]{1,64}@[^\s@\p{Cc}]{1,189}$/u;
const CONTROL = /\p{Cc}/u;

/**
 * A provider's email is used only if it looks like one and fits: an over-long address would be
 * stored, shown and (in JWT mode) put in an access cookie that outgrows 4096 bytes (COOK-06).
 * Anything else counts as no email, which never creates or links an account.
 */
function usableEmail(identity: ProviderIdentity): ProviderIdentity {
  if (identity.email === null || (EMAIL.test(identity.email) && isPlainEmailText(identity.email))) return identity;
  return { ...identity, email: null, emailVerified: false };
}

async function insertIdentity(insert: (record: IdentityRecord) => Promise<void>, record: IdentityRecord): Promise<void> {
  try {
    await insert(record);
  } catch (error) {
    if (error instanceof ConflictError && error.code === 'IDENTITY_TAKEN') {
      throw new OAuthError('OAUTH_IDENTITY_TAKEN', 'This provider account is already linked to another account.', 'identity_taken', 409);
    }
    throw error;
  }
}
