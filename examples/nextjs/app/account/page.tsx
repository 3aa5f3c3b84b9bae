import { redirect } from 'next/navigation';
import { auth, getSession } from '../../lib/auth';
import { AddPasskeyButton } from './add-passkey-button';

const when = (ms: number | null) => (ms === null ? 'never' : new Date(ms).toLocaleString('en-GB', { timeZone: 'UTC' }) + ' UTC');

export default async function AccountPage({ searchParams }: { searchParams: Promise<{ welcome?: string }> }) {
  const session = await getSession();
  if (!session) redirect('/sign-in?next=/account');
  const { welcome } = await searchParams;
  const store = await auth.storage();
  const [passkeys, sessions, identities] = await Promise.all([
    store.listPasskeys(session.user.id),
    store.listUserSessions(session.user.id),
    store.listIdentities(session.user.id),
  ]);
  return (
    <>
      <h1>Account</h1>
      {welcome === '1' && <p role="status">Your account is ready.</p>}
      <p>
        <strong id="account-name">{session.user.name}</strong> &lt;{session.user.email}&gt;, role {session.user.role}. Signed in with{' '}
        {session.session.amr.join(', ')}.
      </p>
      <h2>Passkeys</h2>
      <table id="passkeys">
        <tbody>
          {passkeys.map((p) => (
            <tr key={p.id}>
              <td>{p.name}</td>
              <td>added {when(p.createdAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {passkeys.length === 0 && <p>No passkey yet.</p>}
      <AddPasskeyButton />
      <h2>Linked providers</h2>
      <ul id="linked">
        {identities.map((i) => (
          <li key={i.id}>
            {i.provider}: {i.email ?? i.subject}
          </li>
        ))}
      </ul>
      {identities.length === 0 && <p>No provider is linked.</p>}
      <h2>Signed-in devices</h2>
      <ul id="sessions">
        {sessions.map((s) => (
          <li key={s.id}>
            {s.userAgent ?? 'unknown device'}, since {when(s.createdAt)} {s.id === session.session.id && <strong>(this device)</strong>}
          </li>
        ))}
      </ul>
    </>
  );
}
