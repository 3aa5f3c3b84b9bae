import { randomToken } from '../lib/crypto.js';
import { DISPLAY_TEXT_RULE, isPlainEmailText, normalizeDisplayText } from '../lib/text.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { ResolvedConfig } from '../config/resolve.js';
import { BadRequestError, ConflictError, ForbiddenError, NotFoundError } from '../errors.js';
import type { Storage, UserRecord } from '../storage/contract.js';

/**
 * Who performs an administrative change. `role: null` is the operator (CLI, app code):
 * trusted, not bound by the role order. A signed-in admin is bound by it.
 */
export interface Actor {
  userId: string | null;
  role: string | null;
  ip?: string | null;
  userAgent?: string | null;
}

export const SYSTEM_ACTOR: Actor = { userId: null, role: null };

export interface NewUserInput {
  email: string;
  name?: string;
  role?: string;
}

export interface Users {
  create(input: NewUserInput, actor?: Actor): Promise<UserRecord>;
  /**
   * Changes a role. Raising privileges also ends the user's sessions, so the new rights
   * only ever attach to a freshly issued token (SESS-04); lowering them takes effect on the
   * very next request through the session lookup (SESS-09).
   */
  setRole(userId: string, role: string, actor: Actor): Promise<UserRecord>;
  /** Disabling ends every session of the user at once (SESS-09). */
  setDisabled(userId: string, disabled: boolean, actor: Actor): Promise<UserRecord>;
  /** Ends every session of a user (an admin or the operator); returns how many ended. */
  revokeSessions(userId: string, actor: Actor): Promise<number>;
  /** Changes the display name (at most 100 characters, trimmed): the user themself, an admin or the operator. */
  setName(userId: string, name: string, actor: Actor): Promise<UserRecord>;
}

const EMAIL = /^[^\s@\p{Cc}]{1,64}@[^\s@\p{Cc}]{1,255}$/u;
/** Display names: the sign-up form's and the provider sign-in's cap too. */
const MAX_NAME = 100;

/**
 * A display name, trimmed. The same cap as sign-up and provider sign-in: the name travels in
 * JWT mode's access token, and a cookie over 4096 bytes would be dropped by the browser (COOK-06).
 */
function checkName(input: string): string {
  const name = normalizeDisplayText(input);
  if (name === null) throw new BadRequestError('VALIDATION_FAILED', `name: ${DISPLAY_TEXT_RULE}`);
  if (name.length > MAX_NAME) throw new BadRequestError('VALIDATION_FAILED', `name: at most ${MAX_NAME} characters`);
  return name;
}

export function createUsers(storage: () => Promise<Storage>, config: ResolvedConfig, audit: AuditLog): Users {
  const { authz } = config;

  async function target(store: Storage, userId: string, actor: Actor): Promise<UserRecord> {
    const user = await store.findUserById(userId);
    if (user === null) throw new NotFoundError('No such user.');
    if (actor.role !== null && !authz.canManage(actor.role, user.role)) {
      throw new ForbiddenError('You cannot manage an account with a higher role than yours.');
    }
    return user;
  }

  function notSelf(userId: string, actor: Actor, what: string): void {
    if (actor.userId === userId) throw new ConflictError('CANNOT_CHANGE_SELF', `You cannot ${what} your own account; ask another admin.`);
  }

  const eventBase = (actor: Actor, userId: string) => ({ userId, actorId: actor.userId, ip: actor.ip ?? null, userAgent: actor.userAgent ?? null });

  return {
    async create(input, actor = SYSTEM_ACTOR) {
      const email = input.email.trim();
      if (!EMAIL.test(email) || !isPlainEmailText(email)) throw new BadRequestError('VALIDATION_FAILED', 'email: enter an address like name@example.com');
      const name = checkName(input.name ?? '');
      const role = input.role ?? authz.defaultRole;
      if (!authz.isRole(role)) throw new BadRequestError('VALIDATION_FAILED', `role: "${role}" is not one of ${authz.roles.join(', ')}`);
      const store = await storage();
      const user = await store.createUser({ id: randomToken(16), email, name, role, now: config.now() });
      await audit.record('user.created', { ...eventBase(actor, user.id), data: { role } });
      return user;
    },

    async setRole(userId, role, actor) {
      if (!authz.isRole(role)) throw new BadRequestError('VALIDATION_FAILED', `role: "${role}" is not one of ${authz.roles.join(', ')}`);
      const store = await storage();
      const user = await target(store, userId, actor);
      notSelf(userId, actor, 'change the role of');
      if (actor.role !== null && !authz.canAssign(actor.role, role)) {
        throw new ForbiddenError('You cannot grant a role higher than your own.');
      }
      if (user.role === role) return user;
      const updated = await store.updateUser(userId, { role }, config.now());
      if (updated === null) throw new NotFoundError('No such user.');
      const elevated = authz.rank(role) > authz.rank(user.role);
      const ended = elevated ? await store.deleteUserSessions(userId) : [];
      await audit.record('user.role_changed', { ...eventBase(actor, userId), data: { from: user.role, to: role, sessionsEnded: ended.length } });
      return updated;
    },

    async setDisabled(userId, disabled, actor) {
      const store = await storage();
      const user = await target(store, userId, actor);
      notSelf(userId, actor, disabled ? 'disable' : 'enable');
      if (user.disabled === disabled) return user;
      const updated = await store.updateUser(userId, { disabled }, config.now());
      if (updated === null) throw new NotFoundError('No such user.');
      const ended = disabled ? await store.deleteUserSessions(userId) : [];
      await audit.record(disabled ? 'user.disabled' : 'user.enabled', { ...eventBase(actor, userId), data: { sessionsEnded: ended.length } });
      return updated;
    },

    async revokeSessions(userId, actor) {
      const store = await storage();
      await target(store, userId, actor);
      const ended = await store.deleteUserSessions(userId);
      await audit.record('session.revoked', { ...eventBase(actor, userId), data: { scope: 'all', by: actor.userId === null ? 'operator' : 'admin', count: ended.length } });
      return ended.length;
    },

    async setName(userId, input, actor) {
      const name = checkName(input);
      const store = await storage();
      // Your own name is yours to change; someone else's needs the rank to manage them.
      const user = actor.userId === userId ? await store.findUserById(userId) : await target(store, userId, actor);
      if (user === null) throw new NotFoundError('No such user.');
      if (user.name === name) return user;
      const updated = await store.updateUser(userId, { name }, config.now());
      if (updated === null) throw new NotFoundError('No such user.');
      await audit.record('user.profile_updated', { ...eventBase(actor, userId), data: { fields: ['name'] } });
      return updated;
    },
  };
}
