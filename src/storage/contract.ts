import type { JwtStorage, RevocationRecord } from './contract-jwt.js';

/**
 * The storage contract: everything Gatehouse asks of a database, small enough to
 * implement in an afternoon. `createSqlStorage` implements it on Kysely for SQLite and
 * PostgreSQL, and `tests/storage-conformance.test.ts` is the suite every driver must pass.
 * Times are milliseconds since the epoch. An expected empty result is `null`, not an error.
 */
export interface UserRecord {
  id: string;
  email: string;
  name: string;
  role: string;
  disabled: boolean;
  createdAt: number;
  updatedAt: number;
}

export interface NewUser {
  id: string;
  email: string;
  name: string;
  role: string;
  now: number;
}

export interface UserPatch {
  role?: string;
  disabled?: boolean;
  /** The display name (the account page's profile). */
  name?: string;
}

/** What validating a session needs: the row without its device details. */
export interface ActiveSessionRecord {
  id: string;
  userId: string;
  secretHash: string;
  createdAt: number;
  lastSeenAt: number;
  expiresAt: number;
  absoluteExpiresAt: number;
  authTime: number;
  /** Authentication methods references (RFC 8176 style), e.g. ["passkey"], ["oauth"]. */
  amr: string[];
}

/** A full session row, as listed on the devices page. */
export interface SessionRecord extends ActiveSessionRecord {
  ip: string | null;
  userAgent: string | null;
}

/** The account state a request needs: current role and disabled flag, never cached. */
export interface SessionUserRecord {
  id: string;
  email: string;
  name: string;
  role: string;
  disabled: boolean;
}

/**
 * A session with its user, loaded in one lookup on every authenticated request. It holds
 * only the columns a request needs: each extra column (a long user agent above all) made
 * the hot query measurably slower.
 */
export interface SessionWithUser {
  session: ActiveSessionRecord;
  user: SessionUserRecord;
}

export interface AuthEventRecord {
  id: number;
  type: string;
  userId: string | null;
  actorId: string | null;
  sessionId: string | null;
  ip: string | null;
  userAgent: string | null;
  data: Record<string, unknown> | null;
  createdAt: number;
}

export type NewAuthEvent = Omit<AuthEventRecord, 'id'>;

export interface ListUsersQuery {
  limit: number;
  /** Return users whose id sorts after this one (keyset paging). */
  after?: string;
  /** Case-insensitive substring of email or name. */
  search?: string;
}

export interface ListEventsQuery {
  limit: number;
  /** Return events older than this id (newest first). */
  before?: number;
  userId?: string;
  type?: string;
}

/** What an administrative change writes, decided by `UserChange.decide`. */
export interface UserChangePlan {
  /** Only these columns change (an empty patch changes nothing but `updatedAt`). */
  patch: UserPatch;
  /** End every session of the account, in the same transaction. */
  endSessions: boolean;
  /** The audit events of the change, written in the same transaction, given how many sessions ended. */
  events(sessionsEnded: number): NewAuthEvent[];
}

/** An administrative change to one account, decided and written in one transaction (`Storage.changeUser`). */
export interface UserChange {
  userId: string;
  /** The account making the change, read again (locked) in the transaction; null for the operator (CLI, app code). */
  actorId: string | null;
  now: number;
  /**
   * Decides the change from the rows as they are NOW, both locked until the transaction ends:
   * the target (null when it does not exist) and the actor (null for the operator, or when the
   * actor's account is gone). Throws an `AuthError` to refuse; returns null when there is
   * nothing to change. A change decided on rows read earlier (an admin demoted meanwhile)
   * could grant what the actor no longer may.
   */
  decide(target: UserRecord | null, actor: UserRecord | null): UserChangePlan | null;
  /** Revocation rows written in the same transaction, from what changed (the revocations layer sets this). */
  revocations?: (change: { patch: UserPatch; endedSessions: string[] }) => RevocationRecord[];
}

export interface UserChangeResult {
  user: UserRecord;
  /** False when `decide` found nothing to change (then nothing was written). */
  changed: boolean;
  endedSessions: string[];
}

