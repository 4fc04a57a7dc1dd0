/**
 * SBOMs for a built image, in SPDX 2.3 and CycloneDX 1.5 JSON. Both are pure functions of the
 * lock and the image digest: no host names, clock or random ids, so a rebuild gives the same bytes.
 * The Debian packages are named by purl, the same way Syft and Trivy name them, so other tools can
 * match them against vulnerability data. An image on a base lists the base's packages too (it
 * contains them), marked as the base's and without a .deb checksum, which the base does not record.
 * Licenses come from the packages' DEP-5 copyright files (debian-copyright.ts), the edges between
 * packages from their Depends (package-dependencies.ts), and the app's files are one component of
 * their own, each file with its hashes.
 */
import { createHash } from 'node:crypto';
import type { Digest } from '../oci/index.js';
import { hexOf } from '../oci/index.js';
import type { LockedPackage } from './lock-file.js';
import { baseImagePurl, debianDistro, debianPurl, ociPurl } from './purl.js';

export interface SbomInput {
  service: string;
  version?: string;
  imageDigest: Digest;
  /** ISO 8601; the build date, never the wall clock, so the document is reproducible. */
  created: string;
  /** The main suite, by codename, e.g. bookworm. */
  suite: string;
  /** VERSION_ID from os-release, e.g. "12", for the purl's `distro=debian-12`. */
  versionId?: string;
  architecture: string;
  packages: LockedPackage[];
  base?: SbomBase;
  /** Package name → SPDX license expression, for the packages whose license is clear. */
  licenses?: ReadonlyMap<string, string>;
  /**
   * Package name → names of the packages it depends on; absent for a package whose edges are not
   * known (a base's), an empty list for one that depends on nothing.
   */
  dependsOn?: ReadonlyMap<string, readonly string[]>;
  /** The spec's `files:`, as installed in the image. */
  appFiles?: readonly SbomAppFile[];
}

export interface SbomAppFile {
  /** Path in the image, without the leading slash. */
  path: string;
  sha256: string;
  sha1: string;
}

/** The image this one was built on, and the packages it has installed. */
export interface SbomBase {
  /** `service@stage` or the digest, as the lock has it. */
  ref: string;
  digest: Digest;
  packages: BasePackage[];
}

export type BasePackage = Pick<
  LockedPackage,
  'name' | 'version' | 'architecture' | 'source' | 'sourceVersion'
>;

/** One package as the documents list it; `sha256` and `suite` only for the packages herd added. */
interface SbomPackage extends BasePackage {
  spdxId: string;
  purl: string;
  license?: string;
  sha256?: string;
  suite?: string;
  fromBase: boolean;
}

const noAssertion = 'NOASSERTION';

