import { z } from 'zod';
import { ConfigurationError } from '../errors.js';
import { safeReturnPath } from '../oauth/return-path.js';

/** The look of the built-in pages: each token is a CSS custom property (`--gh-<token>`). */
export const THEME_TOKENS = {
  accent: '#2f5bd3',
  accentText: '#ffffff',
  text: '#1d2433',
  muted: '#535b6b',
  background: '#f6f7fb',
  surface: '#ffffff',
  border: '#dde1ea',
  danger: '#b42318',
  success: '#067647',
  focus: '#7d9ae8',
  radius: '10px',
  font: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
} as const;

export type ThemeToken = keyof typeof THEME_TOKENS;

export interface UiLink {
  label: string;
  /** A path on this site, e.g. `/posts`. */
  href: string;
}

/**
 * The built-in pages (sign in, sign up, recovery, account, admin) served by the handler under
 * the base path. On by default; `ui: false` turns them off (the JSON API stays). See docs/ui.md.
 */
export interface UiOptions {
  /** The app's name in the header and page titles. Default: `passkeys.rpName`. */
  appName?: string;
  /** Where the app's name in the header links to. Default `/`. */
  homePath?: string;
  /** Where a sign-in lands when the page was not given `?next=`. Default `<basePath>/account`. */
  afterSignInPath?: string;
  /** Where signing out lands. Default `<basePath>/sign-in`. */
  afterSignOutPath?: string;
  /** Links to the app's own pages, shown in the header before Account and Admin. */
  links?: readonly UiLink[];
  /** Overrides for the CSS custom properties, e.g. `{ accent: '#0a7d4f', radius: '4px' }`. */
  theme?: Partial<Record<ThemeToken, string>>;
  /** A same-origin stylesheet loaded after the built-in one, for anything the tokens do not cover. */
  stylesheet?: string;
}

export interface ResolvedUi {
  appName: string;
  homePath: string;
  afterSignInPath: string;
  afterSignOutPath: string;
  links: readonly UiLink[];
  theme: Record<ThemeToken, string>;
  stylesheet: string | null;
}

const path = z.string().min(1).max(512);
// A theme value lands inside a stylesheet: no way to close the declaration or the rule.
const themeValue = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[^;{}<>\\]*$/, 'must be one CSS value (no ; { } < > or backslash)')
  .refine((v) => !v.includes('/*'), 'must not contain a CSS comment');

export const uiSchema = z.union([
  z.literal(false),
  z
    .object({
      appName: z.string().trim().min(1).max(60).optional(),
      homePath: path.optional(),
      afterSignInPath: path.optional(),
      afterSignOutPath: path.optional(),
      links: z
        .array(z.object({ label: z.string().trim().min(1).max(40), href: path }).strict())
        .max(8)
        .optional(),
      theme: z.partialRecord(z.enum(Object.keys(THEME_TOKENS) as [ThemeToken, ...ThemeToken[]]), themeValue).optional(),
      stylesheet: path.optional(),
    })
    .strict(),
]);

/** A configured path must be a path on this site: the pages redirect and link to it (REDIR-01). */
function sitePath(name: string, value: string | undefined, fallback: string): string {
  if (value === undefined) return fallback;
  const safe = safeReturnPath(value, '');
  if (safe === '') throw new ConfigurationError(`ui.${name} must be a path on this site such as "/dashboard" (got "${value}").`);
  return safe;
}

export function resolveUi(options: UiOptions | false | undefined, basePath: string, rpName: string): ResolvedUi | null {
  if (options === false) return null;
  const o = options ?? {};
  return {
    appName: o.appName ?? rpName,
    homePath: sitePath('homePath', o.homePath, '/'),
    afterSignInPath: sitePath('afterSignInPath', o.afterSignInPath, `${basePath}/account`),
    afterSignOutPath: sitePath('afterSignOutPath', o.afterSignOutPath, `${basePath}/sign-in`),
    links: (o.links ?? []).map((link, i) => ({ label: link.label, href: sitePath(`links[${i}].href`, link.href, '') })),
    theme: { ...THEME_TOKENS, ...o.theme },
    stylesheet: o.stylesheet === undefined ? null : sitePath('stylesheet', o.stylesheet, ''),
  };
}
