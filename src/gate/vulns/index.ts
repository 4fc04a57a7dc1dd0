/** The vulnerability part of the gate: what src/gate's verdict and the CLI use. */
export { VulnDbError, type VulnDbErrorCode } from './errors.js';
export {
  loadVulnDb,
  staleness,
  type VulnDbAge,
  type VulnDbStaleness,
  vulnDbAge,
  vulnDbPath,
} from './load.js';
export { matchVulnerabilities } from './match.js';
export { severityFromUrgency, type UrgencySeverity } from './severity.js';
export type {
  FindingStatus,
  InstalledPackage,
  VulnFinding,
  VulnRecord,
  VulnSeverity,
  VulnState,
  WillNotFixReason,
} from './types.js';
export { type UpdateVulnDbOptions, updateVulnDb, type VulnDbUpdate } from './update.js';
export { type VulnDb, type VulnDbMeta, type VulnIndex, vulnIndexFromRecords } from './vulndb-file.js';
