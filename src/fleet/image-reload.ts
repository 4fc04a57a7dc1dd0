/**
 * Fetching a tampered image anew (the watch asks: src/watch/image-tampering.ts). The engine's copy
 * of an image changed on the host: its instances all carry the change, and so would any new one,
 * because the engine keeps the layers and `ensureImage` finds the image there. Worse, the engine
 * keeps a layer while any instance uses it and gives it to the next fetch of the same digest, so
 * every instance of the image goes first (drained), then the image, then it is fetched again from
 * herd's registry, which serves only what herd verified. Serving nothing for those seconds is the
 * price: the alternative is serving from files nobody signed.
 */
import type { Engine, Instance } from '../engines/index.js';
import type { FrontDoorHook } from './types.js';

/** What became of a request to fetch an image anew (the watch's `PristineImages` role reads it). */
export type ImageReload =
  | { kind: 'reloaded'; removed: string[] }
  /** Reloaded a short while ago already: a copy that changes again is the host's doing. */
  | { kind: 'skipped'; reason: string }
  | { kind: 'failed'; reason: string };

/** A second request for the same digest within this long is refused: the host keeps changing it. */
export const reloadCooldownMs = 10 * 60_000;

/** A hold the watch never followed with a reload (it stopped meanwhile) lapses after this long. */
export const imageHoldMs = 5 * 60_000;

export interface ImageReloadContext {
  engine: Engine;
  frontDoor?: FrontDoorHook;
  /** The services whose fleets run `digest` now, with or without instances. */
  services: readonly string[];
  drainSecondsOf(service: string): number;
  imageRefFor(service: string, digest: `sha256:${string}`): string;
}

/** The effect: instances of `digest` drained and removed, the image removed and fetched again. */
export async function reloadImage(
  digest: `sha256:${string}`,
  context: ImageReloadContext,
): Promise<{ removed: Instance[]; services: string[] }> {
  const { engine, frontDoor } = context;
  const removed = (await engine.list()).filter((one) => one.digest === digest);
  await Promise.all(
    removed.map(async (instance) => {
      if (instance.address) {
        await frontDoor?.drain(instance.service, instance.address, {
          timeoutSeconds: context.drainSecondsOf(instance.service),
        });
      }
      await engine.remove(instance.id);
    }),
  );
  const services = [...new Set([...context.services, ...removed.map((one) => one.service)])].sort();
  const [service = removed[0]?.service ?? 'image'] = services;
  const imageRef = context.imageRefFor(service, digest);
  await engine.removeImage({ imageRef, digest });
  await engine.ensureImage({ imageRef, digest });
  return { removed, services };
}
