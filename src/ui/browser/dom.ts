import { GatehouseClientError } from 'gatehouse/client';

/**
 * DOM helpers shared by the built-in pages' scripts. They run in the browser, served as is from
 * `<base>/assets/ui/` (compiled by tsc, no bundler), importing gatehouse/client through the
 * page's import map.
 */

/** What the page tells its scripts, from `<body data-*>`. */
export const page = {
  basePath: document.body.dataset.base ?? '/auth',
  afterSignIn: document.body.dataset.afterSignIn ?? '/',
  afterSignOut: document.body.dataset.afterSignOut ?? '/',
};

/** Options for every gatehouse/client call. */
export const api = { basePath: page.basePath };

/** The one element matching `selector`, of the expected class; throws when the page lacks it. */
export function find<T extends Element>(selector: string, type: abstract new () => T, root: ParentNode = document): T {
  const el = root.querySelector(selector);
  if (!(el instanceof type)) throw new Error(`gatehouse ui: ${selector} is missing`);
  return el;
}

/** The live region (role=status) of the card, form or header around `el`. */
export function statusNear(el: Element): HTMLElement {
  const region = el.closest('.card, form, nav')?.querySelector('[role=status]');
  if (!(region instanceof HTMLElement)) throw new Error('gatehouse ui: no status region');
  return region;
}

type Kind = 'error' | 'ok' | 'info';

export function say(region: HTMLElement, kind: Kind, ...parts: (string | Node)[]): void {
  region.dataset.kind = kind;
  region.replaceChildren(...parts);
}

/** "45 seconds", "about 15 minutes" (the same words as the server-rendered 429 page). */
function waitText(seconds: number): string {
  if (seconds < 90) return `${seconds} second${seconds === 1 ? '' : 's'}`;
  return `about ${Math.ceil(seconds / 60)} minutes`;
}

function signInAgainLink(): HTMLAnchorElement {
  const link = document.createElement('a');
  link.href = `${page.basePath}/sign-in?next=${encodeURIComponent(location.pathname + location.search)}`;
  link.textContent = 'Sign in again';
  return link;
}

/** Shows an error in the live region: the server's message, plus what the user can do about it. */
export function showError(region: HTMLElement, error: unknown): void {
  if (!(error instanceof GatehouseClientError)) {
    console.error(error);
    say(region, 'error', 'Something went wrong on this page. Reload it and try again.');
    return;
  }
  const parts: (string | Node)[] = [error.message];
  if (error.status === 429) parts.push(error.retryAfterSeconds === undefined ? ' Wait a minute and try again.' : ` Wait time: ${waitText(error.retryAfterSeconds)}.`);
  // SESS-10: sensitive changes need a recent sign-in; a signed-out page needs a sign-in at all.
  if (error.code === 'REAUTHENTICATION_REQUIRED' || error.code === 'UNAUTHENTICATED') parts.push(' ', signInAgainLink(), '.');
  say(region, 'error', ...parts);
}

export function isCode(error: unknown, ...codes: string[]): boolean {
  return error instanceof GatehouseClientError && codes.includes(error.code);
}

/** Disables the button while `run` works, so a double click cannot start two ceremonies. */
export async function busy(button: HTMLButtonElement | HTMLSelectElement, run: () => Promise<void>): Promise<void> {
  if (button.disabled) return;
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  try {
    await run();
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
  }
}

/**
 * Wires a page form (`data-form="name"`): browser validation first, then `run` with the form
 * and its status region while the submit button shows busy.
 */
export function onFormSubmit(name: string, run: (form: HTMLFormElement, status: HTMLElement) => Promise<void>): void {
  const form = find(`form[data-form="${name}"]`, HTMLFormElement);
  const button = find('button[type="submit"]', HTMLButtonElement, form);
  const status = find('[role=status]', HTMLElement, form);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (!form.reportValidity()) return;
    void busy(button, () => run(form, status));
  });
}

/** Where a form goes next (`data-next`, checked by the server to be a path on this site). */
export function nextOf(form: HTMLFormElement): string {
  const next = form.dataset.next ?? '';
  return /^\/(?![/\\])/.test(next) ? next : page.afterSignIn;
}

const FLASH = 'gatehouse-flash';

/** A message to show after the reload that follows a change ("Passkey added."). */
export function setFlash(section: string, text: string): void {
  sessionStorage.setItem(FLASH, JSON.stringify({ section, text }));
}

export function showFlash(): void {
  const raw = sessionStorage.getItem(FLASH);
  if (raw === null) return;
  sessionStorage.removeItem(FLASH);
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return;
  }
  if (typeof value !== 'object' || value === null || !('section' in value) || !('text' in value)) return;
  const { section, text } = value;
  const region = typeof section === 'string' ? document.querySelector(`#${CSS.escape(section)} [role=status]`) : null;
  if (region instanceof HTMLElement && typeof text === 'string') say(region, 'ok', text);
}
