/**
 * Display text people type (a name, a passkey's label) or an identity provider sends: shown on
 * the account and admin pages, in the audit log and in JWT claims. What it may not hold:
 * - C0 and C1 control characters, NUL included: PostgreSQL refuses NUL in text (the write would
 *   fail as a 503), and a newline or a bell has no place in a name;
 * - the bidirectional controls that reorder what is shown after them (U+202E makes "nimda" read
 *   "admin"), and the implicit direction marks;
 * - lone surrogates (not a character at all; browsers show U+FFFD).
 */
const FORBIDDEN = /[\p{Cc}\p{Cs}\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/u;
const FORBIDDEN_ALL = new RegExp(FORBIDDEN.source, 'gu');

export const DISPLAY_TEXT_RULE = 'may not contain control characters or bidirectional-text controls';

/** The text as stored (NFC, trimmed), or null when it holds a character it may not (see above). */
export function normalizeDisplayText(input: string): string | null {
  if (FORBIDDEN.test(input)) return null;
  return input.normalize('NFC').trim();
}

/** For text from elsewhere (an identity provider): the characters it may not hold are dropped, not refused; at most `max` characters. */
export function cleanDisplayText(input: string, max: number): string {
  let out = '';
  // Whole characters only: a surrogate pair is never cut in half.
  for (const character of input.replace(FORBIDDEN_ALL, '').normalize('NFC').trim()) {
    if (out.length + character.length > max) break;
    out += character;
  }
  return out.trim();
}
