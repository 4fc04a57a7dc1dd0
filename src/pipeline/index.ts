/** The use cases (src/pipeline/README.md): what the CLI and the control plane call. */
export {
  type AcceptanceCheckResult,
  type AcceptanceParts,
  type AcceptanceRequest,
  type AcceptanceResult,
  acceptanceLabel,
  acceptanceOutput,
  acceptCandidate,
  candidateServiceOf,
  removeStaleCandidates,
} from './acceptance.js';
export { checkName, type HttpAnswer, judgeHttpAnswer } from './acceptance-checks.js';
export {
  type AdmitParts,
  type AdmitRequest,
  type Admitted,
  admitImage,
  controllerAdmission,
} from './admit.js';
export { type BuildParts, type BuildRequest, type BuiltAndGated, buildAndGate } from './build-and-gate.js';
export {
  checkForUpdates,
  type DeployedImage,
  loadVulnDataIfAny,
  type UpdateCheck,
  type UpdateCheckParts,
} from './check-updates.js';
export { PipelineError, type PipelineErrorCode } from './errors.js';
export { type GateParts, type GateRequest, gateStoredImage, updateVulnerabilityData } from './gate.js';
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
export { type PipelineWebhookBody, pipelineWebhookBody, postPipelineWebhook } from './pipeline-webhook.js';
export {
  failingRulesUnderPolicy,
  type PolicyJudge,
  PolicyRecheck,
  type PolicyRequest,
  policyFingerprint,
} from './policy-recheck.js';
export { type PulledForVerification, type PullParts, pullForVerification, pullFromRegistry } from './pull.js';
export { type Pushed, type PushParts, pushToRegistry } from './push.js';
export { type ReleaseParts, releaseImage, revokeImage, trustedSignatureCheck } from './release.js';
export {
  type FleetCheck,
  RecordedRemediation,
  RemediationLoop,
  type RemediationLoopParts,
} from './remediation-loop.js';
export {
  decideRun,
  describeWindow,
  inWindow,
  meetsUrgency,
  nextWindowOpening,
  type Percentiles,
  percentiles,
  type RunDecision,
  runTarget,
  type TargetLock,
} from './remediation-policy.js';
export { executeRun, type RunSteps, resumeStage, StageFailed } from './remediation-run.js';
export { type RemediationStepParts, remediationSteps, runLockPath } from './remediation-steps.js';
export { type PipelineSource, RemediationStore } from './remediation-store.js';
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
export {
  type RolloutParts,
  type RolloutRequest,
  type RolloutTarget,
  rollbackFleet,
  rolloutImage,
  scaleFleet,
} from './rollout.js';
export { type Signability, type SignParts, signAndAttest, signability } from './sign-and-attest.js';
export { assertSpecOwnership } from './spec-ownership.js';
export {
  highestUrgency,
  imageAgeFinding,
  matchLockPackages,
  packageUpdateFinding,
  policyFinding,
  updateSummary,
  urgencyOf,
  type VisibleAt,
  vulnerabilityFinding,
} from './update-findings.js';
export { firstVisible, type SeenVersion, VisibleVersions } from './update-visibility.js';
export {
  type RefreshDecision,
  sourceForLog,
  VulnDataRefresh,
  type VulnDataRefreshParts,
  vulnDataRefreshDue,
} from './vulndb-refresh.js';
