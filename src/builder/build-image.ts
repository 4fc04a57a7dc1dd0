/**
 * build: lock + app files → an OCI image in the store, with its SBOMs, file manifest, run template
 * and provenance attached as referrers. The image is a pure function of the lock, the app files and
 * the mtime (SOURCE_DATE_EPOCH, else the lock's date): two builds give the same digest.
 *
 * On a base (the lock's `base`), the image's layers are the base's layers, unchanged and in order,
 * then herd's layers for what is new. The file manifest and the SBOMs cover the whole image.
 */
import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { type ConcurrencyLimit, compactJson, concurrencyLimit, mapLimit } from '../common/index.js';
import type { AptSource, Fetcher } from '../debian/index.js';
import type { LayoutStore } from '../oci/index.js';
import {
  attachArtifact,
  type Descriptor,
  type Digest,
  type ImageManifest,
  MediaType,
  sha256Digest,
} from '../oci/index.js';
import type { LoadedSpec } from '../specfile/index.js';
import { runTemplateFor, runTemplateMediaType } from '../specfile/index.js';
import { readBaseImage } from './base-image.js';
import { type AppFileData, composeImage, type UnpackedPackage } from './compose-rootfs.js';
import type { DebCache, UnpackedDeb, UnpackedDebCache } from './deb-cache.js';
import { checkDebIdentity } from './deb-identity.js';
import { spdxLicensesOf } from './debian-copyright.js';
import { EarlyLayers } from './early-layers.js';
import { checkEntrypoint } from './entrypoint-check.js';
import { BuildError } from './errors.js';
import { fileBytes } from './file-content.js';
import { fileManifestMediaType, fileManifestOf } from './file-manifest.js';
import { baseAnnotations, imageConfigFor } from './image-config.js';
import type { LayerCache } from './layer-cache.js';
import { formatLock, type Lock, type LockedPackage } from './lock-file.js';
import { dependencyEdges } from './package-dependencies.js';
import { defaultLayerPlanOptions, planLayers } from './plan-layers.js';
import type { BuildProgress } from './progress.js';
import { silentProgress } from './progress.js';
import { slsaProvenance } from './provenance.js';
import { checkLockIsCurrent, readAppFile } from './resolve-lock.js';
import { cycloneDxDocument, spdxDocument } from './sbom.js';
import { writeLayer } from './write-layer.js';

export interface BuildOptions {
  store: LayoutStore;
  debCache: DebCache;
  /** Reuses compressed layers across builds; without it every layer is compressed anew. */
  layerCache?: LayerCache;
  /**
   * Decompressed package contents, reused across builds. The build reads files' bytes from it
   * as it writes layers, so it is where every .deb is unpacked: never into memory.
   */
  unpackedCache: UnpackedDebCache;
  fetcher: Fetcher;
  sources: AptSource[];
  lockPath: string;
  /** Overrides the lock's date as every file's mtime (reproducible-builds.org convention). */
  sourceDateEpoch?: number;
  progress?: BuildProgress;
  herdVersion: string;
  /** igzip level for layers, 0 to 3; 3 by default (docs/spec.md, "Layers and their digests"). */
  compressionLevel?: number;
}

export interface BuiltImage {
  digest: Digest;
  refName: string;
  /** Manifest + config + layers, compressed, in bytes. */
  size: number;
  /** Uncompressed size of all layers. */
  unpackedSize: number;
  packageCount: number;
  fileCount: number;
  layers: { digest: Digest; size: number; comment: string }[];
  attachments: { artifactType: string; digest: Digest }[];
}

export const artifactTypes = {
  spdx: 'application/spdx+json',
  cyclonedx: 'application/vnd.cyclonedx+json',
  provenance: 'application/vnd.in-toto+json',
  fileManifest: fileManifestMediaType,
  runTemplate: runTemplateMediaType,
} as const;

