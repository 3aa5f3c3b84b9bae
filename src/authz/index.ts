/**
 * Authorization: roles -> permissions, deny by default.
 *
 * This module answers "what may this role do?" and nothing else. It imports nothing
 * from authentication code (sessions, cookies, HTTP): switching sign-in methods or
 * session strategies never touches it. `tests/authz.test.ts` and the lint
 * config enforce that boundary.
 */

/** Permissions Gatehouse's own admin endpoints check. Grant them to the roles that administer users. */
export const gatehousePermissions = {
  usersRead: 'gatehouse:users.read',
  usersManage: 'gatehouse:users.manage',
  sessionsRevoke: 'gatehouse:sessions.revoke',
  eventsRead: 'gatehouse:events.read',
} as const;

export type GatehousePermission = (typeof gatehousePermissions)[keyof typeof gatehousePermissions];

export interface AuthzDefinition<R extends string, P extends string> {
  /** Every role, from the least to the most privileged. Order decides who may assign which role. */
  roles: readonly R[];
  /** What each role may do. A permission not listed for a role is denied. */
  permissions: { readonly [K in R]: readonly P[] };
  /** Role given to new accounts; defaults to the first (least privileged) role. */
  defaultRole?: R;
}

export interface Authz<R extends string = string, P extends string = string> {
  readonly roles: readonly R[];
  readonly defaultRole: R;
  /** True only when `role` is defined and lists `permission`. Unknown role or permission: false. */
  can(role: string, permission: string): boolean;
  isRole(value: string): value is R;
  /** True when at least one role lists `value`: a permission nobody has is a typo, or a guard that refuses everyone. */
  isPermission(value: string): value is P;
  /** Position in the role order, or -1 for an unknown role. */
  rank(role: string): number;
  /** An actor may assign a role no higher than their own, and only known roles. */
  canAssign(actorRole: string, targetRole: string): boolean;
  /** An actor may manage an account whose role is not higher than their own. */
  canManage(actorRole: string, subjectRole: string): boolean;
  permissionsOf(role: string): readonly P[];
}

export class AuthzDefinitionError extends Error {
  constructor(message: string) {
    super(`Gatehouse authorization: ${message}`);
    this.name = 'AuthzDefinitionError';
  }
}

/** Validates a role/permission table at startup and returns the checks built on it. */
export function defineAuthz<const R extends string, const P extends string>(definition: AuthzDefinition<R, P>): Authz<R, P> {
  const roles = [...definition.roles];
  if (roles.length === 0) throw new AuthzDefinitionError('define at least one role.');
  const seen = new Set<string>();
  for (const role of roles) {
    if (!/^[a-z][a-z0-9_-]{0,31}$/.test(role)) {
      throw new AuthzDefinitionError(`role "${role}" must be 1-32 lower-case letters, digits, "_" or "-", starting with a letter.`);
    }
    if (seen.has(role)) throw new AuthzDefinitionError(`role "${role}" is listed twice.`);
    seen.add(role);
  }
  // Null-prototype maps: "__proto__", "constructor" and friends are never roles or permissions.
  const table = new Map<string, ReadonlySet<string>>();
  for (const role of roles) {
    const granted: unknown = Object.hasOwn(definition.permissions, role) ? definition.permissions[role] : undefined;
    if (!Array.isArray(granted)) throw new AuthzDefinitionError(`role "${role}" has no permission list; use [] for none.`);
    table.set(role, new Set(granted.filter((p): p is string => typeof p === 'string')));
  }
  for (const key of Object.keys(definition.permissions)) {
    if (!seen.has(key)) throw new AuthzDefinitionError(`permissions are given for "${key}", which is not in roles.`);
  }
  const defaultRole = definition.defaultRole ?? roles[0]!;
  if (!seen.has(defaultRole)) throw new AuthzDefinitionError(`defaultRole "${defaultRole}" is not in roles.`);

  const rank = (role: string): number => roles.indexOf(role as R);
  // Every permission some role has, once (requirePermission asks on every call).
  const granted = new Set([...table.values()].flatMap((set) => [...set]));

  return {
    roles,
    defaultRole,
    can: (role, permission) => table.get(role)?.has(permission) === true,
    isRole: (value): value is R => table.has(value),
    isPermission: (value): value is P => granted.has(value),
    rank,
    canAssign: (actorRole, targetRole) => rank(actorRole) >= 0 && rank(targetRole) >= 0 && rank(targetRole) <= rank(actorRole),
    canManage: (actorRole, subjectRole) => rank(actorRole) >= 0 && rank(subjectRole) <= rank(actorRole),
    permissionsOf: (role) => [...(table.get(role) ?? [])] as P[],
  };
}

/**
 * True when no role lists `permission`: almost always a typo ("posts:wrte"), and a guard on it
 * refuses everyone, admins included. False for an Authz object without `isPermission` (one not
 * made by defineAuthz, or by an older copy of it): nothing can be said then.
 */
export function unknownPermission(authz: Authz, permission: string): boolean {
  return typeof authz.isPermission === 'function' && !authz.isPermission(permission);
}

export function unknownPermissionWarning(permission: string): string {
  return `requirePermission("${permission}"): no role in your defineAuthz() table has this permission, so the guard refuses everyone. Check the spelling, or add it to a role.`;
}

/** The table used when an app defines none: members have no admin rights, admins have all of Gatehouse's. */
export const defaultAuthz: Authz<'member' | 'admin', GatehousePermission> = defineAuthz({
  roles: ['member', 'admin'],
  permissions: {
    member: [],
    admin: Object.values(gatehousePermissions),
  },
});
