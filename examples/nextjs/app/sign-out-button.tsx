'use client';
import { useRouter } from 'next/navigation';
import { signOut } from 'gatehouse/client';

export function SignOutButton() {
  const router = useRouter();
  return (
    <button
      type="button"
      data-action="sign-out"
      onClick={async () => {
        await signOut(); // POST /auth/sign-out: ends the session and clears the cookie
        router.push('/');
        router.refresh();
      }}
    >
      Sign out
    </button>
  );
}