/** SPDX 2.3: https://spdx.github.io/spdx-spec/v2.3/ (JSON schema: spdx-schema.json in spdx/spdx-spec). */
export function spdxDocument(input: SbomInput): object {
  const packages = sbomPackages(input);
  const app = appOf(input);
  const imageId = 'SPDXRef-Image';
  const baseId = 'SPDXRef-BaseImage';
  const imageHex = hexOf(input.imageDigest);
  const base = input.base;
  return {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: `${input.service}@${input.imageDigest}`,
    // Any unique URI will do (§6.5); one derived from the digest keeps the document reproducible.
    documentNamespace: `urn:herd:spdx:${input.service}:${imageHex}`,
    creationInfo: { created: spdxTimestamp(input.created), creators: ['Tool: herd'] },
    packages: [
      {
        SPDXID: imageId,
        name: input.service,
        ...(input.version ? { versionInfo: input.version } : {}),
        downloadLocation: noAssertion,
        filesAnalyzed: false,
        licenseConcluded: noAssertion,
        licenseDeclared: noAssertion,
        copyrightText: noAssertion,
        checksums: [{ algorithm: 'SHA256', checksumValue: imageHex }],
        externalRefs: [
          {
            referenceCategory: 'PACKAGE-MANAGER',
            referenceType: 'purl',
            referenceLocator: ociPurl(input.service, input.imageDigest),
          },
        ],
        primaryPackagePurpose: 'CONTAINER',
      },
      ...(base
        ? [
            {
              SPDXID: baseId,
              name: base.ref,
              downloadLocation: noAssertion,
              filesAnalyzed: false,
              licenseConcluded: noAssertion,
              licenseDeclared: noAssertion,
              copyrightText: noAssertion,
              checksums: [{ algorithm: 'SHA256', checksumValue: hexOf(base.digest) }],
              externalRefs: [
                {
                  referenceCategory: 'PACKAGE-MANAGER',
                  referenceType: 'purl',
                  referenceLocator: baseImagePurl(base.ref, base.digest),
                },
              ],
              primaryPackagePurpose: 'CONTAINER',
            },
          ]
        : []),
      ...packages.map((pkg) => ({
        SPDXID: pkg.spdxId,
        name: pkg.name,
        versionInfo: pkg.version,
        supplier: 'Organization: Debian',
        downloadLocation: noAssertion,
        filesAnalyzed: false,
        sourceInfo: `built package from: ${pkg.source} ${pkg.sourceVersion}`,
        licenseConcluded: noAssertion,
        // Declared by the package's copyright file; herd concludes nothing beyond it.
        licenseDeclared: pkg.license ?? noAssertion,
        copyrightText: noAssertion,
        ...(pkg.sha256 ? { checksums: [{ algorithm: 'SHA256', checksumValue: pkg.sha256 }] } : {}),
        ...(pkg.fromBase && base
          ? { comment: `installed in the base image ${base.ref} (${base.digest})` }
          : {}),
        externalRefs: [
          {
            referenceCategory: 'PACKAGE-MANAGER',
            referenceType: 'purl',
            referenceLocator: pkg.purl,
          },
        ],
        primaryPackagePurpose: 'LIBRARY',
      })),
      ...(app ? [spdxAppPackage(app)] : []),
    ],
    ...(app ? { files: app.files.map(spdxFile) } : {}),
    relationships: [
      { spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: imageId },
      // §11.1: "SPDXRef-A is an ancestor (same lineage but pre-dates) SPDXRef-B".
      ...(base
        ? [{ spdxElementId: baseId, relationshipType: 'ANCESTOR_OF', relatedSpdxElement: imageId }]
        : []),
      ...packages.map((pkg) => ({
        spdxElementId: imageId,
        relationshipType: 'CONTAINS',
        relatedSpdxElement: pkg.spdxId,
      })),
      ...dependencyPairs(packages, input.dependsOn).map(([from, to]) => ({
        spdxElementId: from.spdxId,
        relationshipType: 'DEPENDS_ON',
        relatedSpdxElement: to.spdxId,
      })),
      ...(app
        ? [
            { spdxElementId: imageId, relationshipType: 'CONTAINS', relatedSpdxElement: app.spdxId },
            ...app.files.map((file) => ({
              spdxElementId: app.spdxId,
              relationshipType: 'CONTAINS',
              relatedSpdxElement: file.spdxId,
            })),
          ]
        : []),
    ],
  };
}

