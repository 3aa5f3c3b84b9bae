import { AuthError, ServiceUnavailableError } from '../errors.js';

export function isUniqueViolation(error: unknown): boolean {
  if (typeof error !== 'object' || error === null || !('code' in error)) return false;
  const code = (error as { code: unknown }).code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505';
}

/**
 * A row names a parent row that is gone. For a refresh token that is its family's session:
 * ended (deleted, with the family by cascade) between the caller's read and its write.
 */
export function isForeignKeyViolation(error: unknown): boolean {
  if (typeof error !== 'object' || error === null || !('code' in error)) return false;
  const code = (error as { code: unknown }).code;
  return code === 'SQLITE_CONSTRAINT_FOREIGNKEY' || code === '23503';
}

/**
 * A Gatehouse table is missing: the database was never migrated (or is another database than
 * the one that was). The cause the operator reads in the log (and the CLI prints) says so,
 * instead of only "no such table"; the client still gets the plain 503.
 */
export class NotMigratedError extends Error {}

function explained(error: unknown): unknown {
  if (typeof error !== 'object' || error === null) return error;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof message !== 'string' || !/gatehouse_/.test(message)) return error;
  const missing = (code === 'SQLITE_ERROR' && message.startsWith('no such table')) || code === '42P01';
  if (!missing) return error;
  return new NotMigratedError(`${message}: this database is not migrated (or not fully, after an upgrade). Run \`npx gatehouse migrate\` against it, or call \`await auth.migrate()\` at startup.`, { cause: error });
}

/** Rejection handler form of `guard`, for promise chains on the hot path. */
export function unavailable(error: unknown): never {
  if (error instanceof AuthError) throw error;
  throw new ServiceUnavailableError(undefined, { cause: explained(error) });
}

/** Database failures become 503s: a broken database never authenticates anyone (ERR-02). */
export async function guard<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (error instanceof AuthError) throw error;
    throw new ServiceUnavailableError(undefined, { cause: explained(error) });
  }
}

