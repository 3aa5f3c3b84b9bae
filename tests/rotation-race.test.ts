import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashRecoveryCode } from '../src/passkeys/recovery-codes.js';
import { getTestInstance, type TestInstance } from './helpers.js';
import { getJwtInstance, jwtSignIn } from './jwt-helpers.js';
import { freshPostgres, hasPostgres } from './services.js';

/**
 * SESS-04 rotation when a credential changes, sent twice at once (a double click) or failing
 * halfway. New recovery codes are the sharpest case: the codes shown must be the codes that work,
 * and the user must end with exactly one working session.
 */
const databases = [
  { name: 'SQLite', enabled: true, open: async () => ({ url: 'sqlite::memory:', drop: async () => {} }) },
  { name: 'PostgreSQL', enabled: hasPostgres, open: freshPostgres },
];

for (const db of databases) {
  for (const mode of ['database', 'jwt'] as const) {
    describe.runIf(db.enabled)(`POST /auth/recovery-codes sent twice at once (${db.name}, ${mode} sessions)`, () => {
      let t: TestInstance;
      let drop: () => Promise<void>;
      beforeAll(async () => {
        const opened = await db.open();
        drop = opened.drop;
        t = mode === 'jwt' ? await getJwtInstance({ databaseUrl: opened.url }) : await getTestInstance({ databaseUrl: opened.url });
      });
      afterAll(async () => {
        await t?.close();
        await drop?.();
      });

      const signIn = async (email: string) => (mode === 'jwt' ? jwtSignIn(t, email) : t.signIn(email));
      const validCodes = async (userId: string) =>
        (await t.database.kysely.selectFrom('gatehouse_recovery_codes').select('code_hash').where('user_id', '=', userId).where('used_at', 'is', null).execute()).map((r) => r.code_hash).sort();
      const liveSessions = async (userId: string) => (await t.database.kysely.selectFrom('gatehouse_sessions').select('id').where('user_id', '=', userId).execute()).length;

      it('one answer gets the codes and the new session; the other is a 401 that changed nothing', async () => {
        for (let trial = 0; trial < 10; trial++) {
          const { cookie, userId } = await signIn(`double-${mode}-${trial}@example.com`);
          const post = () => t.request('/auth/recovery-codes', { method: 'POST', cookie });
          const answers = await Promise.all([post(), post()]);
          const statuses = answers.map((a) => a.status).sort();
          expect(statuses, `trial ${trial}`).toEqual([201, 401]);
          const winner = answers.find((a) => a.status === 201)!;
          const { codes } = (await winner.json()) as { codes: string[] };
          // The codes shown are exactly the codes that work: no hidden set replaced them, and no
          // second set works alongside them.
          expect(await validCodes(userId), `trial ${trial}`).toEqual(codes.map((code) => hashRecoveryCode(userId, code)).sort());
          expect(await liveSessions(userId), `trial ${trial}`).toBe(1);
          // The loser's answer carries no cookie that would replace the winner's.
          const loser = answers.find((a) => a.status === 401)!;
          expect(loser.headers.getSetCookie()).toEqual([]);
        }
      });
    });
  }
}

describe('a rotation that fails halfway', () => {
  let t: TestInstance;
  beforeAll(async () => {
    t = await getTestInstance();
  });
  afterAll(async () => t?.close());

  it('leaves the old session working and the old codes valid', async () => {
    const { cookie, userId } = await t.signIn('halfway@example.com');
    const first = await t.request('/auth/recovery-codes', { method: 'POST', cookie });
    expect(first.status).toBe(201);
    const current = first.headers.getSetCookie()[0]!.split(';')[0]!;
    // Recorded as a session created by rotation, naming the session it replaced.
    const oldId = cookie.slice(cookie.indexOf('=') + 1).split('.')[0]!;
    const events = await (await t.auth.storage()).listEvents({ userId, type: 'session.created', limit: 1 });
    expect(events[0]?.data).toEqual({ method: 'rotation', replaced: oldId });
    const before = (await t.database.kysely.selectFrom('gatehouse_recovery_codes').select('code_hash').where('user_id', '=', userId).execute()).map((r) => r.code_hash).sort();
    // The database fails once, when the new session is written.
    const store = await t.auth.storage();
    const original = store.createSessionWithEvent.bind(store);
    let failures = 1;
    store.createSessionWithEvent = async (...args) => {
      if (failures-- > 0) throw new Error('database went away');
      return original(...args);
    };
    try {
      const failed = await t.request('/auth/recovery-codes', { method: 'POST', cookie: current });
      expect(failed.status).toBeGreaterThanOrEqual(500);
    } finally {
      store.createSessionWithEvent = original;
    }
    expect((await t.request('/auth/session', { cookie: current })).status).toBe(200);
    const after = (await t.database.kysely.selectFrom('gatehouse_recovery_codes').select('code_hash').where('user_id', '=', userId).execute()).map((r) => r.code_hash).sort();
    expect(after).toEqual(before);
  });
});
