import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqlStorage, migrate, openDatabase, type Database, type RefreshTokenRecord, type Storage } from '../src/index.js';
import { randomToken } from '../src/lib/crypto.js';
import { freshPostgres, hasPostgres } from './services.js';

/**
 * The JWT part of the storage contract, on SQLite and PostgreSQL, with two connections
 * racing like two instances: exactly one rotation wins, revocations round-trip.
 */
const drivers = [
  {
    name: 'sqlite',
    enabled: true,
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'gatehouse-jwt-storage-'));
      const url = `sqlite:${join(dir, 'db.sqlite')}`;
      const a = await openDatabase(url);
      await migrate(a);
      const b = await openDatabase(url);
      return { a, b, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
    },
  },
  {
    name: 'postgres',
    enabled: hasPostgres,
    async open() {
      const pg = await freshPostgres();
      const a = await openDatabase(pg.url);
      await migrate(a);
      const b = await openDatabase(pg.url);
      return { a, b, cleanup: pg.drop };
    },
  },
];

for (const driver of drivers) {
  describe.runIf(driver.enabled)(`JWT storage on ${driver.name}`, () => {
    let a: Database;
    let b: Database;
    let sa: Storage;
    let sb: Storage;
    let cleanup: () => Promise<void>;
    let userId: string;
    beforeAll(async () => {
      ({ a, b, cleanup } = await driver.open());
      sa = createSqlStorage(a);
      sb = createSqlStorage(b);
      userId = (await sa.createUser({ id: randomToken(16), email: 'jwt@example.com', name: '', role: 'member', now: Date.now() })).id;
    });
    afterAll(async () => {
      await a.close();
      await b.close();
      await cleanup();
    });

    async function family(): Promise<{ familyId: string; first: RefreshTokenRecord }> {
      const now = Date.now();
      const familyId = randomToken(16);
      await sa.insertSession({ id: familyId, userId, secretHash: 'x', createdAt: now, lastSeenAt: now, expiresAt: now + 60_000, absoluteExpiresAt: now + 60_000, authTime: now, amr: [], ip: null, userAgent: null });
      const first: RefreshTokenRecord = { id: randomToken(16), familyId, parentId: null, userId, secretHash: 'h0', createdAt: now, expiresAt: now + 60_000, rotatedAt: null };
      await sa.insertRefreshToken(first);
      return { familyId, first };
    }

    it('signing keys: newest first, supersede marks the others, retired keys are not listed', async () => {
      const now = Date.now();
      const key = (kid: string, createdAt: number) => ({ kid, alg: 'EdDSA', publicJwk: '{}', privateJwe: 'jwe', createdAt, supersededAt: null, retiresAt: null });
      await sa.insertSigningKey(key('k1', now - 10));
      await sa.insertSigningKey(key('k2', now));
      expect((await sb.listSigningKeys(now)).map((k) => k.kid)).toEqual(['k2', 'k1']);
      expect(await sb.supersedeSigningKeys('k2', now, now + 1000)).toEqual(['k1']);
      expect(await sa.supersedeSigningKeys('k2', now, now + 1000)).toEqual([]);
      const listed = await sa.listSigningKeys(now);
      expect(listed.find((k) => k.kid === 'k1')).toMatchObject({ supersededAt: now, retiresAt: now + 1000 });
      expect((await sa.listSigningKeys(now + 1000)).map((k) => k.kid)).toEqual(['k2']);
    });

    it('two rotations at once on two instances leave a key to sign with (each supersedes only older keys)', async () => {
      const now = Date.now() + 10_000;
      const key = (kid: string, createdAt: number) => ({ kid, alg: 'EdDSA', publicJwk: '{}', privateJwe: 'jwe', createdAt, supersededAt: null, retiresAt: null });
      await sa.insertSigningKey(key('old', now - 100));
      // Both new keys are inserted before either rotation supersedes: the race that left none.
      await sa.insertSigningKey(key('new-a', now));
      await sb.insertSigningKey(key('new-b', now + 1));
      await Promise.all([sb.supersedeSigningKeys('new-b', now + 1, now + 1000), sa.supersedeSigningKeys('new-a', now, now + 1000)]);
      const active = (await sa.listSigningKeys(now + 2)).filter((k) => k.supersededAt === null).map((k) => k.kid);
      expect(active).toEqual(['new-b']);
      // The same millisecond: the kid breaks the tie, as it does for the signer.
      await sa.insertSigningKey(key('same-a', now + 5));
      await sb.insertSigningKey(key('same-b', now + 5));
      await Promise.all([sa.supersedeSigningKeys('same-a', now + 5, now + 1000), sb.supersedeSigningKeys('same-b', now + 5, now + 1000)]);
      expect((await sa.listSigningKeys(now + 6)).filter((k) => k.supersededAt === null).map((k) => k.kid)).toEqual(['same-b']);
    });

    it('refresh tokens round-trip every field', async () => {
      const { first } = await family();
      expect(await sb.findRefreshToken(first.id)).toEqual(first);
      expect(await sb.findRefreshToken('nope')).toBeNull();
    });

    it('rotation: 20 racing rotations over two connections, exactly one wins and one child exists', async () => {
      const { familyId, first } = await family();
      const now = Date.now();
      const child: RefreshTokenRecord = { id: randomToken(16), familyId, parentId: first.id, userId, secretHash: 'h1', createdAt: now, expiresAt: first.expiresAt, rotatedAt: null };
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? sa : sb).rotateRefreshToken(first.id, child, now)));
      expect(results.filter((r) => r === 'rotated')).toHaveLength(1);
      expect(results.filter((r) => r === 'taken')).toHaveLength(19);
      const rows = await a.kysely.selectFrom('gatehouse_refresh_tokens').selectAll().where('family_id', '=', familyId).execute();
      expect(rows).toHaveLength(2);
      expect(Number(rows.find((r) => r.id === first.id)!.rotated_at)).toBe(now);
      // A second, different child for the same parent is impossible (unique parent_id).
      expect(await sa.rotateRefreshToken(first.id, { ...child, id: randomToken(16) }, now)).toBe('taken');
    });

    it('a session ended after it was read: rotating its token gives "ended" and stores nothing; its first token is refused (revoke-all racing a refresh or a sign-in)', async () => {
      const { familyId, first } = await family();
      const now = Date.now();
      const child: RefreshTokenRecord = { id: randomToken(16), familyId, parentId: first.id, userId, secretHash: 'h1', createdAt: now, expiresAt: first.expiresAt, rotatedAt: null };
      expect(await sb.deleteSession(familyId)).toBe(true);
      expect(await sa.rotateRefreshToken(first.id, child, now)).toBe('ended');
      expect(await sa.insertRefreshToken({ ...first, id: randomToken(16) })).toBe(false);
      expect(await a.kysely.selectFrom('gatehouse_refresh_tokens').select('id').where('family_id', '=', familyId).execute()).toHaveLength(0);
    });

    it('ending the session deletes its whole refresh family (cascade)', async () => {
      const { familyId } = await family();
      expect(await sa.deleteSession(familyId)).toBe(true);
      expect(await a.kysely.selectFrom('gatehouse_refresh_tokens').select('id').where('family_id', '=', familyId).execute()).toHaveLength(0);
    });

    it('revocations: listed while in force, latest user "not before", expired ones deleted', async () => {
      const now = Date.now();
      await sa.insertRevocation({ id: randomToken(9), kind: 'session', subject: 's1', at: now, expiresAt: now + 1000 });
      await sa.insertRevocation({ id: randomToken(9), kind: 'user', subject: 'u1', at: now - 5, expiresAt: now + 1000 });
      await sa.insertRevocation({ id: randomToken(9), kind: 'user', subject: 'u1', at: now, expiresAt: now + 2000 });
      await sa.insertRevocation({ id: randomToken(9), kind: 'user', subject: 'u2', at: now, expiresAt: now - 1 });
      const listed = await sb.listRevocations(now);
      // u1's newer "not before" replaced the older row: one row per user, however many changes.
      expect(listed.map((r) => `${r.kind}:${r.subject}`).sort()).toEqual(['session:s1', 'user:u1']);
      for (let i = 1; i <= 20; i++) await sa.insertRevocation({ id: randomToken(9), kind: 'user', subject: 'u3', at: now + i, expiresAt: now + 2000 + i });
      expect((await sb.listRevocations(now)).filter((r) => r.subject === 'u3')).toEqual([expect.objectContaining({ at: now + 20, expiresAt: now + 2020 })]);
      expect(await sb.findUserRevokedAt('u1', now)).toBe(now);
      expect(await sb.findUserRevokedAt('u2', now)).toBeNull();
      expect(await sb.findUserRevokedAt('nobody', now)).toBeNull();
      expect(await sa.deleteExpiredRevocations(now + 1500)).toBe(2);
      expect((await sb.listRevocations(now)).map((r) => r.subject).sort()).toEqual(['u1', 'u3']);
    });
  });
}
