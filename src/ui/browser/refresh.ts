import { refreshSession } from 'gatehouse/client';
import { api, page } from './dom.js';

/**
 * JWT mode: the page was asked for with an expired access cookie. The refresh cookie travels
 * only to the refresh endpoint, so the browser refreshes here and reloads; when that fails the
 * session is over and the sign-in page comes back here after.
 */
const status = document.querySelector('[role=status]');
refreshSession(api).then(
  (ok) => {
    if (ok) location.reload();
    else location.replace(`${page.basePath}/sign-in?next=${encodeURIComponent(location.pathname + location.search)}`);
  },
  () => {
    if (status !== null) status.textContent = 'Could not reach the server. Reload the page to try again.';
  },
);
