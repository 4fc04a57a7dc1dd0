/**
 * Layer gzip: deterministic, and compressed on several cores at once. Header layout: RFC 1952
 * §2.3, https://www.rfc-editor.org/rfc/rfc1952#section-2.3; deflate blocks and the sync flush:
 * RFC 1951 §3.2, https://www.rfc-editor.org/rfc/rfc1951#section-3.2
 *
 * pigz's scheme: the input is cut into fixed blocks of `gzipBlockSize` bytes, and each block is
 * deflated on its own, raw, primed with the previous block's last 32 KiB as its dictionary (so
 * matches still reach back a whole window), and ended with a sync flush, the last one with a
 * finish. The blocks concatenated are one valid deflate stream; the member is a fixed header,
 * that stream, the CRC32 of the input and its size. A block's bytes follow only from its input,
 * its dictionary and the level, never from how many blocks run at once or how the input arrives
 * in chunks: the same herd gives the same layer digest on any machine (docs/architecture.md,
 * "Reproducible layers"). A herd whose level or block size changes gives other digests.
 */
import { availableParallelism } from 'node:os';
import * as zlib from 'node:zlib';
import { concurrencyLimit } from '../common/index.js';

/** Bytes of input per deflate block: pigz's default, small enough to spread one layer over cores. */
export const gzipBlockSize = 128 * 1024;
/** deflate's window: what a block may refer back to in the block before it. */
const dictionarySize = 32 * 1024;
/** Blocks one stream has handed to zlib and not yet written out: a few, so memory stays small. */
const defaultParallel = 4;
/**
 * Deflates running at once in the whole process, whatever the streams: one per core keeps every
 * core busy. zlib's asynchronous calls run on libuv's thread pool (4 threads by default), which
 * also does the file reads and writes that feed the layers and unpack the packages; more deflates
 * than cores would only queue there ahead of them.
 */
const deflateSlots = concurrencyLimit(availableParallelism());

export interface GzipOptions {
  /** Blocks deflating at once; the output is the same for any value. Only tests set it. */
  parallel?: number;
  /** Bytes of input per block; the output depends on it. Only tests set it. */
  blockSize?: number;
}

/**
 * Everything a layer's gzip bytes follow from besides its tar: the scheme, the level and the
 * block size. A cache of compressed layers keys on it, so that a herd with another scheme or
 * level never takes a blob compressed the other way, and the same herd gives the same digest.
 */
export function gzipEncodingOf(level: number): string {
  return `gzip-${level}-blocks-${gzipBlockSize / 1024}k`;
}

/** RFC 1952 OS code 255, "unknown": the layer must not say which platform built it. */
const osUnknown = 255;

/** gzipChunks of a whole buffer, gathered. */
export async function gzipDeterministic(
  data: Uint8Array,
  level = 6,
  options: GzipOptions = {},
): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const chunk of gzipChunks([data], level, options)) out.push(chunk);
  return Buffer.concat(out);
}

/**
 * Compresses a stream into one gzip member, block by block (above), holding at most `parallel`
 * blocks being deflated and the one being filled. The input's failure is thrown; deflates still
 * running then finish on their own and are dropped.
 */
export async function* gzipChunks(
  input: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  level = 6,
  options: GzipOptions = {},
): AsyncGenerator<Buffer> {
  const blockSize = options.blockSize ?? gzipBlockSize;
  const parallel = Math.max(1, options.parallel ?? defaultParallel);
  const inFlight: Promise<Buffer>[] = [];
  let crc = 0;
  let length = 0;
  let previous: Buffer | undefined;
  // The block being filled; sent only once more input shows it is not the last.
  let filling = Buffer.allocUnsafe(blockSize);
  let filled = 0;
  const send = (block: Buffer, last: boolean) => {
    crc = crc32(block, crc);
    length += block.length;
    const dictionary = previous;
    const deflating = deflateSlots(() =>
      deflateBlock(block, { level, last, ...(dictionary ? { dictionary } : {}) }),
    );
    // Awaited in order below; a failure after the caller stopped reading must not go unhandled.
    deflating.catch(() => undefined);
    inFlight.push(deflating);
    previous = block.length >= dictionarySize ? block.subarray(block.length - dictionarySize) : block;
  };

  yield gzipHeader(level);
  for await (const chunk of input) {
    let at = 0;
    while (at < chunk.length) {
      if (filled === blockSize) {
        send(filling, false);
        filling = Buffer.allocUnsafe(blockSize);
        filled = 0;
        if (inFlight.length >= parallel) yield await (inFlight.shift() as Promise<Buffer>);
      }
      const taken = Math.min(blockSize - filled, chunk.length - at);
      filling.set(chunk.subarray(at, at + taken), filled);
      filled += taken;
      at += taken;
    }
  }
  send(filling.subarray(0, filled), true);
  while (inFlight.length > 0) yield await (inFlight.shift() as Promise<Buffer>);
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc >>> 0, 0);
  trailer.writeUInt32LE(length % 2 ** 32, 4);
  yield trailer;
}

/** One raw deflate block on the thread pool: ended by a sync flush, or by a finish when last. */
function deflateBlock(
  block: Buffer,
  options: { level: number; last: boolean; dictionary?: Buffer },
): Promise<Buffer> {
  const { Z_SYNC_FLUSH, Z_FINISH } = zlib.constants;
  return new Promise((resolve, reject) => {
    zlib.deflateRaw(
      block,
      {
        level: options.level,
        finishFlush: options.last ? Z_FINISH : Z_SYNC_FLUSH,
        // Room for the whole block's output, so that zlib deflates it in one trip to the thread
        // pool: with its 16 KiB default, a block took three or four trips, each a wake-up of a pool
        // thread and a callback on the main thread. The bytes are the same either way.
        chunkSize: deflateRoomFor(block.length),
        ...(options.dictionary ? { dictionary: options.dictionary } : {}),
      },
      (error, out) => (error ? reject(error) : resolve(out)),
    );
  });
}

/**
 * Output room for deflating `length` bytes in one call: deflate's worst case is stored blocks, 5
 * bytes of header for each 16 KiB or less, plus the sync flush's empty block. Generous, not exact:
 * should it fall short, zlib takes one more trip and the output is the same.
 */
function deflateRoomFor(length: number): number {
  return length + (length >> 10) + 64;
}

/**
 * The 10-byte member header, fixed: MTIME 0 (no clock), FLG 0 (no FNAME, FCOMMENT, FEXTRA or
 * FHCRC), XFL from the level alone, and OS 255.
 */
function gzipHeader(level: number): Buffer {
  return Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, extraFlagsFor(level), osUnknown]);
}

/** XFL: 2 for maximum compression, 4 for fastest, 0 otherwise, as zlib's deflate.c decides. */
function extraFlagsFor(level: number): number {
  if (level === 9) return 2;
  if (level === 0 || level === 1) return 4;
  return 0;
}

/** zlib.crc32 (Node 20.15 and later), else the same CRC-32 (ISO 3309, as gzip uses) in JS. */
const crc32: (data: Uint8Array, value: number) => number =
  typeof (zlib as { crc32?: unknown }).crc32 === 'function'
    ? (data, value) => (zlib as unknown as { crc32: (d: Uint8Array, v: number) => number }).crc32(data, value)
    : crc32Portable;

let table: Uint32Array | undefined;
/** CRC-32 continued from `value` (0 to start), for a Node without zlib.crc32. */
export function crc32Portable(data: Uint8Array, value: number): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let crc = ~value;
  for (const byte of data) crc = (table[(crc ^ byte) & 0xff] as number) ^ (crc >>> 8);
  return ~crc >>> 0;
}
