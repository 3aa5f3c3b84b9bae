// The whole Gatehouse HTTP API (/auth/session, /auth/passkeys/..., /auth/oauth/..., ...).
import { routeHandlers } from 'gatehouse/next';
import { auth } from '../../../lib/auth';

export const { GET, POST, PATCH, DELETE } = routeHandlers(auth);