/**
 * A recovery sign-in's extra writes, in the new session's transaction: the code is burnt, every
 * other session of the account ends and `event` (`recovery.code_used`) is written, or, when the
 * code is not (or no longer) an unused code of the account, nothing at all is written. A failure
 * halfway leaves the code unused.
 */
export interface RecoveryUse {
  /** The hashes the code may be stored under (salted, and the older unsalted form). */
  codeHashes: string[];
  /** `recovery.code_used`; its data gets `sessionsEnded` and `codesLeft` in the transaction. */
  event: NewAuthEvent;
  /** Revocation rows for the sessions it ends, written in the same transaction (the revocations layer sets this). */
  revocations?: (endedSessions: string[]) => RevocationRecord[];
}

export interface Storage extends PasskeyStorage, OAuthStorage, JwtStorage {
  /**
   * Throws `ConflictError` (EMAIL_TAKEN) when the email exists, compared case-insensitively.
   * With `event` (`user.created`), the event is written in the same transaction.
   */
  createUser(user: NewUser, event?: NewAuthEvent): Promise<UserRecord>;
  findUserById(id: string): Promise<UserRecord | null>;
  findUserByEmail(email: string): Promise<UserRecord | null>;
  listUsers(query: ListUsersQuery): Promise<UserRecord[]>;
  /** Changes only the given columns; returns the updated user, or null when it does not exist. */
  updateUser(id: string, patch: UserPatch, now: number): Promise<UserRecord | null>;
  /**
   * An administrative change (role, disabled, name, ending sessions) in ONE transaction: the
   * target's and the actor's rows locked and read again, `decide`, then the patch, the sessions
   * ended, the audit events and the revocations, all written or none.
   */
  changeUser(change: UserChange): Promise<UserChangeResult>;

  insertSession(session: SessionRecord): Promise<void>;
  /**
   * A sign-in's writes, in ONE transaction: reads the session's user and, only if they exist
   * and are not disabled, inserts the session and `event` (its audit event). Returns the user
   * as read in that transaction: null when there is no such user, a disabled user with nothing
   * written. So a session never exists without its audit event, nor for a disabled account.
   *
   * With `passkeyUse` (a passkey sign-in), the passkey's counter moves in the same transaction,
   * and only if it is still `previousCounter`: when another sign-in moved it first, nothing is
   * written and `passkeyUseRecorded` is false (two racing assertions never both sign in).
   *
   * With `recovery` (a recovery-code sign-in), the code is burnt, the account's other sessions
   * end and the code's event is written in the same transaction; when the code is not an unused
   * code of the account (or the account is missing or disabled), nothing is written and
   * `recoveryCodeUsed` is false (`user` is then null when the code did not match).
   */
  createSessionWithEvent(session: SessionRecord, event: NewAuthEvent, passkeyUse?: PasskeyUse, recovery?: RecoveryUse): Promise<SessionStart>;
  findSessionWithUser(id: string): Promise<SessionWithUser | null>;
  /**
   * Records activity: sets lastSeenAt/expiresAt only if lastSeenAt still equals
   * `previousLastSeenAt`, so racing requests write once. Returns whether it wrote.
   */
  touchSession(id: string, previousLastSeenAt: number, update: { lastSeenAt: number; expiresAt: number }): Promise<boolean>;
  /** Deletes one session; with `userId`, only if it belongs to that user. Returns whether a row went. */
  deleteSession(id: string, userId?: string): Promise<boolean>;
  /** Deletes every session of a user except `exceptId`; returns the ids deleted. */
  deleteUserSessions(userId: string, exceptId?: string): Promise<string[]>;
  listUserSessions(userId: string): Promise<SessionRecord[]>;
  deleteExpiredSessions(now: number): Promise<number>;

  appendEvent(event: NewAuthEvent): Promise<void>;
  /** Newest first. */
  listEvents(query: ListEventsQuery): Promise<AuthEventRecord[]>;

