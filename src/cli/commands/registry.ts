import { resolve } from 'node:path';
import { exists } from '../../common/index.js';
import { herdHome } from '../../herd-home.js';
import { parseImageReference } from '../../oci/index.js';
import { pullFromRegistry, pushToRegistry } from '../../pipeline/index.js';
import { keyPairFiles, LocalKeySigner, readCosignPrivateKey, type Signer } from '../../trust/index.js';
import { logger } from '../logger.js';
import { keyPassword } from '../password.js';
import { registryCredentials } from '../registry-credentials.js';
import { openStore } from '../spec-context.js';
import { openState } from '../state-context.js';
import { terminalProgress } from '../terminal-progress.js';

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
  // A destination that does not parse is refused before anyone is asked for a key's password.
  parseImageReference(destination, { insecure: options.insecure === true });
  const home = herdHome();
  const keyPath = resolve(options.key ?? keyPairFiles(home).privateKeyPath);
  let signer: Signer | undefined;
  if (options.sign !== false && (await exists(keyPath))) {
    signer = new LocalKeySigner(await readCosignPrivateKey(keyPath, await keyPassword()));
  } else if (options.sign !== false) {
    console.error(`• no key at ${keyPath}: pushing the signatures the image already has, unchanged`);
  }
  const state = openState();
  let pushed: Awaited<ReturnType<typeof pushToRegistry>>;
  try {
    pushed = await pushToRegistry(
      digest,
      {
        store,
        state,
        home,
        credentials: registryCredentials(),
        logger,
        progress: terminalProgress(),
        ...(signer ? { signer } : {}),
      },
      { destination, ...(options.insecure ? { insecure: true } : {}) },
    );
  } finally {
    state.close();
  }
  const { result, uploaded, skipped } = pushed;
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
  const state = openState();
  let result: Awaited<ReturnType<typeof pullFromRegistry>>;
  try {
    result = await pullFromRegistry(
      reference,
      { store, state, credentials: registryCredentials(), logger },
      options.insecure ? { insecure: true } : {},
    );
  } finally {
    state.close();
  }
  console.log(`pulled ${reference}`);
  console.log(`  digest  ${result.digest}`);
  console.log(`  name    ${result.refName}`);
  return 0;
}
