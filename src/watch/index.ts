/** What other folders use of src/watch/ (docs/architecture.md, "Public entries"). */

export { webhookOrigin } from './alert-webhook.js';
export { WatchError } from './errors.js';
export { driftEvidenceArtifactType } from './evidence.js';
export type { FimChange, FimSummary } from './fim/diff.js';
export { FimError, type FimErrorCode } from './fim/errors.js';
export { checkBaseline, initBaseline } from './fim/fim.js';
export type { FimEntry } from './fim/fim-entry.js';
export type { DriftFinding } from './findings.js';
export type { QuarantineOutcome } from './incident-response.js';
export { type IntegrityWatch, startIntegrityWatch } from './integrity-watch.js';
export { trustedImageFiles } from './trusted-image-files.js';
export { verifyInstanceFiles } from './verify-filesystem.js';
