/** The use cases (src/pipeline/README.md): what the CLI and the control plane call. */
export {
  type AcceptanceParts,
  type AcceptanceRequest,
  acceptanceLabel,
  acceptanceOutput,
  acceptCandidate,
  removeStaleCandidates,
} from './acceptance.js';
export { checkName } from './acceptance-checks.js';
export {
  type AdmitParts,
  type AdmitRequest,
  type Admitted,
  admitImage,
  controllerAdmission,
} from './admit.js';
export { type BuildParts, type BuildRequest, type BuiltAndGated, buildAndGate } from './build-and-gate.js';
export { checkForUpdates, loadVulnDataIfAny } from './check-updates.js';
export { PipelineError, type PipelineErrorCode } from './errors.js';
export { type GateParts, type GateRequest, gateStoredImage } from './gate.js';
export { imageService } from './image-service.js';
export { journalFleetEvent } from './journal-fleet-event.js';
export {
  checkSpecLock,
  type LockCheck,
  type LockNotices,
  type LockParts,
  lockSpec,
  resolveSpecLock,
  type SpecInputs,
} from './lock.js';
export type { PipelineLogger, PipelineState } from './parts.js';
export { type PauseAnswer, pauseFleet, resumeFleet } from './pause.js';
export { postPipelineWebhook } from './pipeline-webhook.js';
export { PolicyRecheck } from './policy-recheck.js';
export { type PulledForVerification, type PullParts, pullForVerification, pullFromRegistry } from './pull.js';
export { type Pushed, type PushParts, pushToRegistry } from './push.js';
export { type ReleaseParts, releaseImage, revokeImage, trustedSignatureCheck } from './release.js';
export { RecordedRemediation, RemediationLoop, type RemediationLoopParts } from './remediation-loop.js';
export { decideRun, percentiles, runTarget } from './remediation-policy.js';
export { RemediationStore } from './remediation-store.js';
export type {
  CheckOutcome,
  PackageUpdate,
  PipelineRun,
  Remediation,
  RemediationTimes,
  RunStage,
  RunStageRecord,
  RunStatus,
  UpdateFinding,
  UpdateFindingKind,
  Urgency,
} from './remediation-types.js';
export { runStages, urgencies } from './remediation-types.js';
export { type RenderKubernetesRequest, renderKubernetes } from './render-kubernetes.js';
export {
  type RolloutParts,
  type RolloutRequest,
  type RolloutTarget,
  rollbackFleet,
  rolloutImage,
  scaleFleet,
} from './rollout.js';
export { type Signability, type SignParts, signAndAttest, signability } from './sign-and-attest.js';
export { buildCaches, openSpecInputs } from './spec-inputs.js';
export { assertSpecOwnership } from './spec-ownership.js';
export { VulnDataRefresh } from './vulndb-refresh.js';
export { updateVulnerabilityData } from './vulndb-update.js';