export async function buildImage(loaded: LoadedSpec, lock: Lock, options: BuildOptions): Promise<BuiltImage> {
  const progress = options.progress ?? silentProgress;
  const { spec } = loaded;
  await checkLockIsCurrent(loaded, lock, options.lockPath);
  const epoch = options.sourceDateEpoch ?? Math.floor(Date.parse(lock.date) / 1000);
  const created = new Date(epoch * 1000).toISOString();

  // The pinned digest only: a build never asks the catalog again.
  const base = lock.base
    ? await readBaseImage(
        options.store,
        { ref: lock.base.ref, digest: lock.base.digest as Digest },
        { architecture: lock.architecture },
      )
    : undefined;
  const appFiles: AppFileData[] = [];
  for (const [index, file] of spec.files.entries()) {
    appFiles.push({
      dst: file.dst,
      mode: file.mode,
      uid: file.uid,
      gid: file.gid,
      data: await readAppFile(loaded, index),
    });
  }
  const layerOptions = {
    store: options.store,
    ...(options.layerCache
      ? { layerCache: options.layerCache, layerCacheWasEmpty: await options.layerCache.isEmpty() }
      : {}),
    mtime: epoch,
    // igzip's level 3, its smallest: hello's layers are 40.5 MB in 0.33 s of CPU, against 41.6 MB
    // in 0.25 s at 1; bench/build prints both (docs/adr/0015-layer-compression.md).
    level: options.compressionLevel ?? 3,
  };
  // The largest packages' layers compress while the rest unpack (early-layers.ts).
  const early = new EarlyLayers({
    spec,
    lock,
    appFiles,
    ...(base ? { base: base.files } : {}),
    planOptions: defaultLayerPlanOptions,
    write: (plan) => writeLayer(plan, layerOptions),
  });
  // Every early layer is finished or failed before the build ends, whichever way it ends.
  const { packages, tree, scriptEffects, plans, layers } = await composeAndWriteLayers().finally(() =>
    early.settled(),
  );
  async function composeAndWriteLayers() {
    const packages = await unpackPackages(lock, options, progress, (pkg) => early.offer(pkg));
    progress.step('composing the root filesystem');
    const { tree, scriptEffects } = composeImage({
      spec,
      packages,
      appFiles,
      ...(base ? { base: base.files } : {}),
    });
    for (const { package: name, lines } of scriptEffects.unreproduced) {
      progress.warn(
        `${name}: herd did not reproduce what these maintainer script lines do: ${lines.join(' | ')}`,
      );
    }
    // Never an image that cannot start: checked before the image's layers are written (only the
    // early ones of its largest packages may be in the store, unreferenced, when it fails).
    const entrypoint = checkEntrypoint(tree, spec);
    for (const warning of entrypoint.warnings) progress.warn(warning);
    if (entrypoint.problems.length > 0) {
      throw new BuildError(
        'ENTRYPOINT_UNRUNNABLE',
        `${loaded.path}: the image would not start, so none was built: ${entrypoint.problems.join('; ')}`,
      );
    }
    const plans = planLayers(tree, defaultLayerPlanOptions);
    progress.step(`writing ${plans.length} layers`);
    const layers = await Promise.all(
      plans.map(async (plan) => {
        const written = await early.for(plan);
        return writeLayer(plan, { ...layerOptions, ...(written ? { early: written } : {}) });
      }),
    );
    return { packages, tree, scriptEffects, plans, layers };
  }

  const lockDigest = sha256Digest(Buffer.from(formatLock(lock)));
  const config = imageConfigFor(spec, {
    created,
    diffIds: layers.map((l) => l.diffId),
    history: plans.map((p) => p.comment),
    lockDigest,
    ...(base ? { base } : {}),
  });
  const configDescriptor = await options.store.putJson(config, MediaType.imageConfig);
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.imageManifest,
    config: configDescriptor,
    layers: [...(base?.layers ?? []), ...layers.map((l) => l.descriptor)],
    annotations: {
      ...(base ? baseAnnotations(spec, base) : {}),
      'org.opencontainers.image.created': created,
      'org.opencontainers.image.title': spec.service,
    },
  };
  const imageDescriptor = await options.store.putJson(manifest, MediaType.imageManifest);
  const refName = `${spec.service}:${spec.version ?? 'latest'}`;
  const image: Descriptor = {
    ...imageDescriptor,
    platform: { architecture: spec.image.architecture, os: 'linux' },
  };

  progress.step('attaching the file manifest, run template, SBOMs and provenance');
  const manifestDoc = fileManifestOf(tree);
  const osRelease = tree.get('usr/lib/os-release');
  const versionId = osReleaseVersion(osRelease?.type === 'file' ? fileBytes(osRelease) : undefined);
  const sbomInput = {
    service: spec.service,
    ...(spec.version ? { version: spec.version } : {}),
    imageDigest: image.digest,
    created,
    suite: lock.suite,
    ...(versionId ? { versionId } : {}),
    architecture: lock.architecture,
    packages: lock.packages,
    ...(base ? { base: { ref: base.ref, digest: base.digest, packages: base.packages } } : {}),
    licenses: spdxLicensesOf(
      tree,
      [...(base?.packages ?? []), ...lock.packages].map((p) => p.name),
    ),
    dependsOn: dependencyEdges(
      packages.map(({ locked, deb }) => ({
        name: locked.name,
        version: locked.version,
        architecture: locked.architecture,
        control: deb.control,
      })),
      { architecture: lock.architecture, ...(base ? { installed: base.packages } : {}) },
    ),
    appFiles: appFiles.map((file) => ({
      path: file.dst.replace(/^\/+/, ''),
      sha256: createHash('sha256').update(file.data).digest('hex'),
      sha1: createHash('sha1').update(file.data).digest('hex'),
    })),
  };
  const documents: { artifactType: string; document: unknown }[] = [
    { artifactType: artifactTypes.fileManifest, document: manifestDoc },
    // How the image is meant to run (user, writable paths, ports…): signed with it, so a rollout
    // cannot run it otherwise than it was gated.
    { artifactType: artifactTypes.runTemplate, document: runTemplateFor(spec) },
    { artifactType: artifactTypes.spdx, document: spdxDocument(sbomInput) },
    { artifactType: artifactTypes.cyclonedx, document: cycloneDxDocument(sbomInput) },
    {
      artifactType: artifactTypes.provenance,
      document: slsaProvenance({
        service: spec.service,
        imageDigest: image.digest,
        specPath: loaded.path,
        specDigest: loaded.digest,
        lockDigest,
        lock,
        herdVersion: options.herdVersion,
        sourceDateEpoch: epoch,
        scriptEffects,
      }),
    },
  ];
  const attachments = [];
  for (const { artifactType, document } of documents) {
    const descriptor = await attachArtifact(options.store, image, {
      artifactType,
      data: Buffer.from(compactJson(document)),
      annotations: { 'org.opencontainers.image.created': created },
    });
    attachments.push({ artifactType, digest: descriptor.digest });
  }
  // The image enters the index last (until then it is unreachable blobs, never an image without
  // its SBOMs), and unnamed: only a passing gate gives it `refName` (LayoutStore.nameImage).
  await options.store.quarantine(image, { intendedName: refName, reason: 'not-gated' });

  const baseLayers = base?.layers ?? [];
  return {
    digest: image.digest,
    refName,
    size: image.size + configDescriptor.size + manifest.layers.reduce((n, l) => n + l.size, 0),
    unpackedSize: (base?.unpackedSize ?? 0) + layers.reduce((n, l) => n + l.tarSize, 0),
    packageCount: (base?.packages.length ?? 0) + lock.packages.length,
    fileCount: manifestDoc.entries.length,
    layers: [
      ...baseLayers.map((l) => ({ digest: l.digest, size: l.size, comment: `base image ${base?.ref}` })),
      ...layers.map((l, i) => ({
        digest: l.descriptor.digest,
        size: l.descriptor.size,
        comment: plans[i]?.comment ?? '',
      })),
    ],
    attachments,
  };
}

