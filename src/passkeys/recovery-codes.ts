import { randomInt } from 'node:crypto';
import { sha256 } from '../lib/crypto.js';

/**
 * Recovery codes: 10 one-time codes of 10 characters from a 32-letter alphabet without
 * look-alikes (50 bits each), shown once and stored as SHA-256 hashes salted with the user's id.
 * Guessing online is bounded by the per-account and per-client limits on recovery sign-in. The
 * salt matters offline: unsalted, one guess tested against a leaked table hit any of its codes
 * (100,000 codes made a 50-bit code about a 34-bit search); salted, each code is its own search.
 */
const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
const LENGTH = 10;

export function generateRecoveryCodes(count: number): string[] {
  return Array.from({ length: count }, () => {
    let code = '';
    for (let i = 0; i < LENGTH; i++) code += ALPHABET[randomInt(ALPHABET.length)];
    return `${code.slice(0, 5)}-${code.slice(5)}`;
  });
}

/** Upper-cased, without spaces or dashes: "abcde fghjk" and "ABCDE-FGHJK" are the same code. */
export function normalizeRecoveryCode(code: string): string {
  return code.toUpperCase().replace(/[\s-]/g, '');
}

/** How a code is stored: SHA-256 over the user's id and the normalized code. */
export function hashRecoveryCode(userId: string, code: string): string {
  return sha256(`gatehouse-recovery:v2:${userId}:${normalizeRecoveryCode(code)}`);
}

/**
 * The hashes a presented code may be stored under: the salted one, and the unsalted one that
 * codes generated before the salt was added still have (they work until used or replaced).
 */
export function recoveryCodeHashes(userId: string, code: string): string[] {
  return [hashRecoveryCode(userId, code), sha256(`gatehouse-recovery:${normalizeRecoveryCode(code)}`)];
}
