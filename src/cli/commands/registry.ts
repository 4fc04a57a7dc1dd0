import { createPublicKey, type KeyObject } from 'node:crypto';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { herdHome } from '../../herd-home.js';
import { LayoutStore } from '../../oci/layout-store.js';
import { AuthFileCredentials } from '../../oci/registry/auth-file-credentials.js';
import { type Credentials, chainCredentials } from '../../oci/registry/credentials.js';
import { EnvCredentials } from '../../oci/registry/env-credentials.js';
import { pullImage } from '../../oci/registry/pull-image.js';
import { pushImage } from '../../oci/registry/push-image.js';
import { parseImageReference } from '../../oci/registry/reference.js';
import type { Descriptor } from '../../oci/types.js';
import { signImage, takeRegistryLayers } from '../../trust/image-signatures.js';
import { readCosignPrivateKey } from '../../trust/key-files.js';
import { loadTrustedKeys } from '../../trust/trusted-keys.js';
import { logger } from '../logger.js';
import { keyPassword } from '../password.js';
import { openStore } from '../spec-context.js';
import { openState } from '../state-context.js';
import { defaultPrivateKey, serviceOf } from './trust.js';

/** HERD_REGISTRY_USERNAME/PASSWORD, then podman's, skopeo's and docker's auth files and helpers. */
export function credentials(): Credentials {
  return chainCredentials([new EnvCredentials(), new AuthFileCredentials()]);
}

/**
 * `herd push <ref> <registry>/<repo>[:tag]`: the image, its signatures, attestations and referrers.
 * A signature must name the repository it is pushed to (podman's matchRepository), so herd signs
 * for the destination first when a key is at hand (--key, or HERD_HOME/keys/cosign.key).
 */
export async function pushCommand(
  reference: string,
  destination: string,
  options: { key?: string; sign?: boolean; insecure?: boolean },
): Promise<number> {
  const { store } = await openStore();
  const digest = await store.resolve(reference);
  const target = parseImageReference(destination, { insecure: options.insecure === true });
  const identity = `${target.registry}/${target.repository}`;
  const keyPath = resolve(options.key ?? defaultPrivateKey());
  // Whose earlier layers a local re-signing may have replaced: the registry's copies of those stay replaced.
  const ownKeys: KeyObject[] = (await loadTrustedKeys(herdHome())).map((k) => k.publicKey);
  if (options.sign !== false && (await exists(keyPath))) {
    const key = await readCosignPrivateKey(keyPath, await keyPassword());
    ownKeys.push(createPublicKey(key));
    const signed = await signImage(store, digest, { key, identity });
    if (signed.added.length > 0) console.error(`• signed ${digest} for ${identity}`);
  } else if (options.sign !== false) {
    console.error(`• no key at ${keyPath}: pushing the signatures the image already has, unchanged`);
  }
  const result = await pushImage({ store, digest }, destination, {
    credentials: credentials(),
    logger,
    ...(options.insecure ? { insecure: true } : {}),
    // cosign appends to what the registry holds; so does herd: others' signatures there are kept.
    reconcileCosign: async (kind, remote) => {
      const { added, refused } = await takeRegistryLayers(store, digest, {
        kind,
        remoteLayers: remote.manifest.layers as Descriptor[],
        publicKeys: ownKeys,
      });
      for (const { layer, reason } of refused) {
        console.error(
          `• left out the registry's ${kind} layer ${layer.digest}, which would fail verification: ${reason}`,
        );
      }
      if (added.length > 0) {
        console.error(
          `• kept ${added.length} ${kind} layer${added.length === 1 ? '' : 's'} that only the registry held (other signers')`,
        );
      }
    },
  });
  const uploaded = result.blobs.filter((b) => b.action === 'uploaded').length;
  const skipped = result.blobs.length - uploaded;
  const state = openState();
  try {
    state.journal.append({
      actor: state.actor,
      action: 'push',
      service: await serviceOf(store, digest),
      digest,
      details: { destination: target.repository, registry: target.registry, uploaded, skipped },
    });
  } finally {
    state.close();
  }
  console.log(`pushed ${digest} to ${destination}`);
  console.log(`  blobs      ${uploaded} uploaded, ${skipped} already there or mounted`);
  console.log(
    `  manifests  ${result.manifests.map((m) => `${m.role}${m.action === 'skipped' ? ' (there)' : ''}`).join(', ')}`,
  );
  return 0;
}

/** `herd pull <ref>`: every digest it receives is verified before it is stored. */
export async function pullCommand(reference: string, options: { insecure?: boolean }): Promise<number> {
  const { store } = await openStore();
  const result = await pullImage(reference, store, {
    credentials: credentials(),
    logger,
    ...(options.insecure ? { insecure: true } : {}),
  });
  const state = openState();
  try {
    state.journal.append({
      actor: state.actor,
      action: 'pull',
      digest: result.digest,
      details: { reference, refName: result.refName },
    });
  } finally {
    state.close();
  }
  console.log(`pulled ${reference}`);
  console.log(`  digest  ${result.digest}`);
  console.log(`  name    ${result.refName}`);
  return 0;
}

/**
 * For `herd verify <registry>/<repo>…`: pulls into a throwaway store (verifying every digest on
 * the way) and hands it back, so remote verification never changes HERD_HOME.
 */
export async function pullForVerification(
  reference: string,
): Promise<{ store: LayoutStore; digest: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'herd-verify-'));
  const store = new LayoutStore(dir);
  await store.init();
  const result = await pullImage(reference, store, { credentials: credentials(), logger });
  return { store, digest: result.digest, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** True when `text` names an image in a registry rather than one in the local store. */
export function isRegistryReference(text: string): boolean {
  const first = text.split('/', 1)[0] ?? '';
  return text.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
