/**
 * Display text people type (a name, a passkey's label) or an identity provider sends: shown on
 * the account and admin pages, in the audit log and in JWT claims.
 *
 * Refused (the text is not stored):
 * - C0 and C1 control characters, NUL included: PostgreSQL refuses NUL in text (the write would
 *   fail as a 503), and a newline or a bell has no place in a name; the line and paragraph
 *   separators U+2028/U+2029 likewise;
 * - the bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069): U+202E
 *   makes "nimda" read "admin";
 * - lone surrogates (not a character at all; browsers show U+FFFD).
 *
 * Dropped (invisible, common in pasted text, no power to reorder strong text): the direction
 * marks U+200E, U+200F and U+061C, the zero-width space U+200B and the byte-order mark U+FEFF.
 * Zero-width joiners stay: emoji sequences and Persian spelling need them.
 */
const REFUSED = /[\p{Cc}\p{Cs}\u2028\u2029\u202A-\u202E\u2066-\u2069]/u;
const REFUSED_ALL = new RegExp(REFUSED.source, 'gu');
const DROPPED = /[\u200B\u200E\u200F\u061C\uFEFF]/gu;

export const DISPLAY_TEXT_RULE = 'may not contain control characters, line separators or bidirectional-text overrides';

/**
 * An email address as Gatehouse stores one: no controls, separators, format characters (the
 * bidirectional overrides among them: "\u202Emoc.elpmaxe@nimda" reads as admin@example.com) or
 * lone surrogates. Internationalised addresses need none of them.
 */
export function isPlainEmailText(value: string): boolean {
  return !/[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/u.test(value);
}

/** The text as stored (NFC, trimmed), or null when it holds a character it may not (see above). */
export function normalizeDisplayText(input: string): string | null {
  if (REFUSED.test(input)) return null;
  return input.replace(DROPPED, '').normalize('NFC').trim();
}

/** For text from elsewhere (an identity provider): the characters it may not hold are dropped, not refused; at most `max` characters. */
export function cleanDisplayText(input: string, max: number): string {
  let out = '';
  // Whole characters only: a surrogate pair is never cut in half.
  for (const character of input.replace(REFUSED_ALL, '').replace(DROPPED, '').normalize('NFC').trim()) {
    if (out.length + character.length > max) break;
    out += character;
  }
  return out.trim();
}
