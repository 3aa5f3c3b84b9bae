import type { ReactNode } from 'react';
import Link from 'next/link';
import { getSession } from '../lib/auth';
import { SignOutButton } from './sign-out-button';

export const metadata = { title: 'Gatehouse + Next.js' };

const style = `
  body { font: 16px/1.5 system-ui, sans-serif; margin: 0; color: #1a1a1a; }
  nav { display: flex; gap: 1rem; align-items: center; padding: .75rem 1.5rem; border-bottom: 1px solid #ddd; }
  nav .who { margin-left: auto; color: #555; }
  main { max-width: 44rem; padding: 1.5rem; }
  button, .button { font: inherit; padding: .4rem .9rem; border: 1px solid #888; border-radius: 6px; background: #f4f4f4; cursor: pointer; color: inherit; text-decoration: none; }
  input, textarea { font: inherit; padding: .35rem; width: 100%; box-sizing: border-box; }
  label { display: block; margin: .5rem 0; }
  [role=alert] { color: #a00; } [role=status] { color: #060; }
  table { border-collapse: collapse; } td, th { padding: .25rem .75rem .25rem 0; text-align: left; }
`;

export default async function RootLayout({ children }: { children: ReactNode }) {
  const session = await getSession();
  return (
    <html lang="en">
      <head>
        <style>{style}</style>
      </head>
      <body>
        <nav>
          <Link href="/">Home</Link>
          <Link href="/dashboard">Dashboard</Link>
          <Link href="/account">Account</Link>
          <span className="who">{session ? `Signed in as ${session.user.email}` : 'Not signed in'}</span>
          {session ? <SignOutButton /> : <Link href="/sign-in">Sign in</Link>}
        </nav>
        <main>{children}</main>
      </body>
    </html>
  );
}
