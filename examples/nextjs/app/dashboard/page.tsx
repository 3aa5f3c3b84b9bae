import { redirect } from 'next/navigation';
import { getSession, authz } from '../../lib/auth';
import { listNotes } from '../../lib/notes';
import { NoteForm } from './note-form';

// A protected server component: the session is checked in the database on every request
// (proxy.ts only redirects visitors without a cookie).
export default async function DashboardPage() {
  const session = await getSession();
  if (!session) redirect('/sign-in?next=/dashboard');
  const { user } = session;
  const canRead = authz.can(user.role, 'notes:read');
  return (
    <>
      <h1>Dashboard</h1>
      <p>
        Hello {user.name}. Your role is <strong data-role>{user.role}</strong>.
      </p>
      <h2>Publish a note</h2>
      <p>Needs the <code>notes:write</code> permission (editors and admins).</p>
      <NoteForm />
      <h2>Notes</h2>
      {canRead ? (
        <ul id="notes">
          {listNotes().map((note) => (
            <li key={note.id}>
              {note.text} <small>by {note.author}</small>
            </li>
          ))}
        </ul>
      ) : (
        <p>Your role cannot read notes.</p>
      )}
    </>
  );
}
