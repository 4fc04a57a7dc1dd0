/**
 * The deterministic tar writer of tar.ts, as a stream: each entry's header, then a file's bytes as
 * its `content` yields them, then the padding, so a layer is hashed, compressed and written without
 * ever being whole in memory. Given the same entries and bytes, the output is byte for byte
 * writeTar's (docs/architecture.md, "Reproducible layers").
 */
import { OciError } from './errors.js';
import { encodeTarHeader, type TarEntry } from './tar.js';
import { blockSize } from './tar-header.js';

/** A tar entry whose file bytes are read only when the entry is written. */
export interface StreamedTarEntry extends Omit<TarEntry, 'data'> {
  /**
   * A regular file's bytes, exactly `size` of them; absent for an empty file and anything else.
   * Small chunks are held until a batch is full, so each must be a fresh buffer, never one reused.
   */
  content?: () => AsyncIterable<Uint8Array>;
}

/** Headers are small: gathered up to this many bytes before they are handed on, not one by one. */
const batchBytes = 64 * 1024;

/** Throws TAR_MALFORMED when a file's content yields more or fewer bytes than its size. */
export async function* tarChunks(entries: Iterable<StreamedTarEntry>): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const hold = (bytes: Buffer) => {
    pending.push(bytes);
    pendingBytes += bytes.length;
  };
  const release = () => {
    const out = pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending, pendingBytes);
    pending = [];
    pendingBytes = 0;
    return out;
  };
  for (const entry of entries) {
    hold(encodeTarHeader(entry, { streamed: true }));
    if (entry.type === 'file' && entry.size > 0) {
      if (!entry.content) throw sizeMismatch(entry, 0);
      let written = 0;
      for await (const chunk of entry.content()) {
        written += chunk.length;
        if (written > entry.size) throw sizeMismatch(entry, written);
        if (pendingBytes + chunk.length <= batchBytes) {
          hold(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
          continue;
        }
        if (pendingBytes > 0) yield release();
        yield Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
      }
      if (written !== entry.size) throw sizeMismatch(entry, written);
      const padding = (blockSize - (entry.size % blockSize)) % blockSize;
      if (padding > 0) hold(Buffer.alloc(padding));
    }
    if (pendingBytes >= batchBytes) yield release();
  }
  hold(Buffer.alloc(2 * blockSize));
  yield release();
}

function sizeMismatch(entry: StreamedTarEntry, written: number): OciError {
  return new OciError(
    'TAR_MALFORMED',
    `cannot write tar entry ${entry.path}: its size is ${entry.size} bytes but its content gave ${written}${written > entry.size ? ' or more' : ''}`,
  );
}
