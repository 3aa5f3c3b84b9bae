/** Test helpers for apps that use Gatehouse: a software passkey authenticator (coming with passkeys). */
export {};
