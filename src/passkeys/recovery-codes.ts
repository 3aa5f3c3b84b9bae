import { randomInt } from 'node:crypto';
import { sha256 } from '../lib/crypto.js';

/**
 * Recovery codes: 10 one-time codes of 10 characters from a 32-letter alphabet without
 * look-alikes (50 bits each), shown once and stored as SHA-256 hashes. Guessing is
 * bounded by the per-account and per-client limits on recovery sign-in, not by the code
 * length alone.
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

export function hashRecoveryCode(code: string): string {
  return sha256(`gatehouse-recovery:${normalizeRecoveryCode(code)}`);
}
