import { createGatehouse, openDatabase, type Gatehouse, type GatehouseOptions } from '../src/index.js';
import { defineAuthz, gatehousePermissions as P } from '../src/authz/index.js';
import type { Database } from '../src/storage/database.js';

export const ORIGIN = 'http://localhost:3000';

export const testAuthz = defineAuthz({
  roles: ['member', 'editor', 'admin', 'owner'],
  permissions: {
    member: ['posts:read'],
    editor: ['posts:read', 'posts:write'],
    admin: ['posts:read', 'posts:write', 'posts:delete', P.usersRead, P.usersManage, P.sessionsRevoke, P.eventsRead],
    owner: ['posts:read', 'posts:write', 'posts:delete', P.usersRead, P.usersManage, P.sessionsRevoke, P.eventsRead],
  },
});

export interface TestInstance {
  auth: Gatehouse;
  database: Database;
  clock: { now: number; advance(ms: number): void };
  /** Creates a user (if needed) and a session; returns the Cookie header value that carries it. */
  signIn(email: string, options?: { role?: string; ip?: string }): Promise<{ cookie: string; userId: string; setCookie: string }>;
  /** Sends a request to the handler as a same-origin browser would. */
  request(path: string, init?: RequestInit & { cookie?: string; ip?: string; browser?: boolean }): Promise<Response>;
  close(): Promise<void>;
}

/** A real Gatehouse on a real database (in-memory SQLite unless a URL is given), in one line. */
export async function getTestInstance(
  overrides: Partial<GatehouseOptions> & { databaseUrl?: string } = {},
): Promise<TestInstance> {
  const database = await openDatabase(overrides.databaseUrl ?? 'sqlite::memory:');
  const clock = {
    now: Date.now(),
    advance(ms: number) {
      this.now += ms;
    },
  };
  const { databaseUrl: _ignored, ...rest } = overrides;
  const auth = createGatehouse({
    database,
    origin: ORIGIN,
    authz: testAuthz,
    now: () => clock.now,
    logger: { warn: () => {}, error: () => {} },
    ...rest,
  });
  await auth.migrate();

  const request: TestInstance['request'] = (path, init = {}) => {
    const headers = new Headers(init.headers);
    if (init.cookie !== undefined) headers.set('cookie', init.cookie);
    if (init.browser !== false && !headers.has('sec-fetch-site')) headers.set('sec-fetch-site', 'same-origin');
    if (init.body !== undefined && !headers.has('content-type')) headers.set('content-type', 'application/json');
    return auth.handler(new Request(`${ORIGIN}${path}`, { ...init, headers }), { ip: init.ip ?? '203.0.113.10' });
  };

  return {
    auth,
    database,
    clock,
    async signIn(email, options = {}) {
      const store = await auth.storage();
      const existing = await store.findUserByEmail(email);
      const user = existing ?? (await auth.users.create({ email, name: email.split('@')[0], role: options.role }));
      const { headers } = await auth.createSession(user.id, new Request(`${ORIGIN}/sign-in`, { method: 'POST' }), {
        method: 'test',
        context: { ip: options.ip ?? '203.0.113.10' },
      });
      const setCookie = headers.get('set-cookie') ?? '';
      return { cookie: setCookie.split(';')[0]!, userId: user.id, setCookie };
    },
    request,
    async close() {
      await auth.close();
      await database.close();
    },
  };
}
