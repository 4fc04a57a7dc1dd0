import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { herdHome } from '../../herd-home.js';
import { isRegistryReference } from '../../oci/index.js';
import { imageService, pullForVerification, signAndAttest, signability } from '../../pipeline/index.js';
import {
  keyPairFiles,
  LocalKeySigner,
  loadPublicKey,
  loadTrustedKeys,
  localRepository,
  parseIdentity,
  readCosignPrivateKey,
  requiredPredicateTypes,
  TrustError,
  verifyImage,
  writeCosignKeyPair,
} from '../../trust/index.js';
import { logger } from '../logger.js';
import { keyPassword } from '../password.js';
import { openPipelineParts } from '../pipeline-parts.js';
import { registryCredentials } from '../registry-credentials.js';
import { openStore } from '../spec-context.js';

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
  const parts = await openPipelineParts();
  try {
    const { store } = parts;
    const digest = await store.resolve(reference);
    const signable = await signability(store, digest);
    if (signable.kind !== 'passed') {
      console.error(
        signable.kind === 'failed'
          ? `herd: ${digest} failed the gate (${signable.verdict.profile}, ${signable.verdict.evaluatedAt}); fix it or waive the findings, then herd gate again`
          : `herd: ${digest} has not been gated: run herd gate ${digest} --spec <herd.yaml> first`,
      );
      return 1;
    }
    const key = await readCosignPrivateKey(
      resolve(options.key ?? keyPairFiles(herdHome()).privateKeyPath),
      await keyPassword(),
    );
    const identity = options.identity
      ? parseIdentity(options.identity)
      : localRepository(await imageService(store, digest));
    const { signature, attestation, statements } = await signAndAttest(
      digest,
      { ...parts, signer: new LocalKeySigner(key) },
      { identity, verdict: signable.verdict },
    );
    console.log(`signed ${digest} for ${identity}`);
    console.log(
      `  signature     ${signature.tag}${signature.added.length === 0 ? ' (already signed by this key)' : ''}`,
    );
    console.log(`  attestations  ${attestation.tag}: ${statements.map((s) => s.predicateType).join(', ')}`);
    return 0;
  } finally {
    parts.close();
  }
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
  const remote = isRegistryReference(reference)
    ? await pullForVerification(reference, { credentials: registryCredentials(), logger })
    : undefined;
  try {
    const identity =
      options.identity !== undefined
        ? parseIdentity(options.identity)
        : remote
          ? parseIdentity(reference)
          : undefined;
    const store = remote?.store ?? (await openStore()).store;
    const digest = remote ? remote.digest : await store.resolve(reference);
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
