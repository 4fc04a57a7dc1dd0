/**
 * Acceptance of a candidate image: one instance of it, made exactly as the fleet controller makes
 * one (the same hardened create request from the fleet template the release will run with), runs
 * apart from the fleet; it must become healthy, pass the spec's `accept` checks in order, and hold
 * only the files its image's signed file manifest lists. It is removed afterwards, whatever happened.
 *
 * Apart from the fleet: the candidate's service label is `<service>.acceptance`, which no spec's
 * service can be (a service name has no dot), so the fleet controller, which lists and adopts its
 * instances by service, never sees it, and the watch's monitors find no fleet for it and leave it
 * alone. The `dev.herd.acceptance` label marks it as a candidate, so one left by a control plane
 * killed mid-acceptance is found and removed (`removeStaleCandidates`).
 *
 * Not journaled: the remediation run that calls it records the outcome as its `accept` stage.
 */
import { randomUUID } from 'node:crypto';
import { type Clock, systemClock } from '../common/index.js';
import { type Engine, EngineError, type Instance, type InstanceSpec } from '../engines/index.js';
import { type FleetTemplate, HttpTcpProber, instanceSpecFor } from '../fleet/index.js';
import { HerdError } from '../herd-error.js';
import type { HerdHome } from '../herd-home.js';
import { type Digest, type LayoutStore, shortDigest } from '../oci/index.js';
import type { HealthCheck } from '../specfile/index.js';
import { loadTrustedKeys } from '../trust/index.js';
import { type DriftFinding, verifyInstanceFiles } from '../watch/index.js';
import {
  type AcceptCheck,
  type CheckJudgement,
  checkName,
  judgeHttpAnswer,
  redacted,
} from './acceptance-checks.js';
import { type CandidateAddress, connectOnce, requestAnswer } from './acceptance-probes.js';
import type { PipelineLogger } from './parts.js';

/** Marks a candidate under acceptance; its value is the service the candidate is for. */
export const acceptanceLabel = 'dev.herd.acceptance';
/** One acceptance's own token: whatever carries it is removed when that acceptance ends. */
export const acceptanceRunLabel = 'dev.herd.acceptance-run';

/** How long a candidate may take to pass its health check when the spec's checks do not say. */
export const defaultHealthyWithinSeconds = 60;

/** A starting candidate is checked this often, as the controller checks a starting instance. */
const startupProbeMs = 250;

/** Findings named in the integrity detail; the count says how many there were. */
const findingsShown = 5;

export interface AcceptanceParts {
  engine: Engine;
  store: LayoutStore;
  /** HERD_HOME: its trusted keys verify the file manifest the candidate's files are held to. */
  home: Pick<HerdHome, 'root'>;
  clock?: Clock;
  log?: PipelineLogger;
  /** Runs the template's health check from outside (HttpTcpProber, as the controller's). */
  prober?: { check(address: CandidateAddress, health: HealthCheck): Promise<boolean> };
}

export interface AcceptanceRequest {
  service: string;
  digest: Digest;
  /** The fleet template the release will run with: the candidate is made from it. */
  template: FleetTemplate;
  /** Where the engine pulls the image from, as the controller's `imageRefFor` gives it. */
  imageRef: string;
  /** What the controller's `environmentFor` would give an instance (secrets included): never shown. */
  environment: Record<string, string>;
  /** The spec's `accept` checks, run in order. */
  checks: readonly AcceptCheck[];
  /** The wait for healthy when no `healthy` check says; default {@link defaultHealthyWithinSeconds}. */
  healthyWithinSeconds?: number;
}

export interface AcceptanceCheckResult {
  name: string;
  passed: boolean;
  detail: string;
  ms: number;
}

export interface AcceptanceResult {
  passed: boolean;
  /** The candidate's id, once the engine made it (removed by the time this is returned). */
  instance?: string;
  /** The wait for healthy first, then the spec's checks in order. */
  checks: AcceptanceCheckResult[];
  /** The candidate's files against its image's signed file manifest; absent when it never got healthy. */
  integrity?: { passed: boolean; detail: string };
}

