/**
 * A remediation run's stages over the real use cases: the same lock, build, gate, sign, release
 * and rollout that `herd lock`, `herd build`, `herd up` and the fleet API take, so a run journals
 * each step as they do. The run works on its own copy of herd.lock under HERD_HOME/pipeline; the
 * spec's herd.lock is replaced (atomically) only once the run's image is released to production,
 * so a run that fails leaves the spec's folder as it was and the monitor finds the update again.
 */
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  describeLockChange,
  diffLocks,
  formatLock,
  type Lock,
  readLock,
  silentProgress,
} from '../builder/index.js';
import { type Clock, writeAtomic } from '../common/index.js';
import { type FleetTemplate, fleetTemplateFor } from '../fleet/index.js';
import type { Verdict } from '../gate/index.js';
import type { HerdHome } from '../herd-home.js';
import type { Digest, LayoutStore } from '../oci/index.js';
import type { Spec } from '../specfile/index.js';
import { localRepository, type Signer } from '../trust/index.js';
import { buildAndGate } from './build-and-gate.js';
import { gateStoredImage } from './gate.js';
import { backwardChanges, lockSpec, type SpecInputs } from './lock.js';
import type { PipelineLogger, PipelineState } from './parts.js';
import { releaseImage } from './release.js';
import { type RunSteps, StageFailed } from './remediation-run.js';
import { signAndAttest } from './sign-and-attest.js';
import { buildCaches } from './spec-inputs.js';

/** What a run's stages need beyond the spec: herd's parts and the control plane's fleet. */
export interface RemediationStepParts {
  home: HerdHome;
  store: LayoutStore;
  state: PipelineState;
  clock: Clock;
  logger: PipelineLogger;
  herdVersion: string;
  /** The signing key, unlocked when the sign stage needs it. */
  signer(): Promise<Signer>;
  /** A candidate instance apart from the fleet, with the spec's `accept` checks. */
  accept(request: { service: string; digest: Digest; template: FleetTemplate; spec: Spec }): Promise<{
    passed: boolean;
    output: string;
  }>;
  /** Hands the digest to the fleet with the template; resolves when every instance runs it. */
  rollout(request: { service: string; digest: Digest; template: FleetTemplate }): Promise<string>;
}

/** The run's own folder under HERD_HOME/pipeline, with its lock. */
export function runLockPath(home: Pick<HerdHome, 'pipeline'>, runId: number): string {
  return join(home.pipeline, String(runId), 'herd.lock');
}

export function remediationSteps(runId: number, spec: SpecInputs, parts: RemediationStepParts): RunSteps {
  const { loaded } = spec;
  const service = loaded.spec.service;
  const runSpec: SpecInputs = { ...spec, lockPath: runLockPath(parts.home, runId) };
  const template = fleetTemplateFor(loaded.spec, loaded.spec.fleet);
  const buildParts = {
    ...parts,
    ...buildCaches(parts.home),
    // A run reports through its stages' records, not a terminal.
    progress: silentProgress,
  };
  let verdict: Verdict | undefined;
  let lock: Lock | undefined;
  return {
    async lock() {
      await mkdir(dirname(runSpec.lockPath), { recursive: true, mode: 0o700 });
      const before = await readLock(spec.lockPath);
      // The spec's lock goes first, so its Release dates are remembered against a rollback.
      if (before) await copyFile(spec.lockPath, runSpec.lockPath);
      lock = await lockSpec(runSpec, parts);
      const changes = before ? diffLocks(before, lock) : [];
      // A mirror that serves an older version (or other bytes under the same one) under a newer
      // Release is a rollback of that package: never built, whatever the check saw before.
      const backwards = backwardChanges(changes);
      if (backwards.length > 0) {
        throw new StageFailed(
          `the archive went back for ${backwards.length} package${backwards.length === 1 ? '' : 's'} against ${spec.lockPath}: expected the same or newer versions`,
          backwards.map(describeLockChange).join('\n'),
        );
      }
      return {
        output: [
          `locked ${lock.packages.length} packages from ${lock.suites.map((one) => one.suite).join(', ')}`,
          ...changes.map(describeLockChange),
        ].join('\n'),
      };
    },
    async build() {
      const { image } = await buildAndGate(runSpec, buildParts, {
        gate: false,
        herdVersion: parts.herdVersion,
      });
      return {
        digest: image.digest,
        output: `built ${image.refName} ${image.digest} (${image.packageCount} packages)`,
      };
    },
    async gate(digest) {
      lock ??= await readLock(runSpec.lockPath);
      verdict = await gateStoredImage(digest, parts, {
        spec: loaded,
        ...(lock ? { lockFile: Buffer.from(formatLock(lock)) } : {}),
      });
      const failing = verdict.findings.filter((finding) => finding.fails);
      const lines = failing.map((finding) => `${finding.rule} ${finding.message}`);
      if (!verdict.passed) {
        throw new StageFailed(
          `the gate failed (${verdict.profile}): ${failing.map((finding) => finding.rule).join(', ')}`,
          lines.join('\n'),
        );
      }
      return {
        output: `gate passed (${verdict.profile}, ${verdict.findings.length} findings, none failing)`,
      };
    },
    async sign(digest) {
      if (!verdict) throw new StageFailed('no verdict of this run to sign with');
      const signer = await parts.signer();
      await signAndAttest(digest, { ...parts, signer }, { identity: localRepository(service), verdict });
      return { output: `signed ${digest} for ${localRepository(service)}` };
    },
    async accept(digest) {
      const result = await parts.accept({ service, digest, template, spec: loaded.spec });
      if (!result.passed) throw new StageFailed('the candidate failed its acceptance checks', result.output);
      return { output: result.output };
    },
    async release(digest, stage) {
      const outcome = await releaseImage(parts, { service, digest, stage });
      const said = outcome.kind === 'unchanged' ? `already released at ${stage}` : `released at ${stage}`;
      if (stage !== 'production') return { output: `${digest} ${said}` };
      // Production runs this lock now: the spec's folder says so, for the next check and for review.
      const text = await readFile(runSpec.lockPath);
      await writeAtomic(spec.lockPath, text, { mode: 0o644 });
      return { output: `${digest} ${said}; ${spec.lockPath} now pins what it runs` };
    },
    async rollout(digest) {
      return { output: await parts.rollout({ service, digest, template }) };
    },
  };
}
