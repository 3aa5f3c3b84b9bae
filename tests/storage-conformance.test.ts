import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteAsAnotherProcess } from '../src/storage/database.js';
import { createSqlStorage, migrate, openDatabase, type Database, type IdentityRecord, type SessionRecord, type Storage } from '../src/index.js';
import type { ChallengeRecord, OAuthTransactionRecord, PasskeyRecord } from '../src/storage/contract.js';
import { randomToken } from '../src/lib/crypto.js';
import { freshPostgres, hasPostgres, PG_URL } from './services.js';

/**
 * ONE conformance suite for the storage contract. Every driver passes it: SQLite always,
 * PostgreSQL when reachable (required in CI). Two connections to the same database race
 * in the concurrency tests, the way two requests or two instances would.
 */
interface Driver {
  name: string;
  enabled: boolean;
  /** Opens two connections to one fresh, migrated database. */
  open(): Promise<{ a: Database; b: Database; cleanup(): Promise<void> }>;
}

const drivers: Driver[] = [
  {
    name: 'sqlite',
    enabled: true,
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'gatehouse-conformance-'));
      const url = `sqlite:${join(dir, 'test.db')}`;
      const a = await openDatabase(url);
      await migrate(a);
      // As another process's connection would be: not taking turns with `a` in this process, so
      // the races below meet SQLite's own locking (BEGIN IMMEDIATE, busy_timeout).
      const b = await openSqliteAsAnotherProcess(url);
      return {
        a,
        b,
        async cleanup() {
          await a.close();
          await b.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: 'postgres',
    enabled: hasPostgres,
    async open() {
      // Regression: Kysely found these tables in another schema, skipped creating ours and the
      // first migration failed. A decoy schema keeps that case covered.
      const decoy = await openDatabase(PG_URL);
      await sql`create schema if not exists gh_decoy`.execute(decoy.kysely);
      await sql`create table if not exists gh_decoy.gatehouse_migrations (name text)`.execute(decoy.kysely);
      await sql`create table if not exists gh_decoy.gatehouse_migrations_lock (id text)`.execute(decoy.kysely);
      await decoy.close();
      const schema = await freshPostgres();
      const a = await openDatabase(schema.url);
      await migrate(a);
      const b = await openDatabase(schema.url);
      return {
        a,
        b,
        async cleanup() {
          await a.close();
          await b.close();
          await schema.drop();
        },
      };
    },
  },
];

function session(userId: string, overrides: Partial<SessionRecord> = {}): SessionRecord {
  const now = Date.now();
  return {
    id: randomToken(16),
    userId,
    secretHash: randomToken(32),
    createdAt: now,
    lastSeenAt: now,
    expiresAt: now + 60_000,
    absoluteExpiresAt: now + 120_000,
    authTime: now,
    amr: ['passkey'],
    ip: '203.0.113.5',
    userAgent: 'Test/1.0',
    ...overrides,
  };
}

