import { decodeJwt, type JSONWebKeySet } from 'jose';
import type { AuditEntry, AuditLog } from '../audit/audit-log.js';
import type { MetricsRecorder } from '../ops/metrics.js';
import type { ResolvedJwtConfig } from '../config/jwt.js';
import type { ResolvedConfig } from '../config/resolve.js';
import { AccessTokenExpiredError, AuthError, UnauthenticatedError } from '../errors.js';
import type { ActiveSessionRecord, SessionUserRecord, SessionWithUser, Storage } from '../storage/contract.js';
import type { Database } from '../storage/database.js';
import { ACCESS_TOKEN_ALGORITHMS, mintAccessToken, verifyAccessTokenWith, type AccessTokenClaims, type VerifyRules } from './access-token.js';
import { createKeyRing, type KeyRing } from './keys.js';
import { createStaticKeyRing } from './static-keys.js';
import { browserMarker, markedSession, markerKey, mintRefreshToken, successorKey } from './refresh-token.js';
import { rotateRefreshToken, signedOut } from './rotate-refresh-token.js';
import type { RevocationVerdict } from '../revocation/revocation-state.js';
import type { Revocations } from '../revocation/revocations.js';
import { VerifiedTokenCache, type VerifiedEntry } from './verified-cache.js';

/** What authenticating a request found: the session, or why not (the error to answer with). */
export interface JwtAuthResult {
  found: SessionWithUser | null;
  error: AuthError | null;
}

/** Tokens to put in cookies after a sign-in or a refresh. */
export interface IssuedTokens {
  accessToken: string;
  /** Milliseconds. */
  accessExpiresAt: number;
  refreshToken: string;
  /** The family's absolute end (ms): the refresh cookie never outlives it. */
  refreshExpiresAt: number;
  /** The browser marker naming this session (see `browserMarker`), for the refreshable cookie. */
  marker: string;
}

export interface RefreshResult {
  tokens: IssuedTokens;
  session: ActiveSessionRecord;
  user: SessionUserRecord;
}

export interface JwtMode {
  readonly settings: ResolvedJwtConfig;
  /** Verifies the access token from the cookie: cached signature, then exp and revocation on every call. */
  authenticate(accessToken: string | null, refreshable?: boolean): Promise<JwtAuthResult>;
  /** The first tokens of a new session (its refresh family). */
  issue(session: ActiveSessionRecord, user: SessionUserRecord): Promise<IssuedTokens>;
  /** Rotates a refresh token (RT-02..06); throws UnauthenticatedError when it cannot. */
  refresh(refreshToken: string | null, meta: { ip: string | null; userAgent: string | null }): Promise<RefreshResult>;
  /** The session an authentic browser marker (the refreshable cookie) names, else null: the browser's previous session at sign-in (SESS-03). */
  markedSession(marker: string | null): string | null;
  /** The session an authentic access token names, even expired (sign-out must still end it). */
  sessionForSignOut(accessToken: string | null): Promise<{ sessionId: string; userId: string } | null>;
  jwks(): Promise<JSONWebKeySet>;
  rotateKeys(): Promise<{ kid: string; superseded: string[] }>;
  /** The storage with every session end and account change turned into a revocation. */
  wrapStorage(store: Storage): Storage;
  /** Starts the keys and the revocation feed (done on first use otherwise). */
  ready(): Promise<void>;
  /** Readiness: the key that signs can be used (decrypted with jwt.secret); throws when it cannot. */
  checkSigningKey(): Promise<void>;
  /** Whether revocations arrive through the feed (true) or each request checks the database (false). */
  feedHealthy(): boolean;
  close(): Promise<void>;
}

export interface JwtModeSetup {
  config: ResolvedConfig;
  settings: ResolvedJwtConfig;
  /** The wrapped storage (see wrapStorage). */
  storage: () => Promise<Storage>;
  database: () => Promise<Database>;
  audit: AuditLog;
  /** The revocation state and feed (shared with the session cache; owned and closed by the caller). */
  revocations: Revocations;
  /** Refresh outcomes are counted here (`gatehouse_refresh_total`); a no-op recorder when metrics are off. */
  metrics: MetricsRecorder;
}

