/** Test helpers for apps that use Gatehouse: a software passkey authenticator. */
export {
  createSoftwareAuthenticator,
  type AuthenticationTamper,
  type CeremonyTamper,
  type RegistrationTamper,
  type SoftwareAuthenticator,
  type SoftwareAuthenticatorOptions,
  type StoredCredential,
} from './authenticator.js';
