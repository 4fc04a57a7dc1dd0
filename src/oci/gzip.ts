/**
 * gzip with a fixed header, so the same tar always gives the same layer digest
 * (docs/architecture.md, "Reproducible layers"). Header layout: RFC 1952 §2.3,
 * https://www.rfc-editor.org/rfc/rfc1952#section-2.3
 */
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';

const gzipAsync = promisify(gzip);

/** RFC 1952 OS code 255, "unknown": the layer must not say which platform built it. */
const osUnknown = 255;

/**
 * Compresses off the main thread (zlib's thread pool), then pins the header fields that do not
 * follow from the data: MTIME 0 (no clock), FLG 0 (no FNAME, FCOMMENT, FEXTRA or FHCRC), XFL
 * from the level alone, and OS 255. zlib already writes mtime 0 and no name, but its OS byte is
 * a compile-time constant of whichever zlib build runs (3 on Unix), so it is set explicitly.
 * The header is not covered by the trailer's CRC32, so rewriting it keeps the stream valid.
 */
export async function gzipDeterministic(data: Uint8Array, level = 6): Promise<Buffer> {
  const out = await gzipAsync(data, { level });
  out[3] = 0;
  out.writeUInt32LE(0, 4);
  out[8] = extraFlagsFor(level);
  out[9] = osUnknown;
  return out;
}

/** XFL: 2 for maximum compression, 4 for fastest, 0 otherwise, as zlib's deflate.c decides. */
function extraFlagsFor(level: number): number {
  if (level === 9) return 2;
  if (level === 0 || level === 1) return 4;
  return 0;
}
