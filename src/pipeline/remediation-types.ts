/**
 * The words of the remediation loop (issue "patch by replacement"): what the update monitor finds
 * about a deployed image, and the pipeline run that replaces it. Shared by the monitor
 * (`update-findings.ts`), the runs (`remediation-run.ts`, `remediation-store.ts`), the loop
 * (`remediation-loop.ts`), and the routes and commands that show them.
 */
import type { Digest } from '../oci/index.js';
import { type Urgency, urgencies } from '../specfile/index.js';

/**
 * The tracker's urgency levels, lowest first (src/gate/vulns/severity.ts names the same): the one
 * list is specfile's, since herd.yaml's `policy.urgency` names them too.
 */
export { type Urgency, urgencies };

/** One package of a deployed image that the signed archive now serves at another version. */
export interface PackageUpdate {
  name: string;
  /** The version the deployed image has; absent for a package the fresh lock adds. */
  from?: string;
  /** The version the archive serves now; absent for a package the fresh lock drops. */
  to?: string;
  /** The suite the new version comes from (bookworm-security, …). */
  suite?: string;
  /** CVEs that affect `from` and not `to`, by the vulnerability data. */
  cvesFixed: string[];
  /** The highest urgency among `cvesFixed`; absent when it fixes none that the data knows. */
  urgency?: Urgency;
  /**
   * When the new version was first visible in the signed archive: the `Date` of the first signed
   * Release herd saw carrying it (ISO 8601 UTC). Time-to-remediate counts from here.
   */
  visibleAt: string;
}

export type UpdateFindingKind =
  /** The lock, resolved again against the signed archive, pins other versions. */
  | 'package-update'
  /** Refreshed vulnerability data finds CVEs in the deployed packages (with or without a fix). */
  | 'vulnerability'
  /** The spec's gate policy changed since the deployed image was gated, and its rules fail now. */
  | 'policy'
  /** The image is older than `watch.maxImageAge`: rotated even without a finding. */
  | 'image-age';

export interface UpdateFinding {
  service: string;
  /** The deployed digest the finding is about. */
  digest: Digest;
  kind: UpdateFindingKind;
  /** One line for people: `openssl 3.0.11-1~deb12u1 → 3.0.11-1~deb12u2 (CVE-2023-5678, high)`. */
  summary: string;
  packages: PackageUpdate[];
  /** Every CVE a rebuild fixes, sorted. */
  cvesFixed: string[];
  /** For a `vulnerability` finding: the CVEs in the deployed packages that no rebuild fixes yet, sorted. */
  cvesOpen?: string[];
  /** True when at least one CVE is fixed, or the new version comes from a security suite. */
  security: boolean;
  urgency?: Urgency;
  /** The earliest `visibleAt` of its packages; for policy and age findings, when herd first saw it. */
  visibleAt: string;
  detectedAt: string;
  /** True when a rebuild can change it (a fix exists); a vulnerability with no fix yet is reported only. */
  actionable: boolean;
  /** The failing rule ids, for a `policy` finding. */
  rules?: string[];
}

/** The stages of a run, in order. `approve` is where a manual policy waits for `herd approve`. */
export const runStages = [
  'lock',
  'build',
  'gate',
  'sign',
  'accept',
  'release',
  'approve',
  'promote',
  'rollout',
] as const;
export type RunStage = (typeof runStages)[number];

export type RunStatus = 'running' | 'awaiting-approval' | 'succeeded' | 'failed';

export interface RunStageRecord {
  stage: RunStage;
  status: 'running' | 'passed' | 'failed' | 'skipped';
  startedAt: string;
  endedAt?: string;
  durationMs?: number;
  /** What the stage said, for `herd pipeline logs`; capped, never an env value or a secret. */
  output: string;
}

export interface PipelineRun {
  id: number;
  service: string;
  status: RunStatus;
  /** The stage running, waiting or where it failed. */
  stage?: RunStage;
  /** What started it: the monitor on its schedule, or `herd check`. */
  trigger: 'schedule' | 'check';
  findings: UpdateFinding[];
  /** The digest of the herd.yaml the run was started with; it goes on only with the same one. */
  specDigest: string;
  /** The digest the fleet ran when the run started. */
  fromDigest: Digest;
  /** The digest the run built, once built. */
  digest?: Digest;
  createdAt: string;
  endedAt?: string;
  /** Why it failed, in one line naming the stage. */
  error?: string;
  stages: RunStageRecord[];
  /** From the earliest finding's `visibleAt` to the last instance replaced; set when it succeeded. */
  timeToRemediateMs?: number;
}

/** Time-to-remediate of one fleet's succeeded runs, for `herd status` and the pipeline view. */
export interface RemediationTimes {
  service: string;
  count: number;
  lastMs?: number;
  p50Ms?: number;
  p90Ms?: number;
  maxMs?: number;
}

/** What `herd check` and the monitor's tick report for one fleet. */
export interface CheckOutcome {
  service: string;
  findings: UpdateFinding[];
  /** The run started for the findings, or why none was (policy, window, a run already going, …). */
  run?: PipelineRun;
  skipped?: string;
}

/**
 * The remediation loop as the control plane offers it to its routes (src/server) and, through
 * them, to `herd check`, `herd pipeline` and `herd approve`.
 */
export interface Remediation {
  /** Checks now (one fleet, or every fleet with a registered spec), starting runs as policy says. */
  check(options?: { service?: string; actor?: string }): Promise<CheckOutcome[]>;
  /** Newest first. */
  runs(filter?: { service?: string; limit?: number }): PipelineRun[];
  run(id: number): PipelineRun | undefined;
  /** A run held at `approve` goes on to production and rollout; refused for any other run. */
  approve(id: number, options: { actor: string }): Promise<PipelineRun>;
  times(service: string): RemediationTimes;
  stop(): Promise<void>;
}
