/**
 * gzip with a fixed header, so the same tar always gives the same layer digest
 * (docs/architecture.md, "Reproducible layers"). Header layout: RFC 1952 §2.3,
 * https://www.rfc-editor.org/rfc/rfc1952#section-2.3
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { createGzip, gzip } from 'node:zlib';

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
  return pinHeader(await gzipAsync(data, { level }), level);
}

/** The 10-byte member header (RFC 1952 §2.3). */
const headerSize = 10;

/**
 * gzipDeterministic as a stream: the same bytes for the same input however it is cut into chunks
 * (deflate without flushes depends only on the bytes), holding no more than zlib's window and a
 * chunk. zlib deflates on its thread pool, so streams compressed at once use several cores.
 */
export async function* gzipChunks(input: AsyncIterable<Uint8Array>, level = 6): AsyncGenerator<Buffer> {
  const gzip = createGzip({ level, chunkSize: 128 * 1024 });
  // Two chunks ahead at most: the default of 16 would hold 16 of the caller's chunks.
  const source = Readable.from(input, { highWaterMark: 2 });
  // The input's failure ends the pipeline and errors gzip, which the loop below then throws.
  const feeding = pipeline(source, gzip).then(
    () => undefined,
    (error: unknown) => error,
  );
  let head: Buffer | undefined = Buffer.alloc(0);
  try {
    for await (const chunk of gzip) {
      if (!head) {
        yield chunk as Buffer;
        continue;
      }
      head = Buffer.concat([head, chunk as Buffer]);
      if (head.length < headerSize) continue;
      yield pinHeader(head, level);
      head = undefined;
    }
    const failed = await feeding;
    if (failed !== undefined) throw failed;
  } finally {
    source.destroy();
    gzip.destroy();
  }
}

function pinHeader(out: Buffer, level: number): Buffer {
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
