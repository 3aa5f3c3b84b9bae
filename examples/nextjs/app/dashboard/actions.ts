'use server';
import { revalidatePath } from 'next/cache';
import { AuthError } from 'gatehouse';
import { requirePermission, verifyOrigin } from '../../lib/auth';
import { addNote } from '../../lib/notes';

export interface NoteState {
  ok: boolean;
  code?: string;
  message: string;
}

/** A server action guarded by a permission: 401 signed out, 403 without notes:write. */
export async function publishNote(_previous: NoteState | null, form: FormData): Promise<NoteState> {
  try {
    await verifyOrigin(); // the request must come from our configured origin
    const { user } = await requirePermission('notes:write');
    const text = String(form.get('text') ?? '').trim();
    if (text.length === 0 || text.length > 280) return { ok: false, code: 'VALIDATION_FAILED', message: 'Write 1 to 280 characters.' };
    addNote(user.email, text);
    revalidatePath('/dashboard');
    return { ok: true, message: 'Published.' };
  } catch (error) {
    // AuthError carries a stable code: FORBIDDEN, UNAUTHENTICATED, CSRF_REFUSED, ...
    if (error instanceof AuthError) {
      const message = error.code === 'FORBIDDEN' ? 'Your role cannot publish notes (it needs notes:write).' : error.message;
      return { ok: false, code: error.code, message };
    }
    throw error;
  }
}
