/**
 * Which paths of a running instance may differ from its image without anyone having touched it.
 * Pure. The engine makes mount points in the container's upper layer for what it mounts over the
 * read-only root: the fleet's writable tmpfs paths, the small read-only tmpfs herd puts on /run,
 * /tmp and /var/tmp (hardened-config.ts), the kernel filesystems, and the files it bind-mounts
 * from its run directory (Podman 4.3 adds /etc/passwd and /etc/group when the image's lack the
 * instance's user, and /run/podman-init for the init). Directories on the way to a mount point
 * change with them.
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

/**
 * Files the engine bind-mounts read-only into every instance, wherever the fleet's writable paths
 * are: a tmpfs the spec declares at /run still holds /run/podman-init (podman's init, catatonit,
 * executable by nature) and /run/.containerenv. They are the engine's, not the workload's: an
 * executable there is not drift, but anything else at such a path (a device, a setuid file, a
 * directory of new files) still is. /dev/init is Docker's init.
 */
export const engineProvidedFiles = [
  '/run/podman-init',
  '/run/.containerenv',
  '/dev/init',
  '/.containerenv',
  '/.dockerenv',
  '/etc/hosts',
  '/etc/hostname',
  '/etc/resolv.conf',
  '/etc/passwd',
  '/etc/group',
] as const;

/**
 * The engine's /dev/shm: a tmpfs every instance gets, writable by the workload's user (mode 1777),
 * noexec, but `sh /dev/shm/x` runs a script all the same. It is read like a writable path on every
 * pass (herd also makes it 1 MiB: engines/docker/hardened-config.ts).
 */
export const engineWritablePaths = ['/dev/shm'] as const;

export type PathClass =
  /** Under a writable path the fleet declared: changes are the workload's own, executables are not. */
  | 'writable'
  /** A mount point the engine made, or a directory on the way to one: its upper-layer entry is noise. */
  | 'engine'
  /** Everything else: it must match the image's file manifest. */
  | 'image';

export interface ExpectedPaths {
  /** The fleet's writable paths. */
  writable: readonly string[];
  /** What the writable scan reads each pass: the fleet's writable paths and the engine's /dev/shm. */
  scanned: readonly string[];
  classify(path: string): PathClass;
}

export function expectedPaths(writable: readonly string[]): ExpectedPaths {
  const roots = writable.map(trimSlashes).filter((path) => path !== '/');
  const mounts = new Set<string>([...engineMountPoints, ...roots]);
  const ancestors = new Set<string>(['/']);
  for (const mount of mounts) for (const parent of parentsOf(mount)) ancestors.add(parent);
  const provided = new Set<string>(engineProvidedFiles);
  return {
    writable: roots,
    scanned: [...new Set([...roots, ...engineWritablePaths])],
    classify(raw) {
      const path = trimSlashes(raw);
      // Before the writable paths: the engine mounts these over whatever tmpfs holds them.
      if (provided.has(path)) return 'engine';
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

/**
 * Whether a finding of the writable scan is only the engine's own file where the engine puts it: a
 * plain file (not setuid, not a device) at one of {@link engineProvidedFiles}.
 */
export function isEngineProvidedFile(
  finding: { path: string; observed?: { type: string; mode: number } },
  expected: ExpectedPaths,
): boolean {
  const { observed } = finding;
  return (
    (engineProvidedFiles as readonly string[]).includes(finding.path) &&
    expected.classify(finding.path) === 'engine' &&
    // Without what was observed, only where it is: the engine's bind mount, which nothing inside
    // can replace. What was observed must be a plain file: no device, no setuid.
    (observed === undefined || (observed.type === 'file' && (observed.mode & 0o6000) === 0))
  );
}
