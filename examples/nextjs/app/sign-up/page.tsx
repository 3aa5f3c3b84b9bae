import { redirect } from 'next/navigation';
import { getSession } from '../../lib/auth';
import { SignUpForm } from './sign-up-form';

export default async function SignUpPage() {
  if (await getSession()) redirect('/account');
  return (
    <>
      <h1>Sign up</h1>
      <p>No password: your device creates a passkey for this site.</p>
      <SignUpForm />
    </>
  );
}
