import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Provider } from 'oidc-provider';
import type { DevIdpUser } from './users.js';

/**
 * The dev IdP's one interaction: "choose a test user". oidc-provider sends the browser to
 * /interaction/<uid> (the `interactions.url` option); the page lists the test users as plain
 * POST forms, no script. Choosing one finishes the login prompt; Cancel finishes the
 * interaction with access_denied, which the relying party receives as `error=access_denied`.
 */
export const INTERACTION_PREFIX = '/interaction/';

const STYLE = [
  'body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1d2330}',
  'main{max-width:28rem;margin:4rem auto;padding:2rem;background:#fff;border-radius:12px;box-shadow:0 1px 3px #0002}',
  'h1{font-size:1.25rem;margin:0 0 .25rem}p{margin:0 0 1.5rem;color:#5b6475}',
  'form{margin:0 0 .75rem}button{width:100%;padding:.75rem 1rem;font:inherit;text-align:left;border:1px solid #cdd2dc;border-radius:8px;background:#fff;cursor:pointer}',
  'button:hover,button:focus-visible{border-color:#3b63d8;outline:none;background:#f0f4ff}',
  '.cancel button{text-align:center;color:#a12b2b;border-color:#e5c1c1}.cancel{margin-top:1.5rem}',
  '.tag{font-size:.8rem;color:#8a5a00}',
].join('');

// CSP: no script at all; the one inline style block is allowed by its hash.
const CSP = [
  "default-src 'none'",
  `style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`,
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

const BODY_LIMIT = 4096;

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function send(res: ServerResponse, status: number, html: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Content-Security-Policy', CSP);
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.end(html);
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

export function renderChooser(uid: string, clientId: string, users: readonly DevIdpUser[]): string {
  const base = `${INTERACTION_PREFIX}${encodeURIComponent(uid)}`;
  const buttons = users.map(
    (u) => `<form method="post" action="${base}/login">
<input type="hidden" name="sub" value="${escapeHtml(u.sub)}">
<button type="submit">Continue as ${escapeHtml(u.name)} &lt;${escapeHtml(u.email)}&gt;${u.emailVerified ? '' : ' <span class="tag">(email not verified)</span>'}</button>
</form>`,
  );
  return page(
    'Dev IdP — choose a test user',
    `<h1>Dev IdP — choose a test user</h1>
<p>Signing in to <strong>${escapeHtml(clientId)}</strong>. This is a local test identity provider: no passwords.</p>
${buttons.join('\n')}
<form class="cancel" method="post" action="${base}/cancel">
<button type="submit">Cancel (deny consent)</button>
</form>`,
  );
}

export function renderError(title: string, message: string): string {
  return page(`Dev IdP — ${title}`, `<h1>${escapeHtml(title)}</h1>\n<p>${escapeHtml(message)}</p>`);
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > BODY_LIMIT) throw new InteractionError(413, 'The form is too large.');
    chunks.push(buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

class InteractionError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** oidc-provider's errors carry `error_description`; fall back to the message. */
function describe(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'error_description' in error && typeof error.error_description === 'string') {
    return error.error_description;
  }
  return error instanceof Error ? error.message : String(error);
}

/**
 * Handles GET /interaction/<uid>, POST /interaction/<uid>/login and POST
 * /interaction/<uid>/cancel. The interaction cookie oidc-provider set (path
 * /interaction/<uid>, SameSite=Lax) identifies the pending sign-in.
 */
export async function handleInteraction(provider: Provider, users: readonly DevIdpUser[], req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  try {
    const [uid = '', action, ...extra] = path.slice(INTERACTION_PREFIX.length).split('/').map(decodeURIComponent);
    if (uid === '' || extra.length > 0) throw new InteractionError(404, 'No such page.');
    const details = await provider.interactionDetails(req, res);
    if (details.uid !== uid) throw new InteractionError(400, 'This sign-in page does not belong to the pending sign-in. Start the sign-in again.');
    if (details.prompt.name !== 'login') {
      // Consent is granted automatically (loadExistingGrant), so only the login prompt gets here.
      throw new InteractionError(500, `The dev IdP has no page for the "${details.prompt.name}" prompt.`);
    }

    if (req.method === 'GET' && action === undefined) {
      const clientId = typeof details.params.client_id === 'string' ? details.params.client_id : 'the application';
      send(res, 200, renderChooser(uid, clientId, users));
      return;
    }
    if (req.method === 'POST' && action === 'login') {
      const sub = (await readForm(req)).get('sub');
      const user = users.find((u) => u.sub === sub);
      if (user === undefined) throw new InteractionError(400, 'Unknown test user.');
      await provider.interactionFinished(req, res, { login: { accountId: user.sub } }, { mergeWithLastSubmission: false });
      return;
    }
    if (req.method === 'POST' && action === 'cancel') {
      await readForm(req);
      await provider.interactionFinished(
        req,
        res,
        { error: 'access_denied', error_description: 'The user cancelled the sign-in at the dev IdP.' },
        { mergeWithLastSubmission: false },
      );
      return;
    }
    throw new InteractionError(405, 'Use the buttons on the sign-in page.');
  } catch (error) {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const status = error instanceof InteractionError ? error.status : 400;
    send(res, status, renderError('Sign-in failed', `${describe(error)} Start the sign-in again from the application.`));
  }
}
