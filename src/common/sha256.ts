import { createHash } from 'node:crypto';

/** The sha256 of `data` as 64 lowercase hex digits (a string is hashed as its UTF-8 bytes). */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