/** CycloneDX 1.5: https://cyclonedx.org/docs/1.5/json/ */
export function cycloneDxDocument(input: SbomInput): object {
  const packages = sbomPackages(input);
  const base = input.base;
  const app = appOf(input);
  const imageRef = 'image';
  const purls = packages.map((pkg) => pkg.purl);
  return {
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    serialNumber: `urn:uuid:${uuidFromDigest(input.imageDigest)}`,
    version: 1,
    metadata: {
      timestamp: input.created,
      tools: { components: [{ type: 'application', name: 'herd' }] },
      component: {
        type: 'container',
        'bom-ref': imageRef,
        name: input.service,
        ...(input.version ? { version: input.version } : {}),
        hashes: [{ alg: 'SHA-256', content: hexOf(input.imageDigest) }],
        purl: ociPurl(input.service, input.imageDigest),
        ...(base
          ? {
              pedigree: {
                ancestors: [
                  {
                    type: 'container',
                    'bom-ref': 'base-image',
                    name: base.ref,
                    hashes: [{ alg: 'SHA-256', content: hexOf(base.digest) }],
                    purl: baseImagePurl(base.ref, base.digest),
                  },
                ],
              },
            }
          : {}),
      },
    },
    components: [
      ...packages.map((pkg, index) => ({
        type: 'library',
        'bom-ref': purls[index],
        supplier: { name: 'Debian' },
        name: pkg.name,
        version: pkg.version,
        ...(pkg.sha256 ? { hashes: [{ alg: 'SHA-256', content: pkg.sha256 }] } : {}),
        ...(pkg.license ? { licenses: [{ expression: pkg.license }] } : {}),
        purl: purls[index],
        properties: [
          { name: 'herd:debian:source', value: pkg.source },
          ...(pkg.suite ? [{ name: 'herd:debian:suite', value: pkg.suite }] : []),
          ...(pkg.fromBase && base ? [{ name: 'herd:base', value: base.digest }] : []),
        ],
      })),
      ...(app ? [cycloneDxAppComponent(app)] : []),
    ],
    // The spec reads a missing entry as "unknown" (a base's packages), an empty one as "none".
    dependencies: [
      { ref: imageRef, dependsOn: [...purls, ...(app ? [appRef] : [])] },
      ...packages
        .filter((pkg) => input.dependsOn?.has(pkg.name) && !pkg.fromBase)
        .map((pkg) => ({
          ref: pkg.purl,
          dependsOn: dependencyPairs([pkg], input.dependsOn, packages).map(([, to]) => to.purl),
        })),
    ],
  };
}

const appRef = 'app';

interface SbomApp {
  spdxId: string;
  name: string;
  version?: string;
  files: (SbomAppFile & { spdxId: string })[];
}

/** The app's files as one component: none when the spec installs no files. */
function appOf(input: SbomInput): SbomApp | undefined {
  const files = [...(input.appFiles ?? [])].sort((a, b) => compareText(a.path, b.path));
  if (files.length === 0) return undefined;
  return {
    spdxId: 'SPDXRef-App',
    name: `${input.service}-app`,
    ...(input.version ? { version: input.version } : {}),
    files: files.map((file, index) => ({ ...file, spdxId: `SPDXRef-File-${index + 1}` })),
  };
}

/**
 * SPDX §7.9: the SHA-1 of the files' SHA-1s, sorted and concatenated. It lets filesAnalyzed be true,
 * so the files are the package's own, listed with their checksums.
 */
function spdxAppPackage(app: SbomApp): object {
  const verification = createHash('sha1')
    .update(
      app.files
        .map((f) => f.sha1)
        .sort()
        .join(''),
    )
    .digest('hex');
  return {
    SPDXID: app.spdxId,
    name: app.name,
    ...(app.version ? { versionInfo: app.version } : {}),
    downloadLocation: noAssertion,
    filesAnalyzed: true,
    packageVerificationCode: { packageVerificationCodeValue: verification },
    licenseConcluded: noAssertion,
    licenseDeclared: noAssertion,
    licenseInfoFromFiles: [noAssertion],
    copyrightText: noAssertion,
    hasFiles: app.files.map((f) => f.spdxId),
    comment: "the spec's files:, as installed in the image",
    primaryPackagePurpose: 'APPLICATION',
  };
}

function spdxFile(file: SbomApp['files'][number]): object {
  return {
    SPDXID: file.spdxId,
    // §8.1: a relative path that starts with ./ (from the image's root).
    fileName: `./${file.path}`,
    checksums: [
      { algorithm: 'SHA1', checksumValue: file.sha1 },
      { algorithm: 'SHA256', checksumValue: file.sha256 },
    ],
    licenseConcluded: noAssertion,
    licenseInfoInFiles: [noAssertion],
    copyrightText: noAssertion,
  };
}

function cycloneDxAppComponent(app: SbomApp): object {
  return {
    type: 'application',
    'bom-ref': appRef,
    name: app.name,
    ...(app.version ? { version: app.version } : {}),
    components: app.files.map((file) => ({
      type: 'file',
      'bom-ref': `app-file:/${file.path}`,
      name: `/${file.path}`,
      hashes: [
        { alg: 'SHA-1', content: file.sha1 },
        { alg: 'SHA-256', content: file.sha256 },
      ],
    })),
  };
}

