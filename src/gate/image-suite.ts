/**
 * The Debian suite codename an image's packages come from, for vulnerability matching: the
 * image's own os-release (`VERSION_CODENAME`, which base-files writes), else herd's
 * `org.opencontainers.image.base.name` label when it reads `debian:<codename>`. Pure.
 * os-release(5): https://www.freedesktop.org/software/systemd/man/latest/os-release.html
 */
import type { ImageView } from './image-view.js';

const osReleasePaths = ['/etc/os-release', '/usr/lib/os-release'];

export function debianSuiteOf(view: ImageView): string | undefined {
  for (const path of osReleasePaths) {
    const node = view.files.get(path);
    if (node?.type !== 'file' || !node.data) continue;
    const codename = /^VERSION_CODENAME="?([a-z][a-z0-9-]*)"?\s*$/m.exec(node.data.toString('utf8'))?.[1];
    if (codename) return codename;
  }
  const base = view.config.config.Labels?.['org.opencontainers.image.base.name'];
  return /^debian:([a-z][a-z0-9-]*)$/.exec(base ?? '')?.[1];
}
