/**
 * Which paths of a running instance may differ from its image without anyone having touched it.
 * Pure. The engine makes mount points in the container's upper layer for what it mounts over the
 * read-only root: the fleet's writable tmpfs paths, the small read-only tmpfs herd puts on /run,
 * /tmp and /var/tmp (hardened-config.ts), the kernel filesystems, and the files it bind-mounts
 * from its run directory (Podman 4.3 adds /etc/passwd and /etc/group when the image's lack the
 * instance's user). Directories on the way to a mount point change with them.
 */

/** What the engine mounts into every instance, whatever the fleet says. */
export const engineMountPoints = [
  '/dev',
  '/proc',
  '/sys',
  '/run',
  '/tmp',
  '/var/tmp',
  '/etc/hosts',
  '/etc/hostname',
  '/etc/resolv.conf',
  '/etc/passwd',
  '/etc/group',
  '/etc/mtab',
  '/run/.containerenv',
  '/.containerenv',
  '/.dockerenv',
] as const;

export type PathClass =
  /** Under a writable path the fleet declared: changes are the workload's own, executables are not. */
  | 'writable'
  /** A mount point the engine made, or a directory on the way to one: its upper-layer entry is noise. */
  | 'engine'
  /** Everything else: it must match the image's file manifest. */
  | 'image';

export interface ExpectedPaths {
  writable: readonly string[];
  classify(path: string): PathClass;
}

export function expectedPaths(writable: readonly string[]): ExpectedPaths {
  const roots = writable.map(trimSlashes).filter((path) => path !== '/');
  const mounts = new Set<string>([...engineMountPoints, ...roots]);
  const ancestors = new Set<string>(['/']);
  for (const mount of mounts) for (const parent of parentsOf(mount)) ancestors.add(parent);
  return {
    writable: roots,
    classify(raw) {
      const path = trimSlashes(raw);
      if (roots.some((root) => path === root || path.startsWith(`${root}/`))) {
        return path === roots.find((root) => root === path) ? 'engine' : 'writable';
      }
      if (mounts.has(path) || ancestors.has(path)) return 'engine';
      // Under a kernel filesystem or the engine's own mounts: never the image's business.
      if (/^\/(dev|proc|sys)\//.test(path)) return 'engine';
      return 'image';
    },
  };
}

/** `/a/b/c` → `/a`, `/a/b`. */
function parentsOf(path: string): string[] {
  const parts = path.split('/').filter(Boolean);
  return parts.slice(0, -1).map((_, index) => `/${parts.slice(0, index + 1).join('/')}`);
}

function trimSlashes(path: string): string {
  const trimmed = `/${path.split('/').filter(Boolean).join('/')}`;
  return trimmed;
}