  /** A cheap round trip, for readiness checks. */
  ping(): Promise<void>;
}

export type CredentialDeviceType = 'singleDevice' | 'multiDevice';

export interface PasskeyRecord {
  /** The credential id (base64url); unique across all users (WA-12). */
  id: string;
  userId: string;
  /** COSE public key, base64url. */
  publicKey: string;
  counter: number;
  transports: string[];
  deviceType: CredentialDeviceType;
  backedUp: boolean;
  aaguid: string;
  name: string;
  createdAt: number;
  lastUsedAt: number | null;
}

/** What a verified assertion moves a passkey to; written only while its counter is still `previousCounter`. */
export interface PasskeyUse {
  id: string;
  previousCounter: number;
  counter: number;
  backedUp: boolean;
  lastUsedAt: number;
}

/** What `createSessionWithEvent` saw and did. */
export interface SessionStart {
  /** The account as read in the transaction: null when there is no such user (then nothing is written). */
  user: UserRecord | null;
  /** Whether the passkey use was written (false when none was given, or when another sign-in moved the counter first). */
  passkeyUseRecorded: boolean;
  /** Whether the recovery code was burnt (false when none was given, or when it was not an unused code of the account). */
  recoveryCodeUsed?: boolean;
  /** The sessions a recovery sign-in ended. */
  endedSessions?: string[];
}

/** A passkey with what sign-in needs to know about its owner. */
export interface PasskeyWithOwner {
  passkey: PasskeyRecord;
  webauthnUserId: string | null;
}

export type Ceremony = 'signup' | 'add' | 'login';

export interface ChallengeRecord {
  id: string;
  /** SHA-256 of the ceremony cookie's secret: the browser that asked (WA-02/03). */
  bindingHash: string;
  ceremony: Ceremony;
  challenge: string;
  /** The signed-in user adding a passkey. */
  userId: string | null;
  /** The WebAuthn user handle put in the options (sign-up and add). */
  webauthnUserId: string | null;
  /** The account being created (sign-up). */
  email: string | null;
  name: string | null;
  ip: string | null;
  createdAt: number;
  expiresAt: number;
}

/**
 * The passkey part of the storage contract. Kept apart from `Storage` so a driver can be
 * written and tested one concern at a time; `createSqlStorage` implements both.
 */
export interface PasskeyStorage {
  /**
   * Stores a pending ceremony. `replaces` is the binding hash of the ceremony this browser
   * had pending, if any: it is deleted, so one browser holds at most one. Refuses (returns
   * false) when `ip` already has `maxPendingPerIp` unexpired ceremonies.
   */
  insertChallenge(challenge: ChallengeRecord, maxPendingPerIp: number, replaces?: string): Promise<boolean>;
  /** Atomically takes the browser's pending ceremony of that type: at most one caller ever gets it. */
  consumeChallenge(bindingHash: string, ceremony: Ceremony, now: number): Promise<ChallengeRecord | null>;
  deleteExpiredChallenges(now: number): Promise<number>;

  /** Creates the account, its first passkey and `events` together, or none of them (EMAIL_TAKEN / CREDENTIAL_TAKEN). */
  createUserWithPasskey(user: NewUser & { webauthnUserId: string }, passkey: PasskeyRecord, events?: NewAuthEvent[]): Promise<UserRecord>;
  /** The user's WebAuthn handle, setting `candidate` if they have none yet. */
  ensureWebauthnUserId(userId: string, candidate: string): Promise<string>;
  /** Throws ConflictError CREDENTIAL_TAKEN when the credential id is registered already (to anyone). With `events`, written in the same transaction. */
  insertPasskey(passkey: PasskeyRecord, events?: NewAuthEvent[]): Promise<void>;
  findPasskey(id: string): Promise<PasskeyWithOwner | null>;
  listPasskeys(userId: string): Promise<PasskeyRecord[]>;
  renamePasskey(id: string, userId: string, name: string): Promise<boolean>;
  /**
   * Deletes one of the user's passkeys, unless it would leave no way to sign in (no other passkey,
   * no linked identity, no unused recovery code): 'last_method', nothing deleted. Serialised per
   * user with unlinking and other deletions, so two at once cannot both pass the check.
   * `events` are written in the same transaction, only when the passkey is deleted.
   */
  deletePasskey(id: string, userId: string, events?: NewAuthEvent[]): Promise<DeleteIdentityResult>;