/** The service label of a candidate for `service`: never a service name, which has no dot. */
export function candidateServiceOf(service: string): string {
  return `${service}.acceptance`;
}

/**
 * Pure: the candidate's create request. The fleet's own (`instanceSpecFor`: hardening, user,
 * writable paths, resources, the run template's label, the one port published on 127.0.0.1), with
 * the candidate's service label and its acceptance labels.
 */
export function candidateInstanceSpec(
  request: Pick<AcceptanceRequest, 'service' | 'digest' | 'template' | 'imageRef' | 'environment'>,
  run: string,
): InstanceSpec {
  const spec = instanceSpecFor(
    {
      service: candidateServiceOf(request.service),
      revision: shortDigest(request.digest),
      digest: request.digest,
      template: request.template,
    },
    { imageRef: request.imageRef, environment: request.environment },
  );
  return { ...spec, labels: { [acceptanceLabel]: request.service, [acceptanceRunLabel]: run } };
}

/**
 * Runs one candidate of `request.digest` apart from the fleet and judges it: healthy within the
 * wait, each check in order (all of them run, so the output shows every failure), then its files
 * against the signed file manifest. Failing is a result, not an error; the candidate is removed
 * before this returns or throws.
 */
export async function acceptCandidate(
  parts: AcceptanceParts,
  request: AcceptanceRequest,
): Promise<AcceptanceResult> {
  const clock = parts.clock ?? systemClock;
  const run = randomUUID();
  const spec = candidateInstanceSpec(request, run);
  const checks: AcceptanceCheckResult[] = [];
  const timed = async (name: string, judge: () => Promise<CheckJudgement>) => {
    const began = clock.now();
    const judgement = await judge();
    checks.push({ name, ...judgement, ms: clock.now() - began });
    return judgement;
  };
  try {
    let instance: Instance | undefined;
    await timed('start candidate', async () => {
      try {
        await parts.engine.ensureImage(spec);
        instance = await parts.engine.create(spec);
        return {
          passed: true,
          detail: `instance ${instance.id.slice(0, 12)} of ${shortDigest(request.digest)}`,
        };
      } catch (error) {
        if (!(error instanceof EngineError)) throw error;
        return { passed: false, detail: error.message };
      }
    });
    if (!instance) return { passed: false, checks };
    const candidate = instance;
    parts.log?.debug({ service: request.service, id: candidate.id }, 'acceptance candidate started');

    const context = { parts, clock, request, candidate };
    const [first, ...rest] = splitWait(request);
    const healthy = await timed(`healthy within ${first} s`, () => awaitHealthy(context, first));
    if (!healthy.passed) return { passed: false, instance: candidate.id, checks };
    for (const check of rest) await timed(checkName(check), () => runCheck(context, check));

    const integrity = await integrityOf(context);
    const passed = checks.every((one) => one.passed) && integrity.passed;
    return { passed, instance: candidate.id, checks, integrity };
  } finally {
    await removeRun(parts, { service: request.service, run });
  }
}

/**
 * Pure: the result as a run's `accept` stage output, one line per check then the integrity check,
 * then the verdict. Only what the result holds, so no value of the environment.
 */
export function acceptanceOutput(result: AcceptanceResult): string {
  const mark = (passed: boolean) => (passed ? 'passed' : 'FAILED');
  const lines = result.checks.map(
    (check) => `${mark(check.passed)}  ${check.name} (${durationText(check.ms)}): ${check.detail}`,
  );
  if (result.integrity) lines.push(`${mark(result.integrity.passed)}  integrity: ${result.integrity.detail}`);
  const failed =
    result.checks.filter((check) => !check.passed).length + (result.integrity?.passed === false ? 1 : 0);
  const total = result.checks.length + (result.integrity ? 1 : 0);
  lines.push(
    result.passed
      ? `acceptance passed: ${total} checks`
      : `acceptance failed: ${failed} of ${total} checks failed`,
  );
  return lines.join('\n');
}

