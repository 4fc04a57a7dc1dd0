/**
 * The update monitor's look at the gate's policy: the deployed image judged again by the rules the
 * spec's current `gate:` section sets, once per change of that policy, not on every check. Nothing
 * is stored and nothing journaled: a failing verdict attached to the running digest would be the
 * latest verdict admission reads for it, and would change what the fleet may run while its
 * replacement is built. The rebuild's own gate stage stores and journals its verdict as always.
 */
import { canonicalJson, sha256Hex } from '../common/index.js';
import { gateImage, isWaiverActive } from '../gate/index.js';
import type { Digest, LayoutStore } from '../oci/index.js';
import type { LoadedSpec, Spec } from '../specfile/index.js';
import type { UpdateFinding } from './remediation-types.js';
import { policyFinding } from './update-findings.js';

export interface PolicyRequest {
  /** The image the fleet runs, in the store. */
  digest: Digest;
  /** The spec as it reads now: its `gate:` section is the policy. */
  spec: LoadedSpec;
  /** From the injected clock: decides which waivers still apply. */
  now: Date;
}

/**
 * The ids of the rules that fail for a stored image under the spec's policy, sorted. This is the
 * gate's own judgment (`gateImage`: hardening rules for the profile, the secret scan, waivers,
 * budget, allowed setuid files) without its effects: no verdict is stored. Vulnerabilities are
 * left out (no data is handed in, so the only vulnerability note is the "unchecked" warning,
 * which never fails): the monitor's package and CVE findings cover them. herd.lock is left out too:
 * the spec's lock may have moved past the image's, and the signed-suites rule was judged at build.
 */
export async function failingRulesUnderPolicy(store: LayoutStore, request: PolicyRequest): Promise<string[]> {
  const { spec } = request.spec;
  const verdict = await gateImage(store, request.digest, { now: request.now, spec, gate: spec.gate });
  const failing = verdict.findings.filter(
    (finding) => finding.fails && finding.kind !== 'vulnerability' && finding.kind !== 'vulndb',
  );
  return [...new Set(failing.map((finding) => finding.rule))].sort();
}

/**
 * What the rules read of the spec, at `now`: the `gate:` section with only the waivers still in
 * force (a waiver that expires changes the policy as surely as an edit), and the settings some
 * rules judge (`run`, `env`, `health`, `ports`). Equal fingerprints give equal judgments of one image.
 */
export function policyFingerprint(spec: Spec, now: Date): string {
  const { gate, run, env, health, ports } = spec;
  const inForce = gate.waivers.filter((waiver) => isWaiverActive(waiver, now));
  return sha256Hex(canonicalJson({ gate: { ...gate, waivers: inForce }, run, env, health, ports }));
}

/** How the rules are judged; `failingRulesUnderPolicy` unless a test counts the calls. */
export type PolicyJudge = (store: LayoutStore, request: PolicyRequest) => Promise<string[]>;

interface Judgment {
  digest: Digest;
  fingerprint: string;
  rules: string[];
  /** When these rules were first seen failing for this digest. */
  failingSince?: string;
}

/**
 * Remembers, per service, the last (digest, policy fingerprint) judged and what failed, in this
 * control plane's memory: a check under the same policy costs nothing; a restarted control plane
 * judges once more. One entry per service, so memory stays bounded however often policies change.
 */
export class PolicyRecheck {
  private readonly judged = new Map<string, Judgment>();

  constructor(private readonly judge: PolicyJudge = failingRulesUnderPolicy) {}

  /** The rules that fail for the deployed image under the spec's current policy, and since when. */
  async failingRules(
    store: LayoutStore,
    request: PolicyRequest,
  ): Promise<{ rules: string[]; failingSince?: string }> {
    const service = request.spec.spec.service;
    const fingerprint = policyFingerprint(request.spec.spec, request.now);
    const last = this.judged.get(service);
    if (last?.digest === request.digest && last.fingerprint === fingerprint) return last;
    const rules = await this.judge(store, request);
    // Failing under one policy and then another is one finding: it started with the first.
    const failingSince =
      rules.length === 0
        ? undefined
        : last?.digest === request.digest && last.failingSince
          ? last.failingSince
          : request.now.toISOString();
    const judgment: Judgment = {
      digest: request.digest,
      fingerprint,
      rules,
      ...(failingSince ? { failingSince } : {}),
    };
    this.judged.set(service, judgment);
    return judgment;
  }

  /** The `policy` finding for the deployed image, or undefined when every rule passes. */
  async finding(store: LayoutStore, request: PolicyRequest): Promise<UpdateFinding | undefined> {
    const { rules, failingSince } = await this.failingRules(store, request);
    return policyFinding({
      service: request.spec.spec.service,
      digest: request.digest,
      failingRules: rules,
      now: request.now.toISOString(),
      ...(failingSince ? { firstSeenAt: failingSince } : {}),
    });
  }
}
