/**
 * When drift means the engine's copy of the image is no longer the image. An instance's changed
 * upper layer goes with the instance, but a change to the image's layers in the engine's storage
 * would be in every instance made from them, replacements included: the engine keeps the layers
 * and `ensureImage` finds the image there. Then herd removes the copy and fetches it again from
 * its own verified store, and checks each replacement deep before it takes traffic.
 */
import type { Instance } from '../engines/index.js';
import type { ExpectedPaths } from './expected-paths.js';
import type { DriftFinding } from './findings.js';

/**
 * Pure: the findings that implicate the image's layers. Only image files count (not the writable
 * paths or the engine's mounts). On a read-only root nothing inside can write the upper layer, so
 * an image file changed there was changed from the host, by someone who could change the layers
 * as well: all count. On a writable root the workload may write the upper layer itself, so only
 * what the instance's upper layer does not explain counts: a change below it, in the layers.
 */
export function findingsInImage(
  findings: readonly DriftFinding[],
  context: { expected: ExpectedPaths; writableRoot: boolean; upperLayer?: ReadonlySet<string> },
): DriftFinding[] {
  return findings.filter(
    (finding) =>
      context.expected.classify(finding.path) === 'image' &&
      (!context.writableRoot || !(context.upperLayer?.has(finding.path) ?? false)),
  );
}

/** What became of a request to fetch an image anew. */
export type ImageReload =
  | { kind: 'reloaded'; removed: string[] }
  /** Reloaded a short while ago already: a copy that changes again is the engine's host, not the copy. */
  | { kind: 'skipped'; reason: string }
  | { kind: 'failed'; reason: string };

/** The fleet controller as a tampered image needs it (FleetController implements it). */
export interface PristineImages {
  /** No new instance of `digest` is made until `reloadImage` has run: none from the tampered copy. */
  holdImage(digest: `sha256:${string}`): void;
  /**
   * Drains and removes every instance of `digest`, removes the image from the engine and fetches
   * it again from herd's store, then lets the fleets make instances of it again. Those wait for
   * `verified` before they take traffic.
   */
  reloadImage(digest: `sha256:${string}`, options: { reason: string }): Promise<ImageReload>;
  /** The instance waits for a clean deep check before it may take traffic. */
  awaitsVerification(instance: Pick<Instance, 'id' | 'service'>): boolean;
  /** Its deep check found nothing: it may take traffic once its health checks pass. */
  verified(service: string, id: string): void;
}
