/**
 * An image view built from a few files in memory, for unit tests and simulations of the gate (as
 * engines/memory is for the fleet). Packages become real dpkg status.d entries and md5sums, so the
 * view is read through the same code as an image from the store. The file manifest matches the
 * files unless the caller hands in another.
 */
import { createHash } from 'node:crypto';
import type { Digest } from '../oci/index.js';
import { type Rootfs, type RootfsNode, sha256Digest, sortedRootfs } from '../oci/index.js';
import { type AttachedFileManifest, type ImageView, imageViewOf, type ViewConfig } from './image-view.js';
import type { LockFacts } from './lock-facts.js';

export interface MemoryFile {
  /** Absolute path in the image. */
  path: string;
  /** Defaults to `file`, or `symlink` when `target` is given. */
  type?: RootfsNode['type'];
  /** Defaults to 0o644 for files, 0o755 for directories, 0o777 for symlinks. */
  mode?: number;
  uid?: number;
  gid?: number;
  content?: string | Buffer;
  target?: string;
}

export interface MemoryPackage {
  name: string;
  version?: string;
  architecture?: string;
  source?: string;
  /** Files the package ships, added to the image and listed in its md5sums. */
  files?: MemoryFile[];
}

export interface MemoryImage {
  files?: MemoryFile[];
  packages?: MemoryPackage[];
  /** Merged over a config that runs as 65532 with only PATH set. */
  config?: Partial<ViewConfig['config']>;
  fileManifest?: AttachedFileManifest;
  lock?: LockFacts;
}

export function memoryImageView(image: MemoryImage = {}): ImageView {
  const rootfs: Rootfs = new Map();
  const add = (file: MemoryFile) => rootfs.set(file.path, nodeOf(file));
  for (const pkg of image.packages ?? []) {
    for (const file of pkg.files ?? []) add(file);
    add({ path: `/var/lib/dpkg/status.d/${pkg.name}`, content: controlOf(pkg) });
    const md5sums = (pkg.files ?? [])
      .filter((file) => nodeOf(file).type === 'file')
      .map((file) => `${md5(file.content ?? '')}  ${file.path.slice(1)}\n`)
      .join('');
    if (md5sums !== '') add({ path: `/var/lib/dpkg/status.d/${pkg.name}.md5sums`, content: md5sums });
  }
  for (const file of image.files ?? []) add(file);
  const sorted = sortedRootfs(rootfs);
  const config: ViewConfig = {
    architecture: 'amd64',
    os: 'linux',
    config: {
      User: '65532:65532',
      Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      ...image.config,
    },
    rootfs: { type: 'layers', diff_ids: [] },
  };
  const entries = [...sorted.values()].map(({ data, ...entry }) =>
    entry.type === 'file'
      ? {
          ...entry,
          sha256: createHash('sha256')
            .update(data ?? Buffer.alloc(0))
            .digest('hex'),
        }
      : entry,
  );
  return imageViewOf({
    digest: sha256Digest(JSON.stringify(entries)) as Digest,
    config,
    rootfs: sorted,
    fileManifest: image.fileManifest ?? { kind: 'attached', digest: sha256Digest('manifest'), entries },
    ...(image.lock ? { lock: image.lock } : {}),
  });
}

function nodeOf(file: MemoryFile): RootfsNode {
  const type = file.type ?? (file.target !== undefined ? 'symlink' : 'file');
  const base = { path: file.path, uid: file.uid ?? 0, gid: file.gid ?? 0 };
  switch (type) {
    case 'file': {
      const data = Buffer.from(file.content ?? '');
      return { ...base, type, mode: file.mode ?? 0o644, size: data.length, data };
    }
    case 'dir':
      return { ...base, type, mode: file.mode ?? 0o755, size: 0 };
    case 'symlink':
      return { ...base, type, mode: file.mode ?? 0o777, size: 0, target: file.target ?? '' };
  }
}

function controlOf(pkg: MemoryPackage): string {
  return [
    `Package: ${pkg.name}`,
    ...(pkg.source ? [`Source: ${pkg.source}`] : []),
    `Version: ${pkg.version ?? '1.0-1'}`,
    `Architecture: ${pkg.architecture ?? 'amd64'}`,
    'Maintainer: Herd Tests <tests@herd.test>',
    `Description: ${pkg.name}`,
    '',
  ].join('\n');
}

function md5(content: string | Buffer): string {
  return createHash('md5').update(content).digest('hex');
}
