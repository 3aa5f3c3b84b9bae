'use client';
import { useState } from 'react';
import { useRouter } from 'next/navigation';
import { GatehouseClientError, signUpWithPasskey } from 'gatehouse/client';

export function SignUpForm() {
  const router = useRouter();
  const [error, setError] = useState('');
  return (
    <form
      onSubmit={async (event) => {
        event.preventDefault();
        const form = new FormData(event.currentTarget);
        setError('');
        try {
          await signUpWithPasskey({ email: String(form.get('email')), name: String(form.get('name')) });
          router.push('/account?welcome=1');
          router.refresh();
        } catch (caught) {
          if (caught instanceof GatehouseClientError && caught.code === 'CANCELLED') return;
          setError(caught instanceof Error ? caught.message : 'Sign-up failed.');
        }
      }}
    >
      <label>
        Email <input id="email" name="email" type="email" autoComplete="username webauthn" required />
      </label>
      <label>
        Name <input id="name" name="name" required maxLength={100} />
      </label>
      <button type="submit">Create account with a passkey</button>
      <p role="alert">{error}</p>
    </form>
  );
}
