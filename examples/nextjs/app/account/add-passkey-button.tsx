'use client';
import { useState } from 'react';
import { useRouter } from 'next/navigation';
import { addPasskey, GatehouseClientError } from 'gatehouse/client';

export function AddPasskeyButton() {
  const router = useRouter();
  const [message, setMessage] = useState('');
  return (
    <p>
      <button
        type="button"
        data-action="add-passkey"
        onClick={async () => {
          setMessage('');
          try {
            await addPasskey();
            setMessage('Passkey added.');
            router.refresh();
          } catch (caught) {
            if (caught instanceof GatehouseClientError && caught.code === 'CANCELLED') return;
            // REAUTHENTICATION_REQUIRED: adding a passkey needs a recent sign-in.
            setMessage(caught instanceof Error ? caught.message : 'Could not add a passkey.');
          }
        }}
      >
        Add a passkey
      </button>{' '}
      <span role="status">{message}</span>
    </p>
  );
}
