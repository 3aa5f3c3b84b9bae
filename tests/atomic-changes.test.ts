import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { getTestInstance, type TestInstance } from './helpers.js';
import { freshPostgres, hasPostgres } from './services.js';
import { ACCESS, cookiesOf, getJwtInstance, jwtSignIn, refresh } from './jwt-helpers.js';

/**
 * Changes that write several rows are all-or-nothing: an administrative change (role, disable,
 * ending sessions) with its audit event, an account with its `user.created`, a recovery sign-in
 * (the code, the other sessions, the new session, the events). Each test makes ONE statement of
 * the change fail (a trigger on the test's own database) and checks that nothing of it stayed,
 * then that a retry once the fault is gone does the whole change.
 */
const databases = [
  { name: 'SQLite', dialect: 'sqlite' as const, enabled: true, url: async () => ({ url: 'sqlite::memory:', drop: async () => {} }) },
  { name: 'PostgreSQL', dialect: 'postgres' as const, enabled: hasPostgres, url: freshPostgres },
];

type Fault = { table: 'gatehouse_sessions' | 'gatehouse_auth_events' | 'gatehouse_recovery_codes' | 'gatehouse_signing_keys' | 'gatehouse_revocations'; on: 'INSERT' | 'DELETE' | 'UPDATE'; when?: string };

