/**
 * Content digests as OCI writes them: `sha256:<64 lowercase hex>`.
 * Spec: https://github.com/opencontainers/image-spec/blob/v1.1.0/descriptor.md#digests
 */
import { sha256Hex } from '../common/index.js';
import type { Digest } from './types.js';

const digestPattern = /^sha256:[0-9a-f]{64}$/;

export function sha256Digest(bytes: Uint8Array | string): Digest {
  return `sha256:${sha256Hex(bytes)}`;
}

/** Only sha256 is accepted: herd never writes another algorithm, so any other is suspicious. */
export function isDigest(value: string): value is Digest {
  return digestPattern.test(value);
}

/** The first 12 hex digits, as people and labels name a digest (`herd status`, a fleet's revision). */
export function shortDigest(digest: Digest): string {
  return hexOf(digest).slice(0, 12);
}

/** The hex part of a digest, which names the blob file under `blobs/sha256/`. */
export function hexOf(digest: Digest): string {
  return digest.slice('sha256:'.length);
}
