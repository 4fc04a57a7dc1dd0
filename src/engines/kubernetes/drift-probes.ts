/**
 * `changes(id)` on Kubernetes: herd's drift probe added to the pod as an ephemeral container
 * (probe-container.ts), waited on until it ends, its log read and checked (probe-listing.ts) and
 * compared with the image's signed file list (compare-listing.ts).
 *
 * Each probe stays in the pod for good (an ephemeral container cannot be removed), so a pod gets
 * at most one per `intervalMs` (the answer in between is the last one: the integrity monitor asks
 * every second) and at most `maxPerPod` in all, after which the pod must be replaced. A probe that
 * ended, well or not, counts: a failing one is not tried again at once.
 */
import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import type { FileManifestEntry } from '../../oci/index.js';
import { EngineError, type FilesystemChange } from '../engine.js';
import { compareListing } from './compare-listing.js';
import { instanceContainerName } from './pod-template.js';
import { probeBoundExceeded } from './probe-bounds.js';
import {
  type DriftProbeImage,
  driftProbeContainer,
  markerFilesOf,
  nextProbeName,
  probeNamesOf,
  probeSkipsOf,
} from './probe-container.js';
import { parseProbeListing } from './probe-listing.js';

export interface DriftProbeOptions {
  /** herd's probe image (probe/herd.yaml), built, signed and released; admitted before each probe. */
  image: DriftProbeImage;
  /**
   * The files of an image as its signed file manifest lists them: the trusted baseline the probe's
   * listing is compared with. Given by the layer that verifies signatures (src/watch).
   */
  imageFiles(digest: `sha256:${string}`): Promise<readonly FileManifestEntry[]>;
  /** At most one probe per pod in this time; 5 min by default (the integrity monitor's deep check). */
  intervalMs?: number;
  /** At most this many probes in one pod's life; 200 by default (about 17 hours at the default interval). */
  maxPerPod?: number;
  /** How long a probe may take, its image pull included; 120 s by default. */
  timeoutMs?: number;
}

export const defaultProbeIntervalMs = 5 * 60_000;
export const defaultMaxProbesPerPod = 200;

/** What the engine lends the probes: its client, its error mapping, its admission of a digest. */
export interface DriftProbeContext {
  core: CoreV1Api;
  namespace: string;
  pollMs: number;
  call<T>(what: string, request: () => Promise<T>): Promise<T>;
  readPod(name: string): Promise<V1Pod | undefined>;
  admit(image: DriftProbeImage): Promise<void>;
  /** The probe image's reference as the nodes pull it. */
  pullReference(imageRef: string): string;
}

type Outcome = { ok: true; changes: FilesystemChange[] } | { ok: false; error: unknown };

const imageFailures = new Set([
  'ErrImagePull',
  'ImagePullBackOff',
  'InvalidImageName',
  'ErrImageNeverPull',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
]);

export class DriftProbes {
  private readonly last = new Map<string, { at: number; outcome: Outcome }>();
  private readonly running = new Map<string, Promise<FilesystemChange[]>>();

  constructor(
    private readonly context: DriftProbeContext,
    private readonly options: DriftProbeOptions,
  ) {}

  /**
   * The last answer while it is fresh; else a new probe, waited for only when there is no last
   * answer: while it runs, the last one (at most two intervals old) stands. A probe an intruder
   * stopped (SIGSTOP) then stalls no monitor pass over the other pods; its timeout ends it as a
   * failure, the answer from then on.
   */
  changes(id: string): Promise<FilesystemChange[]> {
    const now = Date.now();
    const interval = this.options.intervalMs ?? defaultProbeIntervalMs;
    for (const [pod, last] of this.last) if (now - last.at > 2 * interval) this.last.delete(pod);
    const last = this.last.get(id);
    const answer = (outcome: Outcome) =>
      outcome.ok ? Promise.resolve(outcome.changes) : Promise.reject(outcome.error);
    if (last && now - last.at < interval) return answer(last.outcome);
    let probing = this.running.get(id);
    if (!probing) {
      probing = this.probe(id).finally(() => this.running.delete(id));
      this.running.set(id, probing);
    }
    if (last && interval > 0) {
      // Its outcome is kept by `probe`; nobody waits for it here.
      probing.catch(() => {});
      return answer(last.outcome);
    }
    return probing;
  }

  private async probe(id: string): Promise<FilesystemChange[]> {
    const { context } = this;
    const pod = await context.readPod(id);
    if (!pod) throw new EngineError('NOT_FOUND', `no pod ${id} in namespace ${context.namespace}`);
    const remember = (outcome: Outcome) => this.last.set(id, { at: Date.now(), outcome });
    try {
      const changes = await this.probeOnce(pod);
      remember({ ok: true, changes });
      return changes;
    } catch (error) {
      if (!(error instanceof EngineError && error.code === 'NOT_FOUND')) remember({ ok: false, error });
      throw error;
    }
  }

