import Link from 'next/link';
import { getSession } from '../lib/auth';

export default async function Home() {
  const session = await getSession();
  return (
    <>
      <h1>Gatehouse + Next.js</h1>
      {session ? (
        <p>
          Welcome back, {session.user.name}. Go to your <Link href="/dashboard">dashboard</Link> or your{' '}
          <Link href="/account">account</Link>.
        </p>
      ) : (
        <p>
          <Link className="button" href="/sign-up">Sign up with a passkey</Link>{' '}
          <Link className="button" href="/sign-in">Sign in</Link>
        </p>
      )}
    </>
  );
}
