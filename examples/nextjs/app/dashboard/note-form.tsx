'use client';
import { useActionState } from 'react';
import { publishNote, type NoteState } from './actions';

export function NoteForm() {
  const [state, action, pending] = useActionState<NoteState | null, FormData>(publishNote, null);
  return (
    <form action={action} id="note-form">
      <label>
        Note <input name="text" maxLength={280} required />
      </label>
      <button type="submit" disabled={pending}>
        Publish
      </button>
      {state && (
        <p role={state.ok ? 'status' : 'alert'} data-code={state.code ?? 'OK'}>
          {state.message}
        </p>
      )}
    </form>
  );
}