function durationText(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/**
 * Removes every candidate on the engine: one left by a control plane killed mid-acceptance. The
 * loop calls it when it starts, before any acceptance of its own. Returns the removed ids.
 */
export async function removeStaleCandidates(engine: Engine): Promise<string[]> {
  const stale = (await engine.list()).filter(isCandidate);
  for (const one of stale) await engine.remove(one.id);
  return stale.map((one) => one.id);
}

/**
 * A candidate carries the label and the candidate service it names. The label alone is not enough:
 * an image's own config labels reach every instance made from it, so a fleet's instances could
 * carry it, and their service, a real one, is what tells them apart.
 */
function isCandidate(instance: Instance): boolean {
  const service = instance.labels[acceptanceLabel];
  return service !== undefined && instance.service === candidateServiceOf(service);
}

interface CandidateContext {
  parts: AcceptanceParts;
  clock: Clock;
  request: AcceptanceRequest;
  candidate: Instance;
}

/**
 * The first `healthy` check is the wait every candidate gets anyway (its seconds, else the
 * request's); the checks after it run in order, a later `healthy` check waiting again.
 */
function splitWait(request: AcceptanceRequest): [number, ...AcceptCheck[]] {
  const index = request.checks.findIndex((check) => check.kind === 'healthy');
  const first = request.checks[index];
  if (index < 0 || first?.kind !== 'healthy') {
    return [request.healthyWithinSeconds ?? defaultHealthyWithinSeconds, ...request.checks];
  }
  return [first.withinSeconds, ...request.checks.filter((_, at) => at !== index)];
}

async function runCheck(context: CandidateContext, check: AcceptCheck): Promise<CheckJudgement> {
  if (check.kind === 'healthy') return awaitHealthy(context, check.withinSeconds);
  const address = publishedAddress(context, check.port);
  if (typeof address === 'string') return { passed: false, detail: address };
  const timeoutMs = check.timeoutSeconds * 1000;
  switch (check.kind) {
    case 'tcp':
      return connectOnce(address, { timeoutMs });
    case 'http': {
      const outcome = await requestAnswer(address, { path: check.path, timeoutMs });
      if (outcome.kind === 'failed') return { passed: false, detail: outcome.detail };
      return judgeHttpAnswer(check, outcome.answer, { secrets: Object.values(context.request.environment) });
    }
  }
}

/** Where the check's container port is reachable, or why it is not: only the template's port is published. */
function publishedAddress(context: CandidateContext, port: number): CandidateAddress | string {
  const published = context.request.template.port;
  if (published === undefined) return `port ${port} is not published: the fleet's instances publish no port`;
  if (port !== published) {
    return `port ${port} is not published: the fleet's instances publish only ${published}, the health check's port`;
  }
  return (
    context.candidate.address ?? `port ${port} has no address: the engine published none for the candidate`
  );
}

/** The template's health check until it passes, every 250 ms, within `seconds`; a candidate that exits fails at once. */
async function awaitHealthy(context: CandidateContext, seconds: number): Promise<CheckJudgement> {
  const { parts, clock, candidate } = context;
  const health = context.request.template.run.health;
  if (!health) return { passed: true, detail: 'running; the spec has no health check' };
  const address = publishedAddress(context, health.port);
  if (typeof address === 'string') {
    // An instance that exited at once has no address: its exit is the reason, not the port.
    const gone = await exited(parts.engine, candidate);
    return { passed: false, detail: gone ? `${gone} before it was healthy` : address };
  }
  const prober = parts.prober ?? new HttpTcpProber();
  const deadline = clock.now() + seconds * 1000;
  for (;;) {
    if (await prober.check(address, health))
      return { passed: true, detail: `${describeHealth(health)} passed` };
    const gone = await exited(parts.engine, candidate);
    if (gone) return { passed: false, detail: `${gone} before it was healthy` };
    if (clock.now() >= deadline) {
      return { passed: false, detail: `${describeHealth(health)} did not pass within ${seconds} s` };
    }
    await new Promise<void>((resolve) => clock.setTimer(startupProbeMs, resolve));
  }
}

function describeHealth(health: HealthCheck): string {
  return health.kind === 'http'
    ? `health check GET :${health.port}${health.path}`
    : `health check tcp :${health.port}`;
}

/** Why the candidate is no longer running, or undefined while it is. */
async function exited(engine: Engine, candidate: Instance): Promise<string | undefined> {
  const now = (await engine.list({ service: candidate.service })).find((one) => one.id === candidate.id);
  if (!now) return 'the candidate was removed';
  if (now.state === 'exited') return `the candidate exited with code ${now.exitCode ?? 'unknown'}`;
  return undefined;
}

/** The candidate's whole filesystem against the file manifest its image's signer attested. */
async function integrityOf(context: CandidateContext): Promise<{ passed: boolean; detail: string }> {
  const { parts, candidate, request } = context;
  try {
    const publicKeys = (await loadTrustedKeys(parts.home)).map((key) => key.publicKey);
    const verdict = await verifyInstanceFiles(
      parts.engine,
      { id: candidate.id, digest: request.digest, writable: request.template.run.writable },
      { store: parts.store, publicKeys },
    );
    if (verdict.kind === 'untrusted') {
      return { passed: false, detail: `no trusted file manifest (${verdict.code}): ${verdict.reason}` };
    }
    if (verdict.findings.length === 0) {
      return {
        passed: true,
        detail: `${verdict.entries} entries match the signed file manifest (${verdict.bytes} bytes hashed)`,
      };
    }
    return {
      passed: false,
      detail: describeFindings(verdict.findings, { secrets: Object.values(request.environment) }),
    };
  } catch (error) {
    // A cut or forged export, an engine that failed mid-read: nothing verified is a failure.
    if (error instanceof HerdError)
      return { passed: false, detail: `integrity check failed: ${error.message}` };
    throw error;
  }
}

function describeFindings(
  findings: readonly DriftFinding[],
  options: { secrets: readonly string[] },
): string {
  // The candidate names its files: never a value of its environment in the output, nor a line break.
  const shown = findings
    .slice(0, findingsShown)
    .map(
      (one) =>
        `${oneLine(redacted(one.path, options.secrets))} ${one.change}: ${oneLine(redacted(one.reason, options.secrets))}`,
    );
  const more = findings.length > findingsShown ? `; and ${findings.length - findingsShown} more` : '';
  const paths = findings.length === 1 ? '1 path differs' : `${findings.length} paths differ`;
  return `${paths} from the signed file manifest: ${shown.join('; ')}${more}`;
}

/**
 * A path (or link target) as the candidate named it, quoted as JSON when it holds a control
 * character: an intruder in the candidate names its files, and a line break would forge a line
 * of the stage's output.
 */
function oneLine(path: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is looked for
  if (!/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(path)) return path;
  // JSON escapes C0 only; DEL, C1 and the line separators are escaped here too.
  return JSON.stringify(path).replace(
    /[\u007f-\u009f\u2028\u2029]/g,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** Removes whatever this acceptance made, even a candidate whose create failed halfway. */
async function removeRun(parts: AcceptanceParts, options: { service: string; run: string }): Promise<void> {
  try {
    const made = (await parts.engine.list({ service: candidateServiceOf(options.service) })).filter(
      (one) => one.labels[acceptanceRunLabel] === options.run,
    );
    for (const one of made) await parts.engine.remove(one.id);
  } catch (error) {
    // The next loop start removes it (removeStaleCandidates); the result stands.
    parts.log?.warn({ service: options.service, err: String(error) }, 'acceptance candidate not removed');
  }
}
