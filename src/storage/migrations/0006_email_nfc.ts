import { sql, type Kysely } from 'kysely';

interface Users {
  gatehouse_users: { id: string; email: string; email_normalized: string };
}

/**
 * Emails are compared in Unicode NFC: "josé" typed as one code point and as "e" + a combining
 * accent were two accounts that look the same. Rewrites the stored forms that are not NFC, in
 * pages of 1000 by id. Where two accounts would collide (made before this, one of each form),
 * both rows stay as they are and the operator decides (they show side by side in `users list`).
 * Never edit: add a new migration.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const users = db as unknown as Kysely<Users>;
  let after = '';
  for (;;) {
    const page = await users.selectFrom('gatehouse_users').select(['id', 'email', 'email_normalized']).where('id', '>', after).orderBy('id').limit(1000).execute();
    if (page.length === 0) return;
    after = page.at(-1)!.id;
    for (const row of page) {
      const normalized = row.email_normalized.normalize('NFC');
      if (normalized === row.email_normalized) continue;
      const clash = await users.selectFrom('gatehouse_users').select(sql<number>`1`.as('one')).where('email_normalized', '=', normalized).executeTakeFirst();
      if (clash !== undefined) continue;
      await users.updateTable('gatehouse_users').set({ email: row.email.normalize('NFC'), email_normalized: normalized }).where('id', '=', row.id).execute();
    }
  }
}
