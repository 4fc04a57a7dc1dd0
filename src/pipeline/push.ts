/**
 * Pushing an image with its signatures, attestations and referrers, for `herd push`. A signature
 * must name the repository it is pushed to (podman's matchRepository), so with a signer at hand
 * the image is signed for the destination first. Journals `push`.
 */
import type { BuildProgress } from '../builder/index.js';
import type { HerdHome } from '../herd-home.js';
import type { Credentials, Descriptor, Digest, LayoutStore } from '../oci/index.js';
import { type PushResult, parseImageReference, pushImage } from '../oci/index.js';
import type { Signer } from '../trust/index.js';
import { loadTrustedKeys, signImage, takeRegistryLayers } from '../trust/index.js';
import { imageService } from './image-service.js';
import type { PipelineLogger, PipelineState } from './parts.js';

export interface PushParts {
  store: LayoutStore;
  state: PipelineState;
  /** HERD_HOME, whose trusted keys' earlier layers a local re-signing may have replaced. */
  home: Pick<HerdHome, 'root'>;
  credentials: Credentials;
  logger: PipelineLogger;
  /** Says what was signed, kept or left out, as it happens. */
  progress: Pick<BuildProgress, 'step'>;
  /** Signs for the destination first; without one the image's signatures go as they are. */
  signer?: Signer;
}

export interface Pushed {
  result: PushResult;
  uploaded: number;
  skipped: number;
}

export async function pushToRegistry(
  digest: Digest,
  parts: PushParts,
  request: { destination: string; insecure?: boolean },
): Promise<Pushed> {
  const { store, state, signer, progress } = parts;
  const target = parseImageReference(request.destination, { insecure: request.insecure === true });
  const identity = `${target.registry}/${target.repository}`;
  // Whose earlier layers a local re-signing may have replaced: the registry's copies of those stay replaced.
  const ownKeys = (await loadTrustedKeys(parts.home)).map((k) => k.publicKey);
  if (signer) {
    ownKeys.push(signer.publicKey);
    const signed = await signImage(store, digest, { key: signer, identity });
    if (signed.added.length > 0) progress.step(`signed ${digest} for ${identity}`);
  }
  const result = await pushImage({ store, digest }, request.destination, {
    credentials: parts.credentials,
    logger: parts.logger,
    ...(request.insecure ? { insecure: true } : {}),
    // cosign appends to what the registry holds; so does herd: others' signatures there are kept.
    reconcileCosign: async (kind, remote) => {
      const { added, refused } = await takeRegistryLayers(store, digest, {
        kind,
        remoteLayers: remote.manifest.layers as Descriptor[],
        publicKeys: ownKeys,
      });
      for (const { layer, reason } of refused) {
        progress.step(
          `left out the registry's ${kind} layer ${layer.digest}, which would fail verification: ${reason}`,
        );
      }
      if (added.length > 0) {
        progress.step(
          `kept ${added.length} ${kind} layer${added.length === 1 ? '' : 's'} that only the registry held (other signers')`,
        );
      }
    },
  });
  const uploaded = result.blobs.filter((b) => b.action === 'uploaded').length;
  const skipped = result.blobs.length - uploaded;
  state.journal.append({
    actor: state.actor,
    action: 'push',
    service: await imageService(store, digest),
    digest,
    details: { destination: target.repository, registry: target.registry, uploaded, skipped },
  });
  return { result, uploaded, skipped };
}
