'use client';
import { useState } from 'react';
import { useRouter } from 'next/navigation';
import { GatehouseClientError, signInWithPasskey } from 'gatehouse/client';

export function PasskeySignIn({ returnTo }: { returnTo: string }) {
  const router = useRouter();
  const [error, setError] = useState('');
  return (
    <>
      <button
        type="button"
        data-action="passkey-sign-in"
        onClick={async () => {
          setError('');
          try {
            await signInWithPasskey();
            router.push(returnTo);
            router.refresh();
          } catch (caught) {
            if (caught instanceof GatehouseClientError && caught.code === 'CANCELLED') return;
            setError(caught instanceof Error ? caught.message : 'Sign-in failed.');
          }
        }}
      >
        Sign in with a passkey
      </button>
      <p role="alert">{error}</p>
    </>
  );
}
