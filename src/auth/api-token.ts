/**
 * The token format: `herd_<id>_<secret>`, where id is 12 hex digits (public: `herd token ls` shows
 * it, and the server finds the row by it) and secret is 32 random bytes in base64url. The prefix
 * lets secret scanners and people recognise a leaked one.
 *
 * Only sha256 of the whole token is stored. A slow password hash (scrypt, argon2) exists to make
 * guessing low-entropy passwords expensive; a 256-bit random secret cannot be guessed at any
 * speed, so a fast hash loses nothing and keeps an authenticated request cheap. The stored hash
 * is compared with timingSafeEqual, so the time an answer takes says nothing about how much of a
 * guess was right.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const tokenPattern = /^herd_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

export interface NewToken {
  id: string;
  /** Shown once, to whoever created it; never stored. */
  token: string;
  hash: Buffer;
}

export function newToken(): NewToken {
  const id = randomBytes(6).toString('hex');
  const token = `herd_${id}_${randomBytes(32).toString('base64url')}`;
  return { id, token, hash: hashToken(token) };
}

export function hashToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** The token's id, or undefined when the text is not a herd token at all. */
export function tokenIdOf(presented: string): string | undefined {
  return tokenPattern.exec(presented)?.[1];
}

/** Constant time in the hash's content: both sides are always 32 bytes. */
export function tokenMatches(presented: string, storedHash: Buffer): boolean {
  const hash = hashToken(presented);
  return storedHash.length === hash.length && timingSafeEqual(hash, storedHash);
}