/**
 * The DEPENDS_ON pairs among `from`'s packages, to packages in `all`. A name that is there for two
 * architectures (a base's multiarch library) resolves to the one of the dependent's architecture.
 */
function dependencyPairs(
  from: readonly SbomPackage[],
  dependsOn: SbomInput['dependsOn'],
  all: readonly SbomPackage[] = from,
): [SbomPackage, SbomPackage][] {
  const pairs: [SbomPackage, SbomPackage][] = [];
  for (const pkg of from) {
    if (pkg.fromBase) continue;
    for (const name of dependsOn?.get(pkg.name) ?? []) {
      const candidates = all.filter((p) => p.name === name);
      const target =
        candidates.find((p) => p.architecture === pkg.architecture) ??
        candidates.find((p) => p.architecture === 'all') ??
        candidates[0];
      if (target) pairs.push([pkg, target]);
    }
  }
  return pairs;
}

/**
 * A UUID made from the digest's first 32 hex digits, with the version (4) and variant (10xx) bits
 * set so that validators accept it. Same image, same serial number.
 */
export function uuidFromDigest(digest: Digest): string {
  const hex = hexOf(digest).slice(0, 32).split('');
  hex[12] = '4';
  hex[16] = ((Number.parseInt(hex[16] ?? '0', 16) & 0x3) | 0x8).toString(16);
  const s = hex.join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20, 32)}`;
}

/**
 * SPDX ids allow only letters, digits, `.` and `-` (§7.2). Other characters become `-<HEX>`:
 * Debian names are lowercase, so the uppercase escape cannot collide with a real name. A name that
 * is there for two architectures (a base's multiarch package) gets the architecture too.
 */
function spdxIdOf(pkg: BasePackage, options: { withArchitecture: boolean }): string {
  const text = options.withArchitecture ? `${pkg.name}_${pkg.architecture}` : pkg.name;
  const safe = text.replace(/[^A-Za-z0-9.-]/g, (c) => `-${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `SPDXRef-Package-deb-${safe}`;
}

/** SPDX 2.3's schema takes whole seconds in UTC (`…T12:00:00Z`); a build date may carry milliseconds. */
function spdxTimestamp(iso: string): string {
  return `${new Date(iso).toISOString().slice(0, 19)}Z`;
}

function distroOf(input: SbomInput): string {
  return debianDistro(input.suite, input.versionId ? { versionId: input.versionId } : {});
}

/** The base's packages and the lock's, sorted by name and architecture. */
function sbomPackages(input: SbomInput): SbomPackage[] {
  const all: { pkg: BasePackage; locked?: LockedPackage; fromBase: boolean }[] = [
    ...(input.base?.packages ?? []).map((pkg) => ({ pkg, fromBase: true })),
    ...input.packages.map((pkg) => ({ pkg, locked: pkg, fromBase: false })),
  ].sort(
    (a, b) => compareText(a.pkg.name, b.pkg.name) || compareText(a.pkg.architecture, b.pkg.architecture),
  );
  const distro = distroOf(input);
  const counts = new Map<string, number>();
  for (const { pkg } of all) counts.set(pkg.name, (counts.get(pkg.name) ?? 0) + 1);
  return all.map(({ pkg, locked, fromBase }) => ({
    name: pkg.name,
    version: pkg.version,
    architecture: pkg.architecture,
    source: pkg.source,
    sourceVersion: pkg.sourceVersion,
    spdxId: spdxIdOf(pkg, { withArchitecture: (counts.get(pkg.name) ?? 0) > 1 }),
    purl: debianPurl(pkg, { distro }),
    ...(input.licenses?.has(pkg.name) ? { license: input.licenses.get(pkg.name) as string } : {}),
    ...(locked ? { sha256: locked.sha256, suite: locked.suite } : {}),
    fromBase,
  }));
}

/** Code-unit order, not locale order, so the sort is the same on every host. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
