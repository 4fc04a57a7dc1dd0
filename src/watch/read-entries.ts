/**
 * Reads a tar stream entry by entry, hashing regular files as their bytes go by: memory stays at one
 * chunk plus the evidence head of the current file, whatever the archive's size.
 */
import { createHash } from 'node:crypto';
import type { StreamEntry, TarStreamLimits } from '../oci/index.js';
import { readExportStream } from './export-stream.js';
import type { ObservedFile } from './findings.js';

export interface ReadEntriesOptions extends TarStreamLimits {
  /** Bytes of each file kept as `head`, for evidence. */
  headBytes?: number;
  /** Files whose bytes are read and hashed; others are skipped unread. Default: all. */
  hash?: (entry: StreamEntry) => boolean;
}

/** Calls `visit` with each entry and what was observed of it; resolves once the archive ended cleanly. */
export async function readEntries(
  source: AsyncIterable<Buffer | Uint8Array | string>,
  visit: (entry: StreamEntry, observed: ObservedFile) => void | Promise<void>,
  options: ReadEntriesOptions = {},
): Promise<{ entries: number; bytes: number }> {
  const headBytes = options.headBytes ?? 0;
  /** Files seen so far, for hardlinks: the archive carries the bytes only once. */
  // Only hash and size are kept per file (for hardlinks): keeping heads here would hold headBytes
  // for every file of the image at once.
  const files = new Map<string, { sha256: string; size: number }>();
  let entries = 0;
  let bytes = 0;
  for await (const { entry, content } of readExportStream(source, options)) {
    entries++;
    const observed: ObservedFile = {
      type: entry.type === 'hardlink' ? 'file' : entry.type,
      mode: entry.mode,
      uid: entry.uid,
      gid: entry.gid,
      size: entry.size,
      ...(entry.type === 'symlink' && entry.linkname !== undefined ? { target: entry.linkname } : {}),
    };
    if (entry.type === 'file' && (options.hash?.(entry) ?? true)) {
      const hash = createHash('sha256');
      const head: Buffer[] = [];
      let kept = 0;
      for await (const chunk of content) {
        hash.update(chunk);
        bytes += chunk.length;
        if (kept < headBytes) {
          const part = chunk.subarray(0, headBytes - kept);
          head.push(Buffer.from(part));
          kept += part.length;
        }
      }
      observed.sha256 = hash.digest('hex');
      if (headBytes > 0) observed.head = Buffer.concat(head);
      files.set(entry.path, {
        sha256: observed.sha256,
        size: entry.size,
      });
    }
    if (entry.type === 'hardlink' && entry.linkname !== undefined) {
      const target = files.get(`/${entry.linkname.replace(/^\.?\/+/, '')}`);
      if (target) {
        observed.size = target.size;
        observed.sha256 = target.sha256;
      }
    }
    await visit(entry, observed);
  }
  return { entries, bytes };
}
