import { HerdError } from '../herd-error.js';

/**
 * Every failure src/pipeline's remediation runs raise on purpose (the other use cases pass the
 * areas' own errors through). Tests assert these codes, not the messages; src/server/api-answer.ts
 * gives each its HTTP status.
 */
export type PipelineErrorCode =
  /** No pipeline run has that id, or no spec is registered for its fleet. */
  | 'RUN_NOT_FOUND'
  /** `herd approve` of a run that is not held at its approve stage (running, done or failed). */
  | 'RUN_NOT_AWAITING_APPROVAL'
  /** The rollout of a run's digest was reverted, superseded or did not complete in time. */
  | 'ROLLOUT_FAILED'
  /** A run resumed or approved after its herd.yaml changed: it would roll out what was not accepted. */
  | 'SPEC_CHANGED'
  /** A registered spec, its herd.lock or a folder above them is changeable by another local user. */
  | 'SPEC_UNTRUSTED';

export class PipelineError extends HerdError<PipelineErrorCode> {}
