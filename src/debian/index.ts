/** What other folders use of src/debian/ (docs/architecture.md, "Public entries"). */
export { architectureProblem, packageNameProblem, poolPathProblem, versionProblem } from './archive-names.js';
export { field, packageRelationsOf, parseControlParagraphs } from './control.js';
export {
  type DebContents,
  type DebControl,
  type DebFile,
  type DebFileMember,
  type DebMember,
  type DebTars,
  debMemberChunks,
  decompressDeb,
  type ReadDebOptions,
  readControlTar,
  readDataTarStream,
  readDebFileMembers,
  readDebMembers,
  readDebTars,
} from './deb.js';
export { type DpkgRecord, type ImageFiles, readDpkgStatus, readFileOwners } from './dpkg-status.js';
export { DebianError } from './errors.js';
export { type Fetcher, HttpFetcher, type HttpFetcherOptions, ResponseTooLarge } from './fetcher.js';
export { PackagesIndexCache } from './index-cache.js';
export { parseRelations, type Relation, relationsForArchitecture } from './relations.js';
export {
  describeDowngrade,
  downgradeError,
  findDowngrades,
  type ReleaseDowngrade,
  type RememberedReleaseDate,
  type ServedRelease,
} from './release-dates.js';
export { resolvePackages } from './resolve.js';
export { type AptSource, readHostSources, sourcesForSuites } from './sources.js';
export { fetchSuiteRelease, loadSuiteIndex, type SuiteIndex, type SuiteRelease } from './suite-index.js';
export type { PackageRecord } from './types.js';
export { compareDebianVersions, parseDebianVersion, satisfiesRelation } from './version.js';
