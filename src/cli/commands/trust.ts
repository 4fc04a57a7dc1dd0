import type { KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { latestVerdict } from '../../gate/stored-verdict.js';
import type { Verdict } from '../../gate/verdict.js';
import { herdHome } from '../../herd-home.js';
import type { LayoutStore } from '../../oci/layout-store.js';
import type { Digest } from '../../oci/types.js';
import { requiredPredicateTypes } from '../../trust/admission.js';
import { collectBuildStatements, gateVerdictStatement } from '../../trust/build-statements.js';
import { loadPublicKey } from '../../trust/cosign-key.js';
import { TrustError } from '../../trust/errors.js';
import { attestImage, signImage, verifyImage } from '../../trust/image-signatures.js';
import { readCosignPrivateKey, writeCosignKeyPair } from '../../trust/key-files.js';
import { localRepository, parseIdentity } from '../../trust/signed-identity.js';
import { loadTrustedKeys } from '../../trust/trusted-keys.js';
import { keyPassword } from '../password.js';
import { openStore } from '../spec-context.js';
import { openState } from '../state-context.js';
import { isRegistryReference, pullForVerification } from './registry.js';

/** `herd keys generate [--output prefix]`: a cosign-compatible key pair, trusted by this HERD_HOME. */
export async function keysGenerateCommand(options: { output?: string }): Promise<number> {
  const password = await keyPassword({ confirm: true });
  const files = await writeCosignKeyPair(herdHome(), {
    password,
    ...(options.output ? { outputPrefix: options.output } : {}),
  });
  console.log(`private key  ${files.privateKeyPath} (encrypted, mode 0600)`);
  console.log(`public key   ${files.publicKeyPath}`);
  console.log(`trusted as   ${files.trusted.name} (${files.trusted.fingerprint.slice(0, 16)}…)`);
  return 0;
}

export function defaultPrivateKey(): string {
  return join(herdHome().keys, 'cosign.key');
}

/**
 * `herd sign <ref> [--key] [--identity]`: a cosign simple signature over the manifest digest, and
 * the build's SBOMs and provenance as signed attestations. The identity is the repository the
 * image will be pulled from, which podman's matchRepository checks; `herd push` signs again for
 * its destination.
 */
export async function signCommand(
  reference: string,
  options: { key?: string; identity?: string },
): Promise<number> {
  const { store } = await openStore();
  const digest = await store.resolve(reference);
  // Only an image the gate passed is signed: a signature is what admission trusts, so signing a
  // failed or ungated image would launder it.
  const verdict = await latestVerdict(store, digest);
  if (!verdict?.passed) {
    console.error(
      verdict
        ? `herd: ${digest} failed the gate (${verdict.profile}, ${verdict.evaluatedAt}); fix it or waive the findings, then herd gate again`
        : `herd: ${digest} has not been gated: run herd gate ${digest} --spec <herd.yaml> first`,
    );
    return 1;
  }
  const key = await readCosignPrivateKey(resolve(options.key ?? defaultPrivateKey()), await keyPassword());
  const identity = options.identity
    ? parseIdentity(options.identity)
    : localRepository(await serviceOf(store, digest));
  const { signature, attestation, statements } = await signPassedImage(store, digest, {
    key,
    identity,
    verdict,
  });
  console.log(`signed ${digest} for ${identity}`);
  console.log(
    `  signature     ${signature.tag}${signature.added.length === 0 ? ' (already signed by this key)' : ''}`,
  );
  console.log(`  attestations  ${attestation.tag}: ${statements.map((s) => s.predicateType).join(', ')}`);
  return 0;
}

/** Signs an image whose passing verdict the caller checked, attests its build and verdict, journals it. */
export async function signPassedImage(
  store: LayoutStore,
  digest: Digest,
  options: { key: KeyObject; identity: string; verdict: Verdict },
) {
  const { key, identity, verdict } = options;
  const signature = await signImage(store, digest, { key, identity });
  const statements = [
    ...(await collectBuildStatements(store, digest)),
    await gateVerdictStatement(store, digest, verdict),
  ];
  const attestation = await attestImage(store, digest, { key, statements, replace: true });
  const state = openState();
  try {
    state.journal.append({
      actor: state.actor,
      action: 'sign',
      service: await serviceOf(store, digest),
      digest,
      details: {
        identity,
        signatures: signature.added.length,
        attestations: attestation.added.map((l) => l.annotations?.predicateType ?? l.mediaType),
      },
    });
  } finally {
    state.close();
  }
  return { signature, attestation, statements };
}

/**
 * `herd verify <ref> [--key pub] [--attestations] [--identity registry/repository]`: exit 0 when
 * the key (or a trusted key) signed the digest, for the identity's repository when one is named
 * (default for an image in a registry: the repository it is pulled from), and with
 * `--attestations` also attested what admission needs; exit 1 with the reason otherwise. Layers
 * by other keys are ignored and listed.
 */
export async function verifyCommand(
  reference: string,
  options: { key?: string; attestations?: boolean; identity?: string },
): Promise<number> {
  const publicKeys = options.key
    ? [loadPublicKey(await readFile(resolve(options.key), 'utf8'))]
    : (await loadTrustedKeys(herdHome())).map((k) => k.publicKey);
  const remote = isRegistryReference(reference) ? await pullForVerification(reference) : undefined;
  try {
    const identity =
      options.identity !== undefined
        ? parseIdentity(options.identity)
        : remote
          ? parseIdentity(reference)
          : undefined;
    const store = remote?.store ?? (await openStore()).store;
    const digest = remote ? (remote.digest as Digest) : await store.resolve(reference);
    const result = await verifyImage(store, digest, {
      publicKeys,
      attestations: options.attestations === true,
      ...(options.attestations ? { requiredPredicates: requiredPredicateTypes } : {}),
      ...(identity !== undefined ? { identity } : {}),
    });
    console.log(`verified ${digest}${identity !== undefined ? ` for ${identity}` : ''}`);
    for (const s of result.signatures) {
      console.log(`  signature    ${s.dockerReference} (key ${s.keyFingerprint.slice(0, 16)}…)`);
    }
    for (const a of result.attestations) console.log(`  attestation  ${a.predicateType}`);
    for (const s of result.otherRepositories) {
      console.log(`  not counted  signature for ${s.dockerReference}: another repository`);
    }
    for (const f of result.foreign) {
      const what =
        f.kind === 'attestation' ? `attestation${f.predicateType ? ` ${f.predicateType}` : ''}` : 'signature';
      console.log(`  ignored      ${what} ${f.layerDigest}: ${f.reason}`);
    }
    return 0;
  } catch (error) {
    if (error instanceof TrustError) {
      console.error(`herd: verification failed (${error.code}): ${error.message}`);
      return 1;
    }
    throw error;
  } finally {
    await remote?.cleanup();
  }
}

/** The service an image was built for: its title label, as herd build sets it. */
export async function serviceOf(store: Awaited<ReturnType<typeof openStore>>['store'], digest: Digest) {
  const manifest = await store.getManifest(digest);
  return manifest.annotations?.['org.opencontainers.image.title'] ?? 'image';
}