  /** Replaces every recovery code of the user with these hashes, and writes `events`, in one transaction. */
  replaceRecoveryCodes(userId: string, codeHashes: string[], now: number, events?: NewAuthEvent[]): Promise<void>;
  /** Burns one unused code; true for exactly one caller. */
  consumeRecoveryCode(userId: string, codeHash: string, now: number): Promise<boolean>;
  countRecoveryCodes(userId: string): Promise<number>;
}

/** A provider identity linked to an account. Identity is (issuer, subject), never the email (OIDC-13). */
export interface IdentityRecord {
  id: string;
  userId: string;
  /** The configured provider id, e.g. "google". */
  provider: string;
  issuer: string;
  subject: string;
  /** The email the provider asserted at the last sign-in, for display. */
  email: string | null;
  emailVerified: boolean;
  /** Provider tokens, sealed (encrypted) by the caller; null unless the app opted in. */
  tokens: string | null;
  createdAt: number;
  lastUsedAt: number | null;
}

export type OAuthIntent = 'signin' | 'link';

export interface OAuthTransactionRecord {
  id: string;
  /** SHA-256 of the transaction cookie's secret: the browser that started it (OIDC-01). */
  bindingHash: string;
  provider: string;
  intent: OAuthIntent;
  state: string;
  nonce: string;
  codeVerifier: string;
  /** Same-origin relative path to land on afterwards (REDIR-01). */
  returnTo: string;
  /** The signed-in user who asked to link (intent "link"). */
  userId: string | null;
  ip: string | null;
  createdAt: number;
  expiresAt: number;
}

export type DeleteIdentityResult = 'deleted' | 'not_found' | 'last_method';

/** The OAuth/OIDC part of the storage contract. */
export interface OAuthStorage {
  /** Like insertChallenge: one pending transaction per browser, at most `maxPendingPerIp` per IP. */
  insertOAuthTransaction(transaction: OAuthTransactionRecord, maxPendingPerIp: number, replaces?: string): Promise<boolean>;
  /**
   * Atomically takes the browser's pending transaction, only if `state` is its state: at most one
   * caller ever gets it (OIDC-03), and a forged callback with another state leaves it in place
   * (a cross-site page cannot cancel the browser's sign-in).
   */
  consumeOAuthTransaction(bindingHash: string, state: string, now: number): Promise<OAuthTransactionRecord | null>;
  deleteExpiredOAuthTransactions(now: number): Promise<number>;

  findIdentity(issuer: string, subject: string): Promise<IdentityRecord | null>;
  /** Throws ConflictError IDENTITY_TAKEN when (issuer, subject) is linked already (to anyone). */
  insertIdentity(identity: IdentityRecord): Promise<void>;
  /** Creates the account and its first identity together, or neither (EMAIL_TAKEN / IDENTITY_TAKEN). */
  createUserWithIdentity(user: NewUser, identity: IdentityRecord): Promise<UserRecord>;
  recordIdentityUse(id: string, update: { email: string | null; emailVerified: boolean; tokens?: string | null; lastUsedAt: number }): Promise<void>;
  listIdentities(userId: string): Promise<IdentityRecord[]>;
  /**
   * Unlinks one identity of the user, unless it is their last way to sign in (no passkey and
   * no other identity would remain). Checked and deleted in one transaction with the user row
   * locked, so two racing unlinks cannot both pass the check.
   */
  deleteIdentity(id: string, userId: string): Promise<DeleteIdentityResult>;
}

export type { JwtStorage, RefreshRotation, RefreshTokenRecord, RevocationKind, RevocationRecord, SigningKeyRecord } from './contract-jwt.js';