for (const driver of drivers) {
  describe.runIf(driver.enabled)(`storage conformance: ${driver.name}`, () => {
    let dbs: Awaited<ReturnType<Driver['open']>>;
    let s: Storage;
    let s2: Storage;
    let n = 0;
    const newUser = (email = `user${++n}@example.com`, role = 'member') =>
      s.createUser({ id: randomToken(16), email, name: `User ${n}`, role, now: Date.now() });

    beforeAll(async () => {
      dbs = await driver.open();
      s = createSqlStorage(dbs.a);
      s2 = createSqlStorage(dbs.b);
    });
    afterAll(async () => dbs?.cleanup());

    it('migrating twice is a no-op', async () => {
      expect((await migrate(dbs.a)).applied).toEqual([]);
    });

    it('creates users and finds them by id and by email, case-insensitively', async () => {
      const u = await newUser('Mixed.Case@Example.com');
      expect(u).toMatchObject({ email: 'Mixed.Case@Example.com', role: 'member', disabled: false });
      expect((await s.findUserById(u.id))?.email).toBe('Mixed.Case@Example.com');
      expect((await s.findUserByEmail('mixed.case@EXAMPLE.COM'))?.id).toBe(u.id);
      expect(await s.findUserById('nope')).toBeNull();
      expect(await s.findUserByEmail('nobody@example.com')).toBeNull();
    });

    it('refuses a second account whose email differs only in case', async () => {
      await newUser('dup@example.com');
      await expect(newUser('DUP@example.com')).rejects.toMatchObject({ code: 'EMAIL_TAKEN', status: 409 });
    });

    it('compares emails in Unicode NFC: a precomposed and a decomposed "é" are one address', async () => {
      const composed = 'jos\u00e9@nfc.example';
      const decomposed = 'jose\u0301@nfc.example';
      const u = await newUser(decomposed);
      expect(u.email).toBe(composed);
      expect((await s.findUserByEmail(composed))?.id).toBe(u.id);
      expect((await s.findUserByEmail(decomposed.toUpperCase()))?.id).toBe(u.id);
      // Before: a second, look-alike account.
      await expect(newUser(composed)).rejects.toMatchObject({ code: 'EMAIL_TAKEN' });
    });

    it('migration 0006 rewrites stored emails that are not NFC, and leaves a clashing pair alone', async () => {
      const row = (id: string, email: string) => ({ id, email, email_normalized: email.toLowerCase(), name: '', role: 'member', disabled: 0, created_at: 1, updated_at: 1, webauthn_user_id: null });
      // Rows as the earlier version stored them.
      await dbs.a.kysely.insertInto('gatehouse_users').values([row('nfc-old-1', 'Ze\u0301lie@old.example'), row('nfc-old-2', 'mare\u0301@clash.example'), row('nfc-old-3', 'mar\u00e9@clash.example')]).execute();
      await dbs.a.kysely.deleteFrom('gatehouse_migrations' as never).where('name' as never, '=', '0006_email_nfc' as never).execute();
      expect((await migrate(dbs.a)).applied).toEqual(['0006_email_nfc']);
      expect((await s.findUserById('nfc-old-1'))?.email).toBe('Z\u00e9lie@old.example');
      expect((await s.findUserByEmail('z\u00e9lie@old.example'))?.id).toBe('nfc-old-1');
      const clash = await dbs.a.kysely.selectFrom('gatehouse_users').select(['id', 'email_normalized']).where('id', 'in', ['nfc-old-2', 'nfc-old-3']).orderBy('id').execute();
      expect(clash).toEqual([
        { id: 'nfc-old-2', email_normalized: 'mare\u0301@clash.example' },
        { id: 'nfc-old-3', email_normalized: 'mar\u00e9@clash.example' },
      ]);
    });

    it('searches names case-insensitively beyond ASCII (SQLite lower() folds ASCII only)', async () => {
      const u = await s.createUser({ id: randomToken(16), email: `elodie${++n}@example.com`, name: '\u00c9lodie \u00d8rsted', role: 'member', now: Date.now() });
      for (const search of ['\u00e9lodie', '\u00c9LODIE', '\u00f8rsted']) {
        expect((await s.listUsers({ limit: 10, search })).map((x) => x.id), search).toContain(u.id);
      }
    });

    it('updates only the given columns', async () => {
      const u = await newUser();
      const changed = await s.updateUser(u.id, { role: 'admin' }, u.updatedAt + 5);
      expect(changed).toMatchObject({ role: 'admin', disabled: false, updatedAt: u.updatedAt + 5, email: u.email });
      const disabled = await s.updateUser(u.id, { disabled: true }, u.updatedAt + 6);
      expect(disabled).toMatchObject({ role: 'admin', disabled: true });
      expect(await s.updateUser('missing', { role: 'admin' }, 1)).toBeNull();
    });

    it('lists users with keyset paging and a search that treats % and _ literally', async () => {
      await newUser('percent%sign@example.com');
      await newUser('underscore_x@example.com');
      expect((await s.listUsers({ limit: 10, search: '%' })).map((u) => u.email)).toEqual(['percent%sign@example.com']);
      expect((await s.listUsers({ limit: 10, search: '_x' })).map((u) => u.email)).toEqual(['underscore_x@example.com']);
      const all = await s.listUsers({ limit: 1000 });
      const first = await s.listUsers({ limit: 2 });
      const second = await s.listUsers({ limit: 2, after: first.at(-1)!.id });
      expect([...first, ...second].map((u) => u.id)).toEqual(all.slice(0, 4).map((u) => u.id));
    });

    it('stores a session and loads it with its user in one lookup', async () => {
      const u = await newUser();
      const rec = session(u.id);
      await s.insertSession(rec);
      const found = await s.findSessionWithUser(rec.id);
      const { ip: _ip, userAgent: _ua, ...active } = rec;
      expect(found?.session).toEqual(active);
      expect(found?.user).toEqual({ id: u.id, email: u.email, name: u.name, role: 'member', disabled: false });
      // Device details stay on the full row, listed per user.
      expect((await s.listUserSessions(u.id))[0]).toEqual(rec);
      expect(await s.findSessionWithUser('unknown')).toBeNull();
    });

    it('creates a session with its audit event in one step, only for an existing, enabled user', async () => {
      const u = await newUser();
      const rec = session(u.id);
      const event = (sessionId: string, userId: string) => ({
        type: 'session.created',
        userId,
        actorId: null,
        sessionId,
        ip: '203.0.113.5',
        userAgent: 'Test/1.0',
        data: { method: 'passkey' },
        createdAt: rec.createdAt,
      });
      expect(await s.createSessionWithEvent(rec, event(rec.id, u.id))).toEqual({ user: u, passkeyUseRecorded: false });
      expect((await s.listUserSessions(u.id))[0]).toEqual(rec);
      const events = await s.listEvents({ limit: 10, userId: u.id });
      expect(events.map(({ id: _id, ...e }) => e)).toEqual([event(rec.id, u.id)]);

      // A disabled account: the user comes back, nothing is written.
      const disabled = await s.updateUser(u.id, { disabled: true }, Date.now());
      const refused = session(u.id);
      expect(await s.createSessionWithEvent(refused, event(refused.id, u.id))).toEqual({ user: disabled, passkeyUseRecorded: false });
      expect(await s.findSessionWithUser(refused.id)).toBeNull();
      expect(await s.listEvents({ limit: 10, userId: u.id })).toHaveLength(1);

      // No such user: null, nothing written.
      const orphan = session('no-such-user');
      expect(await s.createSessionWithEvent(orphan, event(orphan.id, 'no-such-user'))).toEqual({ user: null, passkeyUseRecorded: false });
      expect(await s.findSessionWithUser(orphan.id)).toBeNull();
      expect(await s.listEvents({ limit: 10, userId: 'no-such-user' })).toEqual([]);

      // A failed insert (the session id exists already) writes no event either.
      const enabled = await newUser();
      const first = session(enabled.id);
      await s.createSessionWithEvent(first, event(first.id, enabled.id));
      await expect(s2.createSessionWithEvent({ ...session(enabled.id), id: first.id }, { ...event(first.id, enabled.id), type: 'x.duplicate' })).rejects.toMatchObject({ status: 503 });
      expect((await s.listEvents({ limit: 10, userId: enabled.id })).map((e) => e.type)).toEqual(['session.created']);
    });

    it('never starts a session for an account disabled by a racing request', async () => {
      const u = await newUser();
      const recs = Array.from({ length: 10 }, () => session(u.id));
      const results = await Promise.all([
        s2.updateUser(u.id, { disabled: true }, Date.now()),
        ...recs.map((r, i) =>
          (i % 2 === 0 ? s : s2).createSessionWithEvent(r, { type: 'session.created', userId: u.id, actorId: null, sessionId: r.id, ip: null, userAgent: null, data: null, createdAt: r.createdAt }),
        ),
      ]);
      // Every sign-in either saw the account enabled and wrote both rows, or saw it disabled and wrote neither.
      const started = results.slice(1).filter((r) => typeof r === 'object' && r !== null && 'user' in r && r.user !== null && !r.user.disabled).length;
      expect((await s.listUserSessions(u.id)).length).toBe(started);
      expect((await s.listEvents({ limit: 100, userId: u.id })).length).toBe(started);
    });

    it('sees a role change and a disable on the very next lookup', async () => {
      const u = await newUser();
      const rec = session(u.id);
      await s.insertSession(rec);
      await s2.updateUser(u.id, { role: 'editor', disabled: true }, Date.now());
      expect((await s.findSessionWithUser(rec.id))?.user).toMatchObject({ role: 'editor', disabled: true });
    });

    it('touches a session only if nobody touched it first', async () => {
      const u = await newUser();
      const rec = session(u.id);
      await s.insertSession(rec);
      expect(await s.touchSession(rec.id, rec.lastSeenAt, { lastSeenAt: rec.lastSeenAt + 10, expiresAt: rec.expiresAt + 10 })).toBe(true);
      expect(await s.touchSession(rec.id, rec.lastSeenAt, { lastSeenAt: rec.lastSeenAt + 20, expiresAt: rec.expiresAt + 20 })).toBe(false);
      expect((await s.findSessionWithUser(rec.id))?.session).toMatchObject({ lastSeenAt: rec.lastSeenAt + 10, expiresAt: rec.expiresAt + 10 });
    });

    it('deletes one session only for its owner', async () => {
      const owner = await newUser();
      const other = await newUser();
      const rec = session(owner.id);
      await s.insertSession(rec);
      expect(await s.deleteSession(rec.id, other.id)).toBe(false);
      expect(await s.findSessionWithUser(rec.id)).not.toBeNull();
      expect(await s.deleteSession(rec.id, owner.id)).toBe(true);
      expect(await s.findSessionWithUser(rec.id)).toBeNull();
      expect(await s.deleteSession(rec.id)).toBe(false);
    });

    it('deletes all sessions of a user, or all but one, and returns their ids', async () => {
      const u = await newUser();
      const bystander = await newUser();
      const [k1, k2, k3] = [session(u.id), session(u.id), session(u.id)];
      const theirs = session(bystander.id);
      for (const r of [k1!, k2!, k3!, theirs]) await s.insertSession(r);
      expect((await s.deleteUserSessions(u.id, k1!.id)).sort()).toEqual([k2!.id, k3!.id].sort());
      expect((await s.listUserSessions(u.id)).map((r) => r.id)).toEqual([k1!.id]);
      expect(await s.deleteUserSessions(u.id)).toEqual([k1!.id]);
      expect(await s.listUserSessions(bystander.id)).toHaveLength(1);
    });

    it('lists a user\'s sessions, most recently seen first', async () => {
      const u = await newUser();
      const old = session(u.id, { lastSeenAt: 1000 });
      const recent = session(u.id, { lastSeenAt: 2000 });
      await s.insertSession(old);
      await s.insertSession(recent);
      expect((await s.listUserSessions(u.id)).map((r) => r.id)).toEqual([recent.id, old.id]);
    });

    it('deletes idle-expired and absolutely-expired sessions, and nothing else', async () => {
      const u = await newUser();
      const now = Date.now();
      const idle = session(u.id, { expiresAt: now - 1 });
      const absolute = session(u.id, { absoluteExpiresAt: now - 1 });
      const live = session(u.id);
      for (const r of [idle, absolute, live]) await s.insertSession(r);
      expect(await s.deleteExpiredSessions(now)).toBeGreaterThanOrEqual(2);
      expect((await s.listUserSessions(u.id)).map((r) => r.id)).toEqual([live.id]);
    });

    it('appends events and pages them newest first, with filters', async () => {
      const u = await newUser();
      for (let i = 0; i < 5; i++) {
        await s.appendEvent({
          type: i % 2 === 0 ? 'session.created' : 'session.revoked',
          userId: u.id,
          actorId: null,
          sessionId: null,
          ip: '203.0.113.9',
          userAgent: null,
          data: { i },
          createdAt: Date.now(),
        });
      }
      const page1 = await s.listEvents({ limit: 3, userId: u.id });
      expect(page1.map((e) => e.data?.i)).toEqual([4, 3, 2]);
      const page2 = await s.listEvents({ limit: 3, userId: u.id, before: page1.at(-1)!.id });
      expect(page2.map((e) => e.data?.i)).toEqual([1, 0]);
      expect((await s.listEvents({ limit: 10, userId: u.id, type: 'session.revoked' })).map((e) => e.data?.i)).toEqual([3, 1]);
    });

    it('refuses to change or delete an audit event (append-only)', async () => {
      await s.appendEvent({ type: 'user.created', userId: null, actorId: null, sessionId: null, ip: null, userAgent: null, data: null, createdAt: 1 });
      const db = dbs.a.kysely;
      await expect(sql`update gatehouse_auth_events set type = 'x'`.execute(db)).rejects.toThrow(/append-only/);
      await expect(sql`delete from gatehouse_auth_events`.execute(db)).rejects.toThrow(/append-only/);
      expect((await s.listEvents({ limit: 1000 })).some((e) => e.type === 'x')).toBe(false);
    });

    describe('OAuth identities and transactions', () => {
      const identity = (userId: string, overrides: Partial<IdentityRecord> = {}): IdentityRecord => ({
        id: randomToken(16),
        userId,
        provider: 'idp',
        issuer: 'https://idp.example.com',
        subject: randomToken(8),
        email: null,
        emailVerified: false,
        tokens: null,
        createdAt: Date.now(),
        lastUsedAt: null,
        ...overrides,
      });
      const transaction = (overrides: Partial<OAuthTransactionRecord> = {}): OAuthTransactionRecord => ({
        id: randomToken(16),
        bindingHash: randomToken(32),
        provider: 'idp',
        intent: 'signin',
        state: randomToken(32),
        nonce: randomToken(32),
        codeVerifier: randomToken(32),
        returnTo: '/',
        userId: null,
        ip: `198.51.100.${++n % 250}`,
        createdAt: Date.now(),
        expiresAt: Date.now() + 60_000,
        ...overrides,
      });

      it('hands a transaction out once, to one of two racing callbacks, only with its state, and never after it expired', async () => {
        const t = transaction();
        expect(await s.insertOAuthTransaction(t, 20)).toBe(true);
        // A forged callback (another state) takes nothing: the real one still finds it.
        expect(await s.consumeOAuthTransaction(t.bindingHash, 'forged-state', Date.now())).toBeNull();
        const taken = await Promise.all([s.consumeOAuthTransaction(t.bindingHash, t.state, Date.now()), s2.consumeOAuthTransaction(t.bindingHash, t.state, Date.now())]);
        expect(taken.filter((x) => x !== null)).toEqual([t]);
        const old = transaction({ expiresAt: Date.now() - 1 });
        await s.insertOAuthTransaction(old, 20);
        expect(await s.consumeOAuthTransaction(old.bindingHash, old.state, Date.now())).toBeNull();
      });

      it('bounds pending transactions per IP and replaces the browser\'s previous one', async () => {
        const ip = '192.0.2.200';
        const first = transaction({ ip });
        expect(await s.insertOAuthTransaction(first, 2)).toBe(true);
        expect(await s.insertOAuthTransaction(transaction({ ip }), 2)).toBe(true);
        expect(await s.insertOAuthTransaction(transaction({ ip }), 2)).toBe(false);
        expect(await s.insertOAuthTransaction(transaction({ ip }), 2, first.bindingHash)).toBe(true);
        expect(await s.consumeOAuthTransaction(first.bindingHash, first.state, Date.now())).toBeNull();
      });

      it('keeps (issuer, subject) unique across users and creates an account with its identity atomically', async () => {
        const u = await newUser();
        const i = identity(u.id);
        await s.insertIdentity(i);
        await expect(s2.insertIdentity(identity((await newUser()).id, { issuer: i.issuer, subject: i.subject }))).rejects.toMatchObject({ code: 'IDENTITY_TAKEN' });
        expect(await s.findIdentity(i.issuer, i.subject)).toEqual(i);
        // An existing email: neither the user nor the identity is written.
        const clash = identity(randomToken(16));
        await expect(s.createUserWithIdentity({ id: clash.userId, email: u.email.toUpperCase(), name: '', role: 'member', now: Date.now() }, clash)).rejects.toMatchObject({ code: 'EMAIL_TAKEN' });
        expect(await s.findIdentity(clash.issuer, clash.subject)).toBeNull();
        expect(await s.findUserById(clash.userId)).toBeNull();
      });

      it('records use and lists a user\'s identities oldest first', async () => {
        const u = await newUser();
        const older = identity(u.id, { createdAt: 1000 });
        const newer = identity(u.id, { createdAt: 2000 });
        await s.insertIdentity(newer);
        await s.insertIdentity(older);
        await s.recordIdentityUse(older.id, { email: 'a@example.com', emailVerified: true, lastUsedAt: 5000, tokens: 'sealed' });
        expect(await s.listIdentities(u.id)).toEqual([{ ...older, email: 'a@example.com', emailVerified: true, lastUsedAt: 5000, tokens: 'sealed' }, newer]);
      });

      it('never unlinks the last way to sign in, even when two unlinks race', async () => {
        const u = await newUser();
        const ids = [identity(u.id), identity(u.id)];
        for (const i of ids) await s.insertIdentity(i);
        // better-sqlite3 is synchronous: a second connection in the SAME process would block the
        // event loop waiting for the first one's transaction. One SQLite process uses one
        // connection (transactions queue on it); PostgreSQL races on two.
        const other = driver.name === 'sqlite' ? s : s2;
        const results = await Promise.all([s.deleteIdentity(ids[0]!.id, u.id), other.deleteIdentity(ids[1]!.id, u.id)]);
        expect([...results].sort()).toEqual(['deleted', 'last_method']);
        expect(await s.listIdentities(u.id)).toHaveLength(1);
        expect(await s.deleteIdentity(ids[0]!.id, (await newUser()).id)).toBe('not_found');
      });
    });

    describe('passkey ceremonies', () => {
      const challenge = (overrides: Partial<ChallengeRecord> = {}): ChallengeRecord => ({
        id: randomToken(16),
        bindingHash: randomToken(32),
        ceremony: 'login',
        challenge: randomToken(32),
        userId: null,
        webauthnUserId: null,
        email: null,
        name: null,
        ip: null,
        createdAt: Date.now(),
        expiresAt: Date.now() + 60_000,
        ...overrides,
      });
      const passkey = (userId: string, id = randomToken(16)): PasskeyRecord => ({
        id,
        userId,
        publicKey: randomToken(64),
        counter: 0,
        transports: [],
        deviceType: 'multiDevice',
        backedUp: true,
        aaguid: '00000000-0000-0000-0000-000000000000',
        name: 'key',
        createdAt: Date.now(),
        lastUsedAt: null,
      });

      it('deleting passkeys never removes the last way to sign in, even two deletions at once on two connections', async () => {
        for (let round = 0; round < 5; round++) {
          const u = await newUser();
          const [a, b] = [passkey(u.id), passkey(u.id)];
          await s.insertPasskey(a);
          await s.insertPasskey(b);
          // As for unlinking: one connection per SQLite process (transactions queue on it), two on PostgreSQL.
          const other = driver.name === 'sqlite' ? s : s2;
          const results = await Promise.all([s.deletePasskey(a.id, u.id), other.deletePasskey(b.id, u.id)]);
          expect(results.sort()).toEqual(['deleted', 'last_method']);
          expect(await s.listPasskeys(u.id)).toHaveLength(1);
        }
        const u = await newUser();
        const only = passkey(u.id);
        await s.insertPasskey(only);
        expect(await s.deletePasskey('no-such-key', u.id)).toBe('not_found');
        expect(await s.deletePasskey(only.id, 'someone-else')).toBe('not_found');
        expect(await s.deletePasskey(only.id, u.id)).toBe('last_method');
        // With an unused recovery code, the last passkey may go.
        await s.replaceRecoveryCodes(u.id, [randomToken(16)], Date.now());
        expect(await s.deletePasskey(only.id, u.id)).toBe('deleted');
      });

      it('hands a challenge out once, for its ceremony type, to one of two racing verifications', async () => {
        const c = challenge();
        expect(await s.insertChallenge(c, 20)).toBe(true);
        expect(await s.consumeChallenge(c.bindingHash, 'signup', Date.now())).toBeNull();
        const taken = await Promise.all([s.consumeChallenge(c.bindingHash, 'login', Date.now()), s2.consumeChallenge(c.bindingHash, 'login', Date.now())]);
        expect(taken.filter((x) => x !== null)).toEqual([c]);
      });

      // Regression: on SQLite the sign-in's prepared statements ran on the connection while a
      // Kysely transaction of another request was open on it, so a challenge taken meanwhile was
      // put back when that transaction rolled back (here: a sign-up with a taken credential id),
      // and the same assertion could be replayed.
      it('keeps a challenge taken while another request\'s transaction rolls back', async () => {
        const holder = await newUser();
        const taken = passkey(holder.id);
        await s.insertPasskey(taken);
        for (let ticks = 0; ticks < 30; ticks++) {
          const c = challenge();
          await s.insertChallenge(c, 20);
          const signUp = s
            .createUserWithPasskey({ id: randomToken(16), email: `rollback${++n}@example.com`, name: '', role: 'member', now: Date.now(), webauthnUserId: randomToken(32) }, passkey(holder.id, taken.id))
            .catch((error: unknown) => error);
          // The sign-in comes in a few microtasks later: somewhere inside the sign-up's transaction.
          const signIn = (async () => {
            for (let i = 0; i < ticks; i++) await null;
            return s.consumeChallenge(c.bindingHash, 'login', Date.now());
          })();
          const [failure, first] = await Promise.all([signUp, signIn]);
          expect(failure).toMatchObject({ code: 'CREDENTIAL_TAKEN' });
          expect(first?.id).toBe(c.id);
          expect(await s.consumeChallenge(c.bindingHash, 'login', Date.now())).toBeNull();
        }
      });
    });

    describe('passkey sign-in: the counter moves with the session', () => {
      const key = (userId: string, counter: number): PasskeyRecord => ({
        id: randomToken(16),
        userId,
        publicKey: randomToken(64),
        counter,
        transports: [],
        deviceType: 'singleDevice',
        backedUp: false,
        aaguid: '00000000-0000-0000-0000-000000000000',
        name: 'key',
        createdAt: Date.now(),
        lastUsedAt: null,
      });
      const started = (sessionId: string, userId: string) => ({
        type: 'session.created',
        userId,
        actorId: null,
        sessionId,
        ip: null,
        userAgent: null,
        data: { method: 'passkey' },
        createdAt: Date.now(),
      });
      const storedKey = async (userId: string, id: string) => (await s.listPasskeys(userId)).find((p) => p.id === id);

      it('writes the counter, the session and its event together, and nothing when the counter moved first', async () => {
        const u = await newUser();
        const k = key(u.id, 5);
        await s.insertPasskey(k);
        const first = session(u.id);
        const use = { id: k.id, previousCounter: 5, counter: 6, backedUp: true, lastUsedAt: first.createdAt };
        expect(await s.createSessionWithEvent(first, started(first.id, u.id), use)).toEqual({ user: u, passkeyUseRecorded: true });
        expect(await storedKey(u.id, k.id)).toMatchObject({ counter: 6, backedUp: true, lastUsedAt: first.createdAt });
        expect(await s.findSessionWithUser(first.id)).not.toBeNull();

        // The same assertion again (previous counter 5): the counter is 6 now, so nothing is written.
        const replay = session(u.id);
        expect(await s.createSessionWithEvent(replay, started(replay.id, u.id), { ...use, lastUsedAt: use.lastUsedAt + 1 })).toEqual({ user: u, passkeyUseRecorded: false });
        expect(await s.findSessionWithUser(replay.id)).toBeNull();
        expect(await storedKey(u.id, k.id)).toMatchObject({ counter: 6, lastUsedAt: first.createdAt });
        expect((await s.listEvents({ limit: 10, userId: u.id })).map((e) => e.sessionId)).toEqual([first.id]);
      });

      it('moves no counter for a disabled account', async () => {
        const u = await newUser();
        const k = key(u.id, 1);
        await s.insertPasskey(k);
        const disabled = await s.updateUser(u.id, { disabled: true }, Date.now());
        const rec = session(u.id);
        expect(await s.createSessionWithEvent(rec, started(rec.id, u.id), { id: k.id, previousCounter: 1, counter: 2, backedUp: false, lastUsedAt: Date.now() })).toEqual({
          user: disabled,
          passkeyUseRecorded: false,
        });
        expect(await storedKey(u.id, k.id)).toMatchObject({ counter: 1, lastUsedAt: null });
        expect(await s.findSessionWithUser(rec.id)).toBeNull();
      });

      it('starts exactly one session when ten sign-ins with the same counter race on two connections', async () => {
        const u = await newUser();
        const k = key(u.id, 7);
        await s.insertPasskey(k);
        const recs = Array.from({ length: 10 }, () => session(u.id));
        const results = await Promise.all(
          recs.map((r, i) => (i % 2 === 0 ? s : s2).createSessionWithEvent(r, started(r.id, u.id), { id: k.id, previousCounter: 7, counter: 8, backedUp: false, lastUsedAt: Date.now() })),
        );
        expect(results.filter((r) => r.passkeyUseRecorded)).toHaveLength(1);
        expect(await s.listUserSessions(u.id)).toHaveLength(1);
        expect(await s.listEvents({ limit: 100, userId: u.id })).toHaveLength(1);
        expect(await storedKey(u.id, k.id)).toMatchObject({ counter: 8 });
      });
    });

    describe('two writers racing', () => {
      it('creates exactly one account when ten sign-ups race on one email', async () => {
        const email = `race${++n}@example.com`;
        const attempts = Array.from({ length: 10 }, (_, i) =>
          (i % 2 === 0 ? s : s2).createUser({ id: randomToken(16), email: i % 3 === 0 ? email.toUpperCase() : email, name: '', role: 'member', now: Date.now() }),
        );
        const results = await Promise.allSettled(attempts);
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'EMAIL_TAKEN' });
      });

      it('records activity once when two requests touch the same session', async () => {
        const u = await newUser();
        const rec = session(u.id);
        await s.insertSession(rec);
        const wrote = await Promise.all(
          Array.from({ length: 8 }, (_, i) =>
            (i % 2 === 0 ? s : s2).touchSession(rec.id, rec.lastSeenAt, { lastSeenAt: rec.lastSeenAt + i + 1, expiresAt: rec.expiresAt + i + 1 }),
          ),
        );
        expect(wrote.filter(Boolean)).toHaveLength(1);
      });

      it('never resurrects a session revoked while another request touches it', async () => {
        const u = await newUser();
        const recs = Array.from({ length: 10 }, () => session(u.id));
        for (const r of recs) await s.insertSession(r);
        await Promise.all([
          s2.deleteUserSessions(u.id),
          ...recs.map((r) => s.touchSession(r.id, r.lastSeenAt, { lastSeenAt: r.lastSeenAt + 1, expiresAt: r.expiresAt + 1 })),
        ]);
        expect(await s.listUserSessions(u.id)).toEqual([]);
        for (const r of recs) expect(await s.findSessionWithUser(r.id)).toBeNull();
      });

      it('keeps both changes when a role change and a disable race on one user', async () => {
        const u = await newUser();
        await Promise.all([s.updateUser(u.id, { role: 'admin' }, Date.now()), s2.updateUser(u.id, { disabled: true }, Date.now())]);
        expect(await s.findUserById(u.id)).toMatchObject({ role: 'admin', disabled: true });
      });
    });
  });
}
