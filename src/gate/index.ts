/** What other folders use of src/gate/ (docs/architecture.md, "Public entries"). */
export { gateImage, storeVerdict } from './evaluate-gate.js';
export type { Profile } from './findings.js';
export { gateLayerCache } from './image-view.js';
export { formatJsonReport } from './reports/json-report.js';
export { formatSarifReport } from './reports/sarif-report.js';
export { formatTextReport } from './reports/text-report.js';
export { latestVerdict } from './stored-verdict.js';
export type { Verdict } from './verdict.js';
export {
  loadVulnDb,
  matchVulnerabilities,
  updateVulnDb,
  type VulnDb,
  VulnDbError,
  type VulnDbUpdate,
  type VulnFinding,
  type VulnIndex,
} from './vulns/index.js';
export { isWaiverActive } from './waivers.js';
