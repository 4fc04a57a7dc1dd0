/**
 * The Debian packages a base image has installed, as archive-shaped records the resolver takes:
 * read from the base's dpkg database by src/debian's reader (the gate's too), so a base the gate
 * would refuse to read is refused here with BASE_INVALID. Pure.
 */

import type { PackageRecord } from '../debian/index.js';
import {
  DebianError,
  type DpkgRecord,
  field,
  type ImageFiles,
  packageRelationsOf,
  readDpkgStatus,
} from '../debian/index.js';
import { BuildError } from './errors.js';

/** Marks records that came from an image rather than an archive. */
export const installedSuite = 'installed';

/**
 * Every installed package, sorted by name then architecture. `suite` is `installed`; `filename`,
 * `size` and `sha256` are empty, since the .deb it came from is not known.
 */
export function installedPackagesOf(rootfs: ImageFiles): PackageRecord[] {
  let records: DpkgRecord[];
  try {
    records = readDpkgStatus(rootfs);
  } catch (error) {
    if (!(error instanceof DebianError)) throw error;
    throw new BuildError('BASE_INVALID', `base image's ${error.message}`, { cause: error });
  }
  return records.map(packageRecordOf);
}

function packageRecordOf(record: DpkgRecord): PackageRecord {
  const get = (name: string) => field(record.paragraph, name)?.trim() ?? '';
  return {
    name: record.name,
    version: record.version,
    architecture: record.architecture,
    source: record.source,
    sourceVersion: record.sourceVersion,
    ...packageRelationsOf(get),
    filename: '',
    size: 0,
    sha256: '',
    suite: installedSuite,
    repository: '',
  };
}
