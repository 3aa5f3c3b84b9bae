// The app's roles, in one place: lib/auth.ts imports them, and the `gatehouse` CLI reads this
// file when run from this folder (`npx gatehouse users set-role --email ... --role editor`).
import { defineAuthz, gatehousePermissions as P } from 'gatehouse/authz';

export const authz = defineAuthz({
  roles: ['member', 'editor', 'admin'], // least to most privileged; new accounts are members
  permissions: {
    member: ['notes:read'],
    editor: ['notes:read', 'notes:write'],
    admin: ['notes:read', 'notes:write', P.usersRead, P.usersManage, P.sessionsRevoke, P.eventsRead],
  },
});

export default { authz, databaseUrl: process.env.DATABASE_URL ?? 'sqlite:./data/app.db' };