for (const db of databases) {
  describe.runIf(db.enabled)(`all-or-nothing changes on ${db.name}`, () => {
    let t: TestInstance;
    let drop: () => Promise<void>;
    beforeAll(async () => {
      const { url, drop: dropIt } = await db.url();
      drop = dropIt;
      t = await getTestInstance({ databaseUrl: url });
    });
    afterAll(async () => {
      await t?.close();
      await drop?.();
    });

    /** Makes one kind of statement fail until `heal()`; `when` narrows it (SQL on NEW/OLD). */
    const faults: string[] = [];
    async function fail({ table, on, when }: Fault, instance: TestInstance = t): Promise<void> {
      const name = `gh_fault_${faults.length}`;
      faults.push(name);
      const row = on === 'DELETE' ? 'OLD' : 'NEW';
      const condition = when?.replaceAll('ROW', row);
      if (db.dialect === 'sqlite') {
        await sql.raw(`CREATE TRIGGER ${name} BEFORE ${on} ON ${table} ${condition ? `WHEN ${condition}` : ''} BEGIN SELECT RAISE(ABORT, 'injected fault'); END`).execute(instance.database.kysely);
      } else {
        await sql.raw(`CREATE FUNCTION ${name}() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'injected fault'; END; $$ LANGUAGE plpgsql`).execute(instance.database.kysely);
        await sql.raw(`CREATE TRIGGER ${name} BEFORE ${on} ON ${table} FOR EACH ROW ${condition ? `WHEN (${condition})` : ''} EXECUTE FUNCTION ${name}()`).execute(instance.database.kysely);
      }
    }
    async function heal(instance: TestInstance = t): Promise<void> {
      for (const name of faults.splice(0)) {
        if (db.dialect === 'sqlite') await sql.raw(`DROP TRIGGER IF EXISTS ${name}`).execute(instance.database.kysely);
        else await sql.raw(`DROP FUNCTION IF EXISTS ${name}() CASCADE`).execute(instance.database.kysely);
      }
    }
    afterEach(() => heal());

    const store = () => t.auth.storage();
    const eventsOf = async (userId: string, type: string) => (await (await store()).listEvents({ limit: 100, userId, type })).length;
    const patchUser = (cookie: string, id: string, body: unknown) => t.request(`/auth/admin/users/${id}`, { method: 'PATCH', cookie, body: JSON.stringify(body) });
    const sessionOk = async (cookie: string) => (await t.request('/auth/session', { cookie })).status;

    it('a promotion whose session deletion fails changes nothing: 503, old role, old session alive, no event; the retry does it all', async () => {
      const admin = await t.signIn(`admin-${db.name}-1@example.com`, { role: 'admin' });
      const member = await t.signIn(`member-${db.name}-1@example.com`);
      await fail({ table: 'gatehouse_sessions', on: 'DELETE' });
      const res = await patchUser(admin.cookie, member.userId, { role: 'admin' });
      expect(res.status).toBe(503);
      expect((await res.json()) as unknown).toMatchObject({ error: { code: 'SERVICE_UNAVAILABLE' } });
      expect((await (await store()).findUserById(member.userId))?.role).toBe('member');
      // Before the fix the role was stored and this old session got admin rights (SESS-04).
      expect(await sessionOk(member.cookie)).toBe(200);
      expect((await t.request('/auth/admin/users', { cookie: member.cookie })).status).toBe(403);
      expect(await eventsOf(member.userId, 'user.role_changed')).toBe(0);

      await heal();
      const retry = await patchUser(admin.cookie, member.userId, { role: 'admin' });
      expect(retry.status).toBe(200);
      expect((await (await store()).findUserById(member.userId))?.role).toBe('admin');
      expect(await sessionOk(member.cookie)).toBe(401);
      expect(await eventsOf(member.userId, 'user.role_changed')).toBe(1);
    });

    it('a disable whose audit event fails is not done; the retry disables, ends the sessions and records it once', async () => {
      const admin = await t.signIn(`admin-${db.name}-2@example.com`, { role: 'admin' });
      const member = await t.signIn(`member-${db.name}-2@example.com`);
      await fail({ table: 'gatehouse_auth_events', on: 'INSERT', when: "ROW.type = 'user.disabled'" });
      expect((await patchUser(admin.cookie, member.userId, { disabled: true })).status).toBe(503);
      expect((await (await store()).findUserById(member.userId))?.disabled).toBe(false);
      expect(await sessionOk(member.cookie)).toBe(200);

      await heal();
      // Before the fix the retry found the account already disabled, answered 200 and recorded
      // nothing; and enabling it again brought the never-deleted session back.
      expect((await patchUser(admin.cookie, member.userId, { disabled: true })).status).toBe(200);
      expect(await eventsOf(member.userId, 'user.disabled')).toBe(1);
      expect(await sessionOk(member.cookie)).toBe(401);
      expect((await patchUser(admin.cookie, member.userId, { disabled: false })).status).toBe(200);
      expect(await sessionOk(member.cookie)).toBe(401);
    });

    it('revoking sessions with a failing event ends none of them', async () => {
      const admin = await t.signIn(`admin-${db.name}-3@example.com`, { role: 'admin' });
      const member = await t.signIn(`member-${db.name}-3@example.com`);
      await fail({ table: 'gatehouse_auth_events', on: 'INSERT', when: "ROW.type = 'session.revoked'" });
      expect((await t.request(`/auth/admin/users/${member.userId}/revoke-sessions`, { method: 'POST', cookie: admin.cookie })).status).toBe(503);
      expect(await sessionOk(member.cookie)).toBe(200);
    });

    it('an account whose user.created event fails is not created; the retry creates it (not EMAIL_TAKEN)', async () => {
      const email = `created-${db.name}@example.com`;
      await fail({ table: 'gatehouse_auth_events', on: 'INSERT', when: "ROW.type = 'user.created'" });
      await expect(t.auth.users.create({ email, name: 'Created' })).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
      expect(await (await store()).findUserByEmail(email)).toBeNull();
      await heal();
      const user = await t.auth.users.create({ email, name: 'Created' });
      expect(await eventsOf(user.id, 'user.created')).toBe(1);
    });

    describe('a recovery sign-in', () => {
      async function withCodes(n: number): Promise<{ email: string; userId: string; codes: string[]; other: string }> {
        const email = `recover-${db.name}-${n}@example.com`;
        const first = await t.signIn(email);
        const res = await t.request('/auth/recovery-codes', { method: 'POST', cookie: first.cookie });
        expect(res.status).toBe(201);
        const { codes } = (await res.json()) as { codes: string[] };
        // Another device of the account, which the recovery must end.
        const other = await t.signIn(email);
        return { email, userId: first.userId, codes, other: other.cookie };
      }
      const unused = async (userId: string) => (await store()).countRecoveryCodes(userId);
      const recover = (email: string, code: string) => t.request('/auth/recovery/sign-in', { method: 'POST', body: JSON.stringify({ email, code }), ip: `198.51.100.${Math.floor(Math.random() * 200)}` });

      for (const fault of [
        { what: 'its new session', fault: { table: 'gatehouse_sessions', on: 'INSERT' } },
        { what: 'its session.created event', fault: { table: 'gatehouse_auth_events', on: 'INSERT', when: "ROW.type = 'session.created'" } },
        { what: 'its recovery.code_used event', fault: { table: 'gatehouse_auth_events', on: 'INSERT', when: "ROW.type = 'recovery.code_used'" } },
        { what: 'ending the other sessions', fault: { table: 'gatehouse_sessions', on: 'DELETE' } },
      ] satisfies { what: string; fault: Fault }[]) {
        it(`that fails writing ${fault.what} keeps the code unused and the other devices signed in; the same code then works`, async () => {
          const { email, userId, codes, other } = await withCodes(faults.length + Math.floor(Math.random() * 1e6));
          await fail(fault.fault);
          const res = await recover(email, codes[0]!);
          expect(res.status).toBe(503);
          expect(res.headers.getSetCookie()).toEqual([]);
          // Before the fix: the code was burnt (9 left) and every session had ended, and the
          // retry with the same code was a 401 that counted against the account's budget.
          expect(await unused(userId)).toBe(10);
          expect(await sessionOk(other)).toBe(200);
          expect(await eventsOf(userId, 'recovery.code_used')).toBe(0);

          await heal();
          const retry = await recover(email, codes[0]!);
          expect(retry.status).toBe(200);
          expect(await unused(userId)).toBe(9);
          expect(await sessionOk(other)).toBe(401);
          const [used] = await (await store()).listEvents({ limit: 1, userId, type: 'recovery.code_used' });
          expect(used?.data).toEqual({ sessionsEnded: 2, codesLeft: 9 });
        });
      }

      it('with a used code writes nothing and ends no session (401, the one failure answer)', async () => {
        const { email, userId, codes, other } = await withCodes(999_001);
        expect((await recover(email, codes[1]!)).status).toBe(200);
        const again = await recover(email, codes[1]!);
        expect(again.status).toBe(401);
        expect((await again.json()) as unknown).toMatchObject({ error: { code: 'RECOVERY_FAILED' } });
        expect(await unused(userId)).toBe(9);
        expect(await eventsOf(userId, 'recovery.failed')).toBe(1);
        expect(await sessionOk(other)).toBe(401);
      });
    });

    it('RATE-04: forty ceremonies asked at once from one client stay within the pending bound (passkeys and providers)', async () => {
      const { url, drop: dropIt } = await db.url();
      const bounded = await getTestInstance({ databaseUrl: url, passkeys: { maxPendingPerIp: 5 } });
      try {
        const answers = await Promise.all(Array.from({ length: 40 }, () => bounded.request('/auth/passkeys/login/options', { method: 'POST', body: '{}', ip: '198.51.100.77' })));
        const pending = await bounded.database.kysely.selectFrom('gatehouse_challenges').select('id').where('ip', '=', '198.51.100.77').execute();
        // Before the fix, PostgreSQL kept 13 rows: each request counted before the others committed.
        expect(pending).toHaveLength(5);
        expect(answers.filter((r) => r.status === 200)).toHaveLength(5);
        expect(answers.filter((r) => r.status === 429)).toHaveLength(35);
      } finally {
        await bounded.close();
        await dropIt();
      }
    });

    it('JWT mode: a key rotation whose superseding fails leaves the keys as they were and no event; the retry rotates', async () => {
      const { url, drop: dropIt } = await db.url();
      const jwt = await getJwtInstance({ databaseUrl: url });
      const keys = () => jwt.database.kysely.selectFrom('gatehouse_signing_keys').select(['kid', 'superseded_at', 'retires_at']).orderBy('created_at').execute();
      const rotations = async () => (await (await jwt.auth.storage()).listEvents({ limit: 10, type: 'signing_key.rotated' })).length;
      try {
        await jwt.auth.jwt!.ready();
        const before = await keys();
        expect(before).toHaveLength(1);
        await fail({ table: 'gatehouse_signing_keys', on: 'UPDATE' }, jwt);
        await expect(jwt.auth.jwt!.rotateKeys()).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
        // Before the fix: a second key signing, the first still verifying with no end date, no event.
        expect(await keys()).toEqual(before);
        expect(await rotations()).toBe(0);
        await heal(jwt);
        const { superseded } = await jwt.auth.jwt!.rotateKeys();
        expect(superseded).toEqual([before[0]!.kid]);
        expect(await rotations()).toBe(1);
      } finally {
        await jwt.close();
        await dropIt();
      }
    });

    it('JWT mode: a recovery sign-in whose revocations cannot be written changes nothing; the retry refuses the other devices\' access tokens at once', async () => {
      const { url, drop: dropIt } = await db.url();
      const jwt = await getJwtInstance({ databaseUrl: url });
      try {
        const email = `jwt-recover-${db.name}@example.com`;
        const owner = await jwtSignIn(jwt, email);
        const { codes } = (await (await jwt.request('/auth/recovery-codes', { method: 'POST', cookie: owner.cookie })).json()) as { codes: string[] };
        const thief = await jwtSignIn(jwt, email);
        const status = async (cookie: string) => (await jwt.request('/auth/session', { cookie })).status;
        await fail({ table: 'gatehouse_revocations', on: 'INSERT' }, jwt);
        const res = await jwt.request('/auth/recovery/sign-in', { method: 'POST', body: JSON.stringify({ email, code: codes[0] }), ip: '198.51.100.90' });
        // Before: 503, yet the code was burnt, the sessions deleted, and the thief's token still worked.
        expect(res.status).toBe(503);
        expect(await (await jwt.auth.storage()).countRecoveryCodes(owner.userId)).toBe(10);
        expect(await status(thief.cookie)).toBe(200);
        await heal(jwt);
        expect((await jwt.request('/auth/recovery/sign-in', { method: 'POST', body: JSON.stringify({ email, code: codes[0] }), ip: '198.51.100.91' })).status).toBe(200);
        expect(await status(thief.cookie)).toBe(401);
      } finally {
        await jwt.close();
        await dropIt();
      }
    });

    it.runIf(db.dialect === 'postgres')('JWT mode: a refresh that reads the role while a demotion commits never signs the old role', async () => {
      const { url, drop: dropIt } = await db.url();
      const jwt = await getJwtInstance({ databaseUrl: url, now: () => Date.now() });
      try {
        const victim = await jwtSignIn(jwt, 'demoted@example.com', 'admin');
        // Widens the window between the revocation's time (inside the transaction) and the commit.
        await sql.raw(`CREATE FUNCTION gh_slow() RETURNS trigger AS $$ BEGIN PERFORM pg_sleep(0.5); RETURN NEW; END; $$ LANGUAGE plpgsql`).execute(jwt.database.kysely);
        await sql.raw(`CREATE TRIGGER gh_slow BEFORE INSERT ON gatehouse_revocations FOR EACH ROW EXECUTE FUNCTION gh_slow()`).execute(jwt.database.kysely);
        const demotion = jwt.auth.users.setRole(victim.userId, 'member', { userId: null, role: null });
        await new Promise((r) => setTimeout(r, 200));
        const refreshed = await refresh(jwt, victim.refresh);
        await demotion;
        await sql.raw(`DROP FUNCTION gh_slow() CASCADE`).execute(jwt.database.kysely);
        const token = cookiesOf(refreshed.headers).values[ACCESS];
        if (token !== undefined) {
          // Before: this token said "admin" and the admin API answered 200 for 15 minutes.
          expect((await jwt.request('/auth/admin/users', { cookie: `${ACCESS}=${token}` })).status).not.toBe(200);
        }
      } finally {
        await jwt.close();
        await dropIt();
      }
    });

    it('two admins demoting each other at once: one wins, the other is refused, an admin always remains', async () => {
      for (let round = 0; round < 8; round++) {
        const a = await t.signIn(`race-a-${db.name}-${round}@example.com`, { role: 'admin' });
        const b = await t.signIn(`race-b-${db.name}-${round}@example.com`, { role: 'admin' });
        const [ab, ba] = await Promise.all([patchUser(a.cookie, b.userId, { role: 'member' }), patchUser(b.cookie, a.userId, { role: 'member' })]);
        // Before the fix both answered 200 in 10 of 10 runs, leaving no admin.
        expect([ab.status, ba.status].sort()).toEqual([200, 403]);
        const roles = await Promise.all([a.userId, b.userId].map(async (id) => (await (await store()).findUserById(id))?.role));
        expect(roles.sort()).toEqual(['admin', 'member']);
      }
    });

    it('two admins disabling each other at once: one account stays enabled', async () => {
      for (let round = 0; round < 8; round++) {
        const a = await t.signIn(`dis-a-${db.name}-${round}@example.com`, { role: 'admin' });
        const b = await t.signIn(`dis-b-${db.name}-${round}@example.com`, { role: 'admin' });
        const results = await Promise.all([patchUser(a.cookie, b.userId, { disabled: true }), patchUser(b.cookie, a.userId, { disabled: true })]);
        expect(results.map((r) => r.status).sort()).toEqual([200, 403]);
        const disabled = await Promise.all([a.userId, b.userId].map(async (id) => (await (await store()).findUserById(id))?.disabled));
        expect(disabled.filter(Boolean)).toHaveLength(1);
      }
    });
  });
}
