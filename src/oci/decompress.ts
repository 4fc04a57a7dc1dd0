/**
 * Decompression of untrusted bytes (.deb members, Packages indexes, image layers), streamed, with
 * a hard cap on what comes out. Sizes a stream declares about itself (gzip's ISIZE, an xz index
 * or block header, a zstd frame's content size) are never used: output is counted as it is
 * produced, and decoding stops at the cap.
 *
 * gzip runs in zlib, whose window is a fixed 32 KiB. xz and zstd run as the `xz` and `zstd`
 * commands, piped: liblzma and libzstd decode as a stream under their own memory limits (xz's
 * --memlimit-decompress, zstd's --memory), xz decodes the multi-block streams that dpkg-deb
 * writes for large packages on several threads, and a decoder bug met by hostile input stays in
 * a child process. The pure-JS and Rust bindings herd used before only decoded whole buffers.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { writeChunksAtomic } from '../common/index.js';
import { OciError } from './errors.js';
import { type PipedCommand, startPipedCommand } from './piped-command.js';

export type Compression = 'gzip' | 'xz' | 'zstd';

export interface DecompressOptions {
  compression: Compression;
  /** Names the input in errors: a file, a .deb and its member, a layer digest. */
  name: string;
  /** Bytes of output past which decoding stops with DECOMPRESSED_TOO_LARGE. */
  maxBytes: number;
  /**
   * gzip only: the size of zlib's output chunks, 64 KiB unless said. A reader of a whole image
   * layer asks for more: each chunk is a trip through the thread pool and every stream above it.
   */
  chunkBytes?: number;
}

/**
 * Memory the decoders may use, whatever the stream asks for: xz -9 needs 65 MiB and zstd's own
 * default window limit is 128 MB. A stream that needs more is refused, not decoded.
 */
const decoderMemoryLimit = '128MiB';

/**
 * The decompressed bytes, chunk by chunk. Throws OciError DECOMPRESSED_TOO_LARGE as soon as the
 * output passes `maxBytes`, and DECOMPRESS_FAILED for data that is not valid `compression`; either
 * way the decoder is stopped, so a bomb costs at most `maxBytes` of decoding and no memory.
 */
export async function* decompressChunks(
  input: Uint8Array | AsyncIterable<Uint8Array>,
  options: DecompressOptions,
): AsyncGenerator<Buffer> {
  const decoder = startDecoder(options.compression, options.chunkBytes);
  // An input that fails (a dropped download) is the input's error, passed on as it is.
  let inputError: unknown;
  async function* guarded(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    try {
      yield* chunks;
    } catch (error) {
      inputError = error;
      throw error;
    }
  }
  const source = Readable.from(input instanceof Uint8Array ? [input] : guarded(input));
  // A decoder that stops early (bad data, or stopped at the cap) closes its input; that is no
  // failure of its own, so the feeding side's error is reported only when nothing else was.
  const feeding = pipeline(source, decoder.input).then(
    () => undefined,
    (error: unknown) => error,
  );
  let total = 0;
  try {
    try {
      for await (const chunk of decoder.output) {
        total += (chunk as Buffer).length;
        if (total > options.maxBytes) {
          throw new OciError(
            'DECOMPRESSED_TOO_LARGE',
            `${options.name} decompresses past its limit of ${options.maxBytes} bytes; refused`,
          );
        }
        yield chunk as Buffer;
      }
    } catch (error) {
      if (error instanceof OciError) throw error;
      if (inputError !== undefined) throw inputError;
      throw decodeFailed(options, describe(error), error);
    }
    const fed = await feeding;
    if (inputError !== undefined) throw inputError;
    const failure = await decoder.failure();
    if (failure !== undefined) throw decodeFailed(options, failure);
    if (fed !== undefined) throw decodeFailed(options, describe(fed), fed);
  } finally {
    decoder.stop();
    source.destroy();
  }
}

/**
 * Output held in memory before its size is known, at least: a bomb is refused holding no more
 * than this (or 16 times its own size), while ordinary data is decoded once.
 */
const holdFloor = 32 * 1024 ** 2;
/** Real tars and indexes shrink 2 to 8 times; a bomb shrinks a thousand times. */
const holdRatio = 16;

/**
 * The decompressed bytes in one buffer, at most `maxBytes`. Output is held while it stays within
 * max(32 MiB, 16 × the input); past that, it is only counted to its end (or to the cap, where it
 * is refused), then decoded a second time into a buffer of exactly its real size. So memory never
 * follows what the stream claims, nor grows past its real size, and a bomb is refused holding
 * little.
 */
export async function decompressToBuffer(input: Uint8Array, options: DecompressOptions): Promise<Buffer> {
  const holdLimit = Math.min(options.maxBytes, Math.max(holdFloor, holdRatio * input.length));
  let held: Buffer[] | undefined = [];
  let total = 0;
  for await (const chunk of decompressChunks(input, options)) {
    total += chunk.length;
    if (held && total > holdLimit) held = undefined;
    held?.push(chunk);
  }
  if (held) return Buffer.concat(held, total);
  const out = Buffer.allocUnsafe(total);
  let offset = 0;
  for await (const chunk of decompressChunks(input, { ...options, maxBytes: total })) {
    chunk.copy(out, offset);
    offset += chunk.length;
  }
  if (offset !== total) {
    throw decodeFailed(options, `gave ${offset} bytes on a second pass, ${total} on the first`);
  }
  return out;
}

/**
 * Decompresses into a file through a temporary file beside it, renamed into place only when the
 * whole stream decoded within the cap. Nothing is held in memory. Returns the size and sha256 of
 * what was written.
 */
export async function decompressToFile(
  input: Uint8Array,
  path: string,
  options: DecompressOptions & { mode?: number },
): Promise<{ size: number; sha256: string }> {
  return writeChunksAtomic(path, decompressChunks(input, options), options);
}

function decodeFailed(options: DecompressOptions, reason: string, cause?: unknown): OciError {
  return new OciError(
    'DECOMPRESS_FAILED',
    `${options.name} is not valid ${options.compression} data: ${reason}`,
    cause === undefined ? undefined : { cause },
  );
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** What a decoder is: zlib's gunzip in this process, or a command piped through (piped-command.ts). */
type Decoder = PipedCommand;

function startDecoder(compression: Compression, chunkBytes = 64 * 1024): Decoder {
  switch (compression) {
    case 'gzip': {
      // Bad data surfaces as an error on the stream itself, so failure() has nothing to add.
      const gunzip = createGunzip({ chunkSize: chunkBytes });
      return { input: gunzip, output: gunzip, failure: async () => undefined, stop: () => gunzip.destroy() };
    }
    case 'xz':
      return startPipedCommand('xz', {
        args: ['--decompress', '--stdout', '--threads=0', `--memlimit-decompress=${decoderMemoryLimit}`],
        debianPackage: 'xz-utils',
      });
    case 'zstd':
      return startPipedCommand('zstd', {
        args: ['--decompress', '--stdout', '--quiet', `--memory=${decoderMemoryLimit}`],
        debianPackage: 'zstd',
      });
  }
}
