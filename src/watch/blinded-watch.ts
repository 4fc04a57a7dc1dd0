/**
 * A drift watch an intruder has blinded: the engine's `changes` of one instance failing again and
 * again. On Kubernetes the diff is a probe in the instance's pod, of the workload's own uid, which
 * an intruder with that uid can kill, stop or garble (docs/adr/0014): each such probe fails, and
 * a watch that only logged the failure and asked again would be blind for good. So repeated
 * failure is itself a finding, as failing health checks are: past `afterMs` of failures without
 * one success, and at least `minFailures` distinct ones (a probe's, not the same answer asked for
 * again), the instance is replaced and the reason journaled. Time is given by the caller; pure but
 * for its memory.
 */
import { EngineError } from '../engines/index.js';
import type { DriftFinding } from './findings.js';

/** Three failed probes at Kubernetes' default pace (one per 5 minutes): 10 minutes. */
export const defaultBlindAfterMs = 10 * 60_000;
export const defaultBlindMinFailures = 3;

/**
 * Failures that say nothing about the instance: gone (NOT_FOUND), an engine with no diff at all
 * (UNSUPPORTED: every instance would be replaced for the engine's lack), the engine itself not
 * answering (UNREACHABLE: an API server down is no intruder in one pod).
 */
export function blindsTheWatch(error: unknown): boolean {
  if (!(error instanceof EngineError)) return true;
  return !['NOT_FOUND', 'UNSUPPORTED', 'UNREACHABLE'].includes(error.code);
}

export class BlindedWatch {
  private readonly failing = new Map<string, { since: number; failures: number; last: unknown }>();

  constructor(private readonly options: { afterMs?: number; minFailures?: number } = {}) {}

  /** The instance's diff was read: whatever failed before is forgotten. */
  succeeded(id: string): void {
    this.failing.delete(id);
  }

  /**
   * The instance's diff failed with `error` at `now`: a finding once the watch of it counts as
   * blinded (then its count starts again), else undefined.
   */
  failed(id: string, error: unknown, now: number): DriftFinding | undefined {
    if (!blindsTheWatch(error)) return undefined;
    const state = this.failing.get(id) ?? { since: now, failures: 0, last: undefined };
    // An engine that answers from the last probe in between (Kubernetes) rejects with the same
    // error each time: one failure, however often it is asked.
    if (error !== state.last) state.failures += 1;
    state.last = error;
    this.failing.set(id, state);
    const afterMs = this.options.afterMs ?? defaultBlindAfterMs;
    const minFailures = this.options.minFailures ?? defaultBlindMinFailures;
    if (state.failures < minFailures || now - state.since < afterMs) return undefined;
    this.failing.delete(id);
    const message = error instanceof Error ? error.message : String(error);
    return {
      path: '/',
      change: 'modified',
      reason: `drift watch blinded: the engine's diff failed ${state.failures} times over ${Math.round((now - state.since) / 1000)} s without one success, last: ${message.slice(0, 300)}`,
    };
  }

  /** Only the listed instances are remembered. */
  retain(listed: ReadonlySet<string>): void {
    for (const id of this.failing.keys()) if (!listed.has(id)) this.failing.delete(id);
  }
}
