import type { Kysely } from 'kysely';

/** Revocations by time: the polling feed reads the newest ones twice a second. Never edit: add a new migration. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('gatehouse_revocations_at').on('gatehouse_revocations').column('at').execute();
}
