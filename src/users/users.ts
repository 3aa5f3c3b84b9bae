import { randomToken } from '../lib/crypto.js';
import { DISPLAY_TEXT_RULE, isPlainEmailText, normalizeDisplayText } from '../lib/text.js';
import type { AuditEntry, AuditLog } from '../audit/audit-log.js';
import type { ResolvedConfig } from '../config/resolve.js';
import { BadRequestError, ConflictError, ForbiddenError, NotFoundError } from '../errors.js';
import type { Storage, UserChangePlan, UserChangeResult, UserRecord } from '../storage/contract.js';

/**
 * Who performs an administrative change. `role: null` is the operator (CLI, app code):
 * trusted, not bound by the role order. A signed-in admin is bound by it.
 */
export interface Actor {
  userId: string | null;
  role: string | null;
  ip?: string | null;
  userAgent?: string | null;
  /**
   * The permission the action needs (the route checked it on the session): checked again on the
   * actor's row in the change's transaction, so a role lost meanwhile is noticed.
   */
  permission?: string;
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

  /**
   * Who may do this, checked on the rows read in the change's transaction: the target exists,
   * and a signed-in actor still exists, is not disabled, still holds the permission the action
   * needs, and outranks (or equals) the target. Two admins demoting each other at once: the
   * second finds its actor already demoted and is refused, so an admin always remains.
   */
  function checkAuthority(target: UserRecord | null, actorRow: UserRecord | null, actor: Actor): UserRecord {
    if (target === null) throw new NotFoundError('No such user.');
    if (actor.role === null) return target;
    if (actorRow === null || actorRow.disabled) throw new ForbiddenError('Your account can no longer make this change.');
    if (actor.permission !== undefined && !authz.can(actorRow.role, actor.permission)) {
      throw new ForbiddenError('Your role no longer allows this change.');
    }
    if (!authz.canManage(actorRow.role, target.role)) throw new ForbiddenError('You cannot manage an account with a higher role than yours.');
    return target;
  }

  function notSelf(userId: string, actor: Actor, what: string): void {
    if (actor.userId === userId) throw new ConflictError('CANNOT_CHANGE_SELF', `You cannot ${what} your own account; ask another admin.`);
  }

  const eventBase = (actor: Actor, userId: string) => ({ userId, actorId: actor.userId, ip: actor.ip ?? null, userAgent: actor.userAgent ?? null });

  /** One administrative change, decided on the locked rows and written in one transaction. */
  async function change(userId: string, actor: Actor, decide: (target: UserRecord, actorRow: UserRecord | null) => UserChangePlan | null): Promise<UserChangeResult> {
    const store = await storage();
    const events: AuditEntry[] = [];
    const result = await store.changeUser({
      userId,
      actorId: actor.role === null ? null : actor.userId,
      now: config.now(),
      decide: (target, actorRow) => {
        const plan = decide(checkAuthority(target, actorRow, actor), actorRow);
        if (plan === null) return null;
        return {
          ...plan,
          events: (ended) => {
            events.push(...(plan.events(ended) as AuditEntry[]));
            return events;
          },
        };
      },
    });
    if (result.changed) for (const event of events) audit.recorded(event);
    return result;
  }

  return {
    async create(input, actor = SYSTEM_ACTOR) {
      const email = input.email.trim();
      if (!EMAIL.test(email) || !isPlainEmailText(email)) throw new BadRequestError('VALIDATION_FAILED', 'email: enter an address like name@example.com');
      const name = checkName(input.name ?? '');
      const role = input.role ?? authz.defaultRole;
      if (!authz.isRole(role)) throw new BadRequestError('VALIDATION_FAILED', `role: "${role}" is not one of ${authz.roles.join(', ')}`);
      const store = await storage();
      const id = randomToken(16);
      // The account and its `user.created` event in one transaction: never one without the other.
      const event = audit.entry('user.created', { ...eventBase(actor, id), data: { role } });
      const user = await store.createUser({ id, email, name, role, now: config.now() }, event);
      audit.recorded(event);
      return user;
    },

    async setRole(userId, role, actor) {
      if (!authz.isRole(role)) throw new BadRequestError('VALIDATION_FAILED', `role: "${role}" is not one of ${authz.roles.join(', ')}`);
      notSelf(userId, actor, 'change the role of');
      const { user } = await change(userId, actor, (target, actorRow) => {
        if (actorRow !== null && !authz.canAssign(actorRow.role, role)) throw new ForbiddenError('You cannot grant a role higher than your own.');
        if (target.role === role) return null;
        // Raising privileges ends the sessions: the new rights attach only to a fresh sign-in (SESS-04).
        const elevated = authz.rank(role) > authz.rank(target.role);
        return {
          patch: { role },
          endSessions: elevated,
          events: (ended) => [audit.entry('user.role_changed', { ...eventBase(actor, userId), data: { from: target.role, to: role, sessionsEnded: ended } })],
        };
      });
      return user;
    },

    async setDisabled(userId, disabled, actor) {
      notSelf(userId, actor, disabled ? 'disable' : 'enable');
      const { user } = await change(userId, actor, (target) => {
        if (target.disabled === disabled) return null;
        return {
          patch: { disabled },
          endSessions: disabled,
          events: (ended) => [audit.entry(disabled ? 'user.disabled' : 'user.enabled', { ...eventBase(actor, userId), data: { sessionsEnded: ended } })],
        };
      });
      return user;
    },

    async revokeSessions(userId, actor) {
      const { endedSessions } = await change(userId, actor, () => ({
        patch: {},
        endSessions: true,
        events: (ended) => [audit.entry('session.revoked', { ...eventBase(actor, userId), data: { scope: 'all', by: actor.userId === null ? 'operator' : 'admin', count: ended } })],
      }));
      return endedSessions.length;
    },

    async setName(userId, input, actor) {
      const name = checkName(input);
      // Your own name is yours to change; someone else's needs the rank to manage them.
      const self = actor.userId === userId;
      const { user } = await change(userId, self ? { ...actor, role: null, permission: undefined } : actor, (target) => {
        if (target.name === name) return null;
        return { patch: { name }, endSessions: false, events: () => [audit.entry('user.profile_updated', { ...eventBase(actor, userId), data: { fields: ['name'] } })] };
      });
      return user;
    },
  };
}