export function createJwtMode(setup: JwtModeSetup): JwtMode {
  const { config, settings, storage, audit, revocations, metrics } = setup;
  const now = config.now;
  const keys: KeyRing =
    settings.signingKeys !== null
      ? createStaticKeyRing(settings.signingKeys)
      : createKeyRing({ storage, secret: settings.secret, algorithm: settings.algorithm, retireAfterMs: settings.keyRetireAfterMs, now });
  const cache = new VerifiedTokenCache(settings.verifiedTokenCacheSize);
  const verifying = new Map<string, Promise<VerifiedEntry>>();
  const successors = successorKey(settings.secret);
  const markers = markerKey(settings.secret);
  const ttl = settings.accessTokenTtlSeconds;
  let readyPromise: Promise<void> | undefined;
  let started = false;
  let keyTimer: NodeJS.Timeout | undefined;
  let closed = false;

  const ready = (): Promise<void> =>
    (readyPromise ??= Promise.all([keys.ready(), revocations.start()])
      .then(() => {
        started = true;
        if (!closed && keyTimer === undefined) {
          keyTimer = setInterval(() => void keys.reload().catch((error: unknown) => config.logger.warn('JWT mode: background key reload failed', { cause: String(error) })), settings.keyReloadMs);
          keyTimer.unref();
        }
      })
      .catch((error: unknown) => {
        readyPromise = undefined;
        throw error;
      }));

  const rules = (at: number): VerifyRules => ({
    issuer: settings.issuer,
    audience: settings.audience,
    algorithms: ACCESS_TOKEN_ALGORITHMS,
    leewaySeconds: settings.leewaySeconds,
    maxTtlSeconds: ttl,
    now: at,
    gatehouseClaims: true,
  });

  const resolveKey = (at: number) => async (kid: string, alg: string) => {
    let key = keys.verifier(kid, at);
    // An unknown kid may be a key another instance just created: re-read, at most every 5 s (JWT-06).
    if (key === null) {
      await keys.reloadForUnknownKid(5000);
      key = keys.verifier(kid, at);
    }
    return key !== null && key.alg === alg ? key.publicKey : null;
  };

  /** The database check used while the feed is down (fail closed): one session+user lookup and the user's "not before". */
  async function checkInDatabase(claims: AccessTokenClaims, at: number): Promise<RevocationVerdict> {
    const store = await storage();
    const found = await store.findSessionWithUser(claims.sid);
    if (found === null || found.user.id !== claims.sub || found.user.disabled || at >= found.session.absoluteExpiresAt) return 'revoked';
    const notBefore = await store.findUserRevokedAt(claims.sub, at);
    if ((notBefore !== null && claims.iat_ms <= notBefore) || found.user.role !== claims.role) return 'stale';
    return 'ok';
  }

  function toFound(claims: AccessTokenClaims): SessionWithUser {
    const authTime = claims.auth_time * 1000;
    return {
      session: {
        id: claims.sid,
        userId: claims.sub,
        secretHash: '',
        createdAt: authTime,
        lastSeenAt: claims.iat * 1000,
        // In JWT mode a request sees the access token's own lifetime.
        expiresAt: claims.exp * 1000,
        absoluteExpiresAt: claims.exp * 1000,
        authTime,
        amr: claims.amr,
      },
      user: { id: claims.sub, email: claims.email, name: claims.name, role: claims.role, disabled: false },
    };
  }

  /**
   * Signs the access token for `user` as read at `readAt` (ms). Returns the tokens and the user
   * they were signed for: the same one, or a fresh read when the account changed meanwhile.
   */
  async function mint(session: ActiveSessionRecord, readUser: SessionUserRecord, refreshToken: string, readAt: number): Promise<{ tokens: IssuedTokens; user: SessionUserRecord }> {
    const at = now();
    const signer = await keys.signer();
    const store = await storage();
    // A token must never fall before its user's own "not before" (a role change on an
    // instance whose clock runs a few ms ahead): the issue time moves up to it.
    const notBefore = Math.max(revocations.userNotBefore(readUser.id), (await store.findUserRevokedAt(readUser.id, at)) ?? 0);
    let user = readUser;
    if (notBefore >= readAt) {
      // The account changed (a demotion, a disable) at or after the moment it was read: moving the
      // issue time past that change would sign the OLD role with a time the revocation check
      // accepts. Read it again, and sign what is true now (AUTHZ-05, SESS-09).
      const fresh = await store.findSessionWithUser(session.id);
      if (fresh === null || fresh.user.disabled) throw new UnauthenticatedError('This session has ended. Sign in again.');
      user = fresh.user;
    }
    const issuedAtMs = Math.max(at, notBefore + 1);
    // Tokens minted from a session never outlive it (SESS-05/06): neither its absolute lifetime
    // nor its idle expiry (an idle timeout shorter than the access-token lifetime wins).
    const expiresAt = Math.min(Math.floor(issuedAtMs / 1000) + ttl, Math.floor(session.absoluteExpiresAt / 1000), Math.floor(session.expiresAt / 1000));
    if (expiresAt <= Math.floor(at / 1000)) throw new UnauthenticatedError('This session has ended. Sign in again.');
    const accessToken = await mintAccessToken({
      issuer: settings.issuer,
      audience: settings.audience,
      kid: signer.kid,
      alg: signer.alg,
      privateKey: signer.privateKey,
      userId: user.id,
      sessionId: session.id,
      role: user.role,
      email: user.email,
      name: user.name,
      authTime: session.authTime,
      amr: session.amr,
      issuedAtMs,
      expiresAt,
    });
    return { tokens: { accessToken, accessExpiresAt: expiresAt * 1000, refreshToken, refreshExpiresAt: session.absoluteExpiresAt, marker: browserMarker(markers, session.id) }, user };
  }

  const mode: JwtMode = {
    settings,
    ready,
    async checkSigningKey() {
      await ready();
      await keys.signer();
    },
    feedHealthy: () => revocations.healthy(),

    async authenticate(token, refreshable = false) {
      // No access cookie (the browser drops it when it expires) but a live family: refresh and retry.
      if (token === null || token === '') return { found: null, error: refreshable ? new AccessTokenExpiredError() : null };
      if (!started) await ready();
      const at = now();
      let entry = cache.get(token);
      if (entry !== undefined && keys.verifier(entry.kid, at) === null) {
        // Its key retired since: verify from scratch (and fail).
        cache.delete(token);
        entry = undefined;
      }
      if (entry === undefined) {
        // Single flight: requests carrying the same new token (a page firing ten API calls) share one verification.
        let pending = verifying.get(token);
        if (pending === undefined) {
          pending = verifyAccessTokenWith(token, resolveKey(at), rules(at)).finally(() => verifying.delete(token));
          verifying.set(token, pending);
        }
        try {
          entry = await pending;
        } catch (error) {
          if (error instanceof AuthError) return { found: null, error };
          throw error;
        }
        cache.set(token, entry);
      } else if (entry.claims.exp <= Math.floor(at / 1000) - settings.leewaySeconds) {
        cache.delete(token);
        return { found: null, error: new AccessTokenExpiredError() };
      }
      const { claims } = entry;
      const catchingUp = revocations.catchUp();
      if (catchingUp !== undefined) await catchingUp;
      const verdict = revocations.healthy() ? revocations.check(claims.sid, claims.sub, claims.iat_ms) : await checkInDatabase(claims, at);
      if (verdict === 'revoked') return { found: null, error: signedOut() };
      // The account changed (role, disabled) after this token was issued: refresh for a current one (AUTHZ-05).
      if (verdict === 'stale') return { found: null, error: new AccessTokenExpiredError('Your account changed. Refresh the access token and retry.') };
      return { found: toFound(claims), error: null };
    },

    async issue(session, user) {
      await ready();
      const first = mintRefreshToken();
      const stored = await (await storage()).insertRefreshToken({
        id: first.id,
        familyId: session.id,
        parentId: null,
        userId: user.id,
        secretHash: first.secretHash,
        createdAt: now(),
        expiresAt: session.absoluteExpiresAt,
        rotatedAt: null,
      });
      // The new session was ended before its family's first token was stored (a revoke-all that ran mid sign-in).
      if (!stored) throw new UnauthenticatedError('This session has ended. Sign in again.');
      // The account was read in the sign-in's transaction, when the session was created.
      return (await mint(session, user, first.token, session.createdAt)).tokens;
    },

    async refresh(token, meta) {
      await ready();
      const rotated = await rotateRefreshToken({ config, storage, audit, successors, refreshGraceMs: settings.refreshGraceMs, metrics }, token, meta);
      const { tokens, user } = await mint(rotated.session, rotated.user, rotated.token, rotated.readAt);
      return { tokens, session: rotated.session, user };
    },

    markedSession: (marker) => markedSession(markers, marker),

    async sessionForSignOut(token) {
      if (token === null || token === '') return null;
      await ready();
      let exp: unknown;
      try {
        ({ exp } = decodeJwt(token));
      } catch {
        return null;
      }
      if (typeof exp !== 'number') return null;
      const at = now();
      // Verified as of just before its expiry: an expired but authentic token still names its session.
      const asOf = Math.min(at, exp * 1000 - 1000);
      if (asOf < at - config.absoluteLifetimeMs) return null;
      try {
        const { claims } = await verifyAccessTokenWith(token, resolveKey(at), rules(asOf));
        return { sessionId: claims.sid, userId: claims.sub };
      } catch {
        return null;
      }
    },

    async jwks() {
      await keys.ready();
      return keys.jwks(now());
    },

    async rotateKeys() {
      await keys.ready();
      let rotated: AuditEntry | undefined;
      const result = await keys.rotate((kid, superseded) => (rotated = audit.entry('signing_key.rotated', { userId: null, data: { kid, superseded } })));
      if (rotated !== undefined) audit.recorded(rotated);
      return result;
    },

    wrapStorage(store) {
      return revocations.wrapStorage(store);
    },

    async close() {
      closed = true;
      if (keyTimer !== undefined) clearInterval(keyTimer);
    },
  };
  return mode;
}
