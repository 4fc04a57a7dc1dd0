/**
 * SBOMs for a built image, in SPDX 2.3 and CycloneDX 1.5 JSON. Both are pure functions of the
 * lock and the image digest: no host names, clock or random ids, so a rebuild gives the same bytes.
 * The Debian packages are named by purl, the same way Syft and Trivy name them, so other tools can
 * match them against vulnerability data.
 */
import { hexOf } from '../oci/digest.js';
import type { Digest } from '../oci/types.js';
import type { LockedPackage } from './lock-file.js';
import { debianDistro, debianPurl, ociPurl } from './purl.js';

export interface SbomInput {
  service: string;
  version?: string;
  imageDigest: Digest;
  /** ISO 8601; the build date, never the wall clock, so the document is reproducible. */
  created: string;
  /** Debian codename, e.g. bookworm. */
  release: string;
  /** VERSION_ID from os-release, e.g. "12", for the purl's `distro=debian-12`. */
  releaseVersion?: string;
  architecture: string;
  packages: LockedPackage[];
}

const noAssertion = 'NOASSERTION';

/** SPDX 2.3: https://spdx.github.io/spdx-spec/v2.3/ (JSON schema: spdx-schema.json in spdx/spdx-spec). */
export function spdxDocument(input: SbomInput): object {
  const packages = sortedPackages(input.packages);
  const distro = distroOf(input);
  const imageId = 'SPDXRef-Image';
  const imageHex = hexOf(input.imageDigest);
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
      ...packages.map((pkg) => ({
        SPDXID: spdxIdOf(pkg),
        name: pkg.name,
        versionInfo: pkg.version,
        supplier: 'Organization: Debian',
        downloadLocation: noAssertion,
        filesAnalyzed: false,
        sourceInfo: `built package from: ${pkg.source} ${pkg.sourceVersion}`,
        licenseConcluded: noAssertion,
        licenseDeclared: noAssertion,
        copyrightText: noAssertion,
        checksums: [{ algorithm: 'SHA256', checksumValue: pkg.sha256 }],
        externalRefs: [
          {
            referenceCategory: 'PACKAGE-MANAGER',
            referenceType: 'purl',
            referenceLocator: debianPurl(pkg, { distro }),
          },
        ],
        primaryPackagePurpose: 'LIBRARY',
      })),
    ],
    relationships: [
      { spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: imageId },
      ...packages.map((pkg) => ({
        spdxElementId: imageId,
        relationshipType: 'CONTAINS',
        relatedSpdxElement: spdxIdOf(pkg),
      })),
    ],
  };
}

/** CycloneDX 1.5: https://cyclonedx.org/docs/1.5/json/ */
export function cycloneDxDocument(input: SbomInput): object {
  const packages = sortedPackages(input.packages);
  const distro = distroOf(input);
  const imageRef = 'image';
  const purls = packages.map((pkg) => debianPurl(pkg, { distro }));
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
      },
    },
    components: packages.map((pkg, index) => ({
      type: 'library',
      'bom-ref': purls[index],
      supplier: { name: 'Debian' },
      name: pkg.name,
      version: pkg.version,
      hashes: [{ alg: 'SHA-256', content: pkg.sha256 }],
      purl: purls[index],
      properties: [
        { name: 'herd:debian:source', value: pkg.source },
        { name: 'herd:debian:suite', value: pkg.suite },
      ],
    })),
    // Only the image's edges are known: the lock does not keep the packages' own dependency graph,
    // and the spec reads a missing entry as "unknown", an empty one as "none".
    dependencies: [{ ref: imageRef, dependsOn: purls }],
  };
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
 * Debian names are lowercase, so the uppercase escape cannot collide with a real name.
 */
function spdxIdOf(pkg: LockedPackage): string {
  const safe = pkg.name.replace(/[^A-Za-z0-9.-]/g, (c) => `-${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `SPDXRef-Package-deb-${safe}`;
}

/** SPDX 2.3's schema takes whole seconds in UTC (`…T12:00:00Z`); a build date may carry milliseconds. */
function spdxTimestamp(iso: string): string {
  return `${new Date(iso).toISOString().slice(0, 19)}Z`;
}

function distroOf(input: SbomInput): string {
  return debianDistro(input.release, input.releaseVersion ? { releaseVersion: input.releaseVersion } : {});
}

function sortedPackages(packages: LockedPackage[]): LockedPackage[] {
  return [...packages].sort(
    (a, b) => compareText(a.name, b.name) || compareText(a.architecture, b.architecture),
  );
}

/** Code-unit order, not locale order, so the sort is the same on every host. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
