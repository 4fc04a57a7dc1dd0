/** Tar entries as readTar returns them, built in tests without writing an archive. */
import type { TarReadEntry } from './tar.js';

/** A regular file holding its own path, or a folder when the path ends in `/`, unless `fields` say otherwise. */
export function readEntry(path: string, fields: Partial<TarReadEntry> = {}): TarReadEntry {
  const type = fields.type ?? (path.endsWith('/') ? 'dir' : 'file');
  return {
    path,
    type,
    mode: type === 'dir' ? 0o755 : 0o644,
    uid: 0,
    gid: 0,
    size: fields.data?.length ?? 0,
    mtime: 0,
    typeflag: type === 'dir' ? '5' : '0',
    offset: 0,
    ...(type === 'file' ? { data: Buffer.from(path) } : {}),
    ...fields,
  };
}
