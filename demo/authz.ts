import { defineAuthz, gatehousePermissions as P } from 'gatehouse/authz';

/**
 * The demo's roles, least to most privileged. Authorization lives here, apart from
 * sign-in: swapping passkeys for OAuth never touches this table.
 */
export const demoAuthz = defineAuthz({
  roles: ['member', 'editor', 'admin'],
  permissions: {
    member: ['posts:read'],
    editor: ['posts:read', 'posts:write'],
    admin: ['posts:read', 'posts:write', 'posts:delete', P.usersRead, P.usersManage, P.sessionsRevoke, P.eventsRead],
  },
});
