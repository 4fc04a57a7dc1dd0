/**
 * The packages an image holds and the files each one owns, as the gate reports them: read by
 * src/debian's dpkg reader (the build's too), so a database the build would refuse in a base is
 * IMAGE_INVALID here, naming the record. Pure.
 */
import { DebianError, type DpkgRecord, readDpkgStatus, readFileOwners } from '../debian/index.js';
import type { Rootfs } from '../oci/index.js';
import { GateError } from './errors.js';

/** A package as the gate reports it: the record without its stanza. */
export type InstalledPackage = Omit<DpkgRecord, 'paragraph'>;

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
