/**
 * The packages an image holds and the files each one owns, as the gate reports them: read by
 * src/debian's dpkg reader (the build's too), so a database the build would refuse in a base is
 * IMAGE_INVALID here, naming the record. Pure.
 */
import { readDpkgStatus, readFileOwners } from '../debian/dpkg-status.js';
import { DebianError } from '../debian/errors.js';
import type { Rootfs } from '../oci/flatten-layers.js';
import { GateError } from './errors.js';

export interface InstalledPackage {
  name: string;
  version: string;
  architecture: string;
  /** Source package name; the binary's own name when the record has no Source field. */
  source: string;
  /** Source version; the binary version when `Source:` carries none. */
  sourceVersion: string;
  /** Installed-Size as the package declares it, in KiB. */
  installedSizeKiB?: number;
  /** Where the record was read, e.g. `/var/lib/dpkg/status.d/openssl`. */
  recordPath: string;
}

export interface DpkgDatabase {
  packages: InstalledPackage[];
  /** Path in the image → the package that ships it. Paths no package owns are absent. */
  owners: Map<string, string>;
}

export function readDpkgDatabase(rootfs: Rootfs): DpkgDatabase {
  try {
    const packages = readDpkgStatus(rootfs).map(
      ({ paragraph: _paragraph, ...installed }): InstalledPackage => installed,
    );
    return { packages, owners: readFileOwners(rootfs) };
  } catch (cause) {
    if (!(cause instanceof DebianError)) throw cause;
    throw new GateError('IMAGE_INVALID', cause.message, { cause });
  }
}
