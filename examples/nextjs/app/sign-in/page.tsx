import { redirect } from 'next/navigation';
import { oauthErrorMessage, safeReturnPath } from 'gatehouse';
import { getSession } from '../../lib/auth';
import { PasskeySignIn } from './passkey-sign-in';

export default async function SignInPage({ searchParams }: { searchParams: Promise<{ next?: string; error?: string }> }) {
  const { next, error } = await searchParams;
  // Only a same-origin path survives (REDIR-01): ?next=https://evil.example becomes /dashboard.
  const returnTo = safeReturnPath(next, '/dashboard');
  if (await getSession()) redirect(returnTo);
  const message = oauthErrorMessage(error);
  return (
    <>
      <h1>Sign in</h1>
      {message && <p role="alert">{message}</p>}
      <PasskeySignIn returnTo={returnTo} />
      <p>or</p>
      {/* A full navigation (not <Link>): the browser goes to the provider and comes back with a cookie. */}
      <a className="button" data-provider="dev" href={`/auth/oauth/dev?returnTo=${encodeURIComponent(returnTo)}`}>
        Sign in with Dev IdP
      </a>
    </>
  );
}
