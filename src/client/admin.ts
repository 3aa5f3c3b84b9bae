import { badResponse, callApi, isRecord, type ClientOptions } from './http.js';

/**
 * The admin endpoints, for an admin console. Each needs the matching `gatehouse:*` permission
 * and a recent sign-in; the server decides, these helpers only call it.
 */
export interface AdminUserOptions extends ClientOptions {
  id: string;
}

export interface UpdateUserOptions extends AdminUserOptions {
  role?: string;
  disabled?: boolean;
}

const userPath = (id: string) => `/admin/users/${encodeURIComponent(id)}`;

/** Changes a user's role and/or disables or enables the account (disabling ends its sessions). */
export async function updateUser(options: UpdateUserOptions): Promise<void> {
  const body: Record<string, unknown> = {};
  if (options.role !== undefined) body.role = options.role;
  if (options.disabled !== undefined) body.disabled = options.disabled;
  await callApi('PATCH', userPath(options.id), { basePath: options.basePath, signal: options.signal, body });
}

/** Ends every session of a user; returns how many ended. */
export async function revokeUserSessions(options: AdminUserOptions): Promise<number> {
  const body = await callApi('POST', `${userPath(options.id)}/revoke-sessions`, { basePath: options.basePath, signal: options.signal });
  if (!isRecord(body) || typeof body.revoked !== 'number') throw badResponse('revoke-sessions');
  return body.revoked;
}