/**
 * Every package, unpacked: from the unpacked cache when its entry verifies (the .deb is then only
 * checked, not read), else from the .deb, fetched or cached and verified against the lock. A
 * package is unpacked as soon as its .deb is there, so downloads and decoding overlap.
 *
 * Largest first, as LPT scheduling has it: the longest decodes start at once instead of after the
 * small ones. Four packages are in hand at a time, but only one per core decodes: with every
 * package decoding at once, the two largest of hello (libnode, libicu) shared the cores with the
 * small ones and finished after 1.4-1.5 s, not 0.8-1.0, and their layers, the longest gzips,
 * started that much later (a cold build of hello with a lock: 2.89 s, against 2.76 s so).
 */
async function unpackPackages(
  lock: Lock,
  options: BuildOptions,
  progress: BuildProgress,
  unpacked: (pkg: UnpackedPackage) => void,
): Promise<UnpackedPackage[]> {
  const phase = progress.phase('unpack', lock.packages.length);
  const bySize = [...lock.packages].sort((a, b) => b.size - a.size);
  const decoding = concurrencyLimit(availableParallelism());
  const done = await mapLimit(bySize, 4, async (locked) => {
    const name = `${locked.name}_${locked.version}.deb`;
    const deb = await unpackedDeb(locked, options, { progress, name, decoding });
    checkDebIdentity(deb.control.control, locked, { name });
    phase.advance(locked.name);
    const pkg: UnpackedPackage = { locked, deb: { ...deb.control, files: deb.files }, dataTar: deb.dataTar };
    unpacked(pkg);
    return pkg;
  });
  phase.done();
  // Back in the lock's order, which is the order everything after this reads them in.
  const byLocked = new Map(done.map((pkg) => [pkg.locked, pkg]));
  return lock.packages.map((locked) => byLocked.get(locked) as UnpackedPackage);
}

async function unpackedDeb(
  locked: LockedPackage,
  options: BuildOptions,
  context: { progress: BuildProgress; name: string; decoding: ConcurrencyLimit },
): Promise<UnpackedDeb> {
  const { unpackedCache: cache, debCache } = options;
  const { name } = context;
  const cached = await cache.get(locked, { name });
  // Never read, but still checked: a tampered .deb in the cache is refused whenever it is met.
  if (cached.kind === 'hit' && (await debCache.verify(locked))) return cached.unpacked;
  if (cached.kind === 'untrusted') {
    context.progress.warn(
      `${name}: the unpacked cache entry in ${cache.dir} is not trusted (${cached.reason}); unpacking the verified .deb again`,
    );
  }
  const deb = await debCache.fetch(locked, { fetcher: options.fetcher, sources: options.sources });
  try {
    return await context.decoding(() => cache.unpack(locked, deb, { name }));
  } finally {
    await deb.file.close();
  }
}

/** VERSION_ID from os-release, e.g. "12", for the purl's distro qualifier. */
function osReleaseVersion(data: Buffer | undefined): string | undefined {
  const match = data ? /^VERSION_ID="?([^"\n]*)"?$/m.exec(data.toString('utf8')) : null;
  return match?.[1];
}
