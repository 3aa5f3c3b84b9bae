import { sql, type Kysely } from 'kysely';
import type { Database } from 'gatehouse';

export interface Post {
  id: number;
  authorId: string;
  title: string;
  body: string;
  createdAt: number;
}

interface PostsTable {
  id: number;
  author_id: string;
  title: string;
  body: string;
  created_at: number;
}

/** The demo's own data: a tiny posts board in the same database as Gatehouse. */
export function createPostsStore(database: Database) {
  const db = database.kysely as unknown as Kysely<{ demo_posts: PostsTable }>;
  return {
    async migrate(): Promise<void> {
      const id = database.dialect === 'postgres' ? sql`bigserial primary key` : sql`integer primary key autoincrement`;
      const time = database.dialect === 'postgres' ? sql`bigint` : sql`integer`;
      const create = sql`create table if not exists demo_posts (
        id ${id}, author_id text not null, title text not null, body text not null, created_at ${time} not null
      )`;
      if (database.dialect !== 'postgres') {
        await create.execute(db);
        return;
      }
      // "create table if not exists" is not safe when two instances start at once on
      // PostgreSQL (a duplicate pg_type row): serialize it with an advisory lock.
      await db.transaction().execute(async (trx) => {
        await sql`select pg_advisory_xact_lock(hashtext('gatehouse_demo_posts'))`.execute(trx);
        await create.execute(trx);
      });
    },
    async list(): Promise<Post[]> {
      const rows = await db.selectFrom('demo_posts').selectAll().orderBy('id', 'desc').limit(100).execute();
      return rows.map((r) => ({ id: Number(r.id), authorId: r.author_id, title: r.title, body: r.body, createdAt: Number(r.created_at) }));
    },
    async create(authorId: string, title: string, body: string): Promise<Post> {
      const createdAt = Date.now();
      const row = await db
        .insertInto('demo_posts')
        .values({ author_id: authorId, title, body, created_at: createdAt } as PostsTable)
        .returning('id')
        .executeTakeFirstOrThrow();
      return { id: Number(row.id), authorId, title, body, createdAt };
    },
    async remove(id: number): Promise<boolean> {
      const result = await db.deleteFrom('demo_posts').where('id', '=', id).executeTakeFirst();
      return Number(result.numDeletedRows) === 1;
    },
  };
}

export type PostsStore = ReturnType<typeof createPostsStore>;
