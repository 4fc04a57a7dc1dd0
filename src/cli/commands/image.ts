import { resolve } from 'node:path';
import { writeAtomic } from '../../common/index.js';
import type { ImageConfig } from '../../oci/index.js';
import {
  exportDockerArchive,
  exportOciArchive,
  isReferrerEntry,
  type QuarantineReason,
  quarantineOf,
  refNameAnnotation,
  shortDigest,
} from '../../oci/index.js';
import { formatBytes, formatTable } from '../format.js';
import { openStore } from '../spec-context.js';

/** `herd image ls`: images in the store (referrer artifacts are listed by inspect). */
export async function imageListCommand(): Promise<number> {
  const { store } = await openStore();
  const index = await store.readIndex();
  const rows = [['NAME', 'DIGEST', 'CREATED', 'SIZE', 'STATE']];
  for (const descriptor of index.manifests) {
    const name = descriptor.annotations?.[refNameAnnotation];
    // Referrers (SBOMs, provenance) and cosign's tagged signature and attestation manifests are
    // in the index too, so layout tools keep them; they are not images.
    if (isReferrerEntry(descriptor) || name?.endsWith('.sig') || name?.endsWith('.att')) continue;
    const manifest = await store.getManifest(descriptor.digest);
    const config = await store.getJson<ImageConfig>(manifest.config.digest);
    const size = descriptor.size + manifest.config.size + manifest.layers.reduce((n, l) => n + l.size, 0);
    const quarantine = quarantineOf(descriptor);
    const state = quarantine
      ? `quarantined: ${quarantineWords[quarantine.reason]} (built as ${quarantine.intendedName})`
      : '';
    rows.push([name ?? '<none>', descriptor.digest, config.created ?? '', formatBytes(size), state]);
  }
  console.log(formatTable(rows));
  return 0;
}

const quarantineWords: Record<QuarantineReason, string> = {
  'not-gated': 'not gated',
  'gate-failed': 'gate failed',
};

/** `herd image inspect <ref>`: manifest, config and referrers as JSON. */
export async function imageInspectCommand(reference: string): Promise<number> {
  const { store } = await openStore();
  const digest = await store.resolve(reference);
  const manifest = await store.getManifest(digest);
  const config = await store.getJson<ImageConfig>(manifest.config.digest);
  const referrers = await store.referrers(digest);
  console.log(JSON.stringify({ digest, manifest, config, referrers }, null, 2));
  return 0;
}

/** `herd image export <ref> --format oci-archive|docker-archive -o file`. */
export async function imageExportCommand(
  reference: string,
  options: { format: string; output: string },
): Promise<number> {
  const { store } = await openStore();
  const digest = await store.resolve(reference);
  const index = await store.readIndex();
  const name =
    index.manifests.find((m) => m.digest === digest)?.annotations?.[refNameAnnotation] ??
    `herd:${shortDigest(digest)}`;
  let archive: Buffer;
  switch (options.format) {
    case 'oci-archive':
      archive = await exportOciArchive(store, digest, { refName: name });
      break;
    case 'docker-archive':
      archive = await exportDockerArchive(store, digest, {
        repoTag: name.includes(':') ? name : `${name}:latest`,
      });
      break;
    default:
      console.error(`herd: --format must be oci-archive or docker-archive, got "${options.format}"`);
      return 2;
  }
  const output = resolve(options.output);
  await writeAtomic(output, archive, { mode: 0o644 });
  console.log(`exported ${digest} as ${options.format} to ${output} (${formatBytes(archive.length)})`);
  return 0;
}