  private async probeOnce(pod: V1Pod): Promise<FilesystemChange[]> {
    const { context, options } = this;
    const id = pod.metadata?.name ?? '';
    const max = options.maxPerPod ?? defaultMaxProbesPerPod;
    const done = probeNamesOf(pod).length;
    if (done >= max) {
      throw new EngineError(
        'OTHER',
        `pod ${id} already holds ${done} drift probes, the most herd adds to one pod (an ephemeral container is never removed): expected the pod replaced`,
      );
    }
    const digest = workloadDigestOf(pod);
    const image = await options.imageFiles(digest);
    const tooLarge = probeBoundExceeded(image);
    if (tooLarge) {
      throw new EngineError('UNSUPPORTED', `the drift probe cannot list pod ${id}: ${tooLarge}`);
    }
    const skips = probeSkipsOf(pod);
    const markers = markerFilesOf(image, skips);
    await context.admit(options.image);
    // The pod changes under us (its status, another probe): read it again, at most three times.
    let name = nextProbeName(pod);
    let current = pod;
    for (let attempt = 1; ; attempt += 1) {
      const answer = await this.addProbe(current, { name, markers, skips });
      if (answer === true) break;
      if (attempt >= 3) {
        throw new EngineError(
          'OTHER',
          `adding drift probe ${name} to pod ${id} was refused ${attempt} times, last with ${answer}: expected the pod to hold still for one`,
        );
      }
      const again = await context.readPod(id);
      if (!again)
        throw new EngineError('NOT_FOUND', `pod ${id} was removed while drift probe ${name} was added`);
      current = again;
      name = nextProbeName(current);
    }
    const exitCode = await this.waitUntilEnded(id, name);
    const log = await context.call(`reading the log of drift probe ${name} of pod ${id}`, () =>
      context.core.readNamespacedPodLog({ name: id, namespace: context.namespace, container: name }),
    );
    if (exitCode !== 0) {
      // The probe says why on its last line; parsing shows it, or says the log has no reason.
      parseProbeListing(log, { pod: id, container: name });
      throw new EngineError('OTHER', `the drift probe ${name} of pod ${id} exited with code ${exitCode}`);
    }
    const listing = parseProbeListing(log, { pod: id, container: name });
    return compareListing(image, listing.entries, { skipped: skips });
  }

  /**
   * Adds the probe to `pod` as read: true, or the API server's answer when the pod changed since
   * (409, or 422 for a failed `test` or a list that grew).
   */
  private async addProbe(
    pod: V1Pod,
    probe: { name: string; markers: readonly string[]; skips: readonly string[] },
  ): Promise<true | string> {
    const { context, options } = this;
    const id = pod.metadata?.name ?? '';
    const container = driftProbeContainer(pod, {
      ...probe,
      image: { ...options.image, imageRef: context.pullReference(options.image.imageRef) },
    });
    const first = (pod.spec?.ephemeralContainers ?? []).length === 0;
    return context.call(`adding drift probe ${probe.name} to pod ${id}`, async () => {
      try {
        await context.core.patchNamespacedPodEphemeralcontainers({
          name: id,
          namespace: context.namespace,
          // JSON Patch: refused if the pod changed since it was read, so the name stays unique.
          body: [
            { op: 'test', path: '/metadata/resourceVersion', value: pod.metadata?.resourceVersion },
            first
              ? { op: 'add', path: '/spec/ephemeralContainers', value: [container] }
              : { op: 'add', path: '/spec/ephemeralContainers/-', value: container },
          ],
        });
        return true;
      } catch (error) {
        const status = (error as { code?: unknown } | null)?.code;
        if (status !== 409 && status !== 422) throw error;
        const body = (error as { body?: unknown }).body;
        return `${status} ${String(typeof body === 'string' ? body : JSON.stringify(body)).slice(0, 300)}`;
      }
    });
  }

  /** Until the probe's status says it terminated; its exit code. */
  private async waitUntilEnded(id: string, name: string): Promise<number> {
    const timeout = this.options.timeoutMs ?? 120_000;
    const deadline = Date.now() + timeout;
    for (;;) {
      const pod = await this.context.readPod(id);
      if (!pod) throw new EngineError('NOT_FOUND', `pod ${id} was removed while drift probe ${name} ran`);
      const status = pod.status?.ephemeralContainerStatuses?.find((one) => one.name === name);
      const terminated = status?.state?.terminated;
      if (terminated) return terminated.exitCode;
      const waiting = status?.state?.waiting;
      if (waiting?.reason && imageFailures.has(waiting.reason)) {
        throw new EngineError(
          waiting.reason.startsWith('Create') || waiting.reason === 'RunContainerError' ? 'OTHER' : 'IMAGE',
          `drift probe ${name} of pod ${id} did not start: ${waiting.reason}: ${waiting.message ?? ''}`,
        );
      }
      if (Date.now() > deadline) {
        const state = status?.state ? Object.keys(status.state).join(', ') : 'no status yet';
        throw new EngineError(
          'OTHER',
          `drift probe ${name} of pod ${id} did not end within ${timeout} ms (${state}): expected it to list the filesystem and exit`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, this.context.pollMs));
    }
  }
}

/** The digest the workload container runs, from its image (never from a label the pod carries). */
function workloadDigestOf(pod: V1Pod): `sha256:${string}` {
  const image = pod.spec?.containers.find((one) => one.name === instanceContainerName)?.image ?? '';
  const match = /@(sha256:[0-9a-f]{64})$/.exec(image);
  if (!match?.[1]) {
    throw new EngineError(
      'OTHER',
      `pod ${pod.metadata?.name} runs image ${image}: expected <repository>@sha256:<digest> to compare with`,
    );
  }
  return match[1] as `sha256:${string}`;
}
