/**
 * SLSA build provenance for a built image: what went in (spec, lock, every .deb and app file, by
 * digest) and who built it. Pure: the build passes start and finish times only when it wants
 * them, since they make the document differ between otherwise identical builds.
 * in-toto Statement v1: https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md
 * SLSA Provenance v1: https://slsa.dev/spec/v1.0/provenance
 */

import type { Digest } from '../oci/index.js';
import { hexOf } from '../oci/index.js';
import type { Lock } from './lock-file.js';
import { baseImagePurl, debianDistro, debianPurl } from './purl.js';
import type { ScriptEffects } from './script-effects.js';

export interface ProvenanceInput {
  service: string;
  imageDigest: Digest;
  specPath: string;
  /** `sha256:<hex>` of herd.yaml's bytes. */
  specDigest: string;
  /** `sha256:<hex>` of herd.lock's bytes. */
  lockDigest: string;
  lock: Lock;
  herdVersion: string;
  sourceDateEpoch: number;
  /** What herd did in place of the packages' maintainer scripts, and what it could not do. */
  scriptEffects?: ScriptEffects;
  /** VERSION_ID from os-release; without it the purls' distro comes from the suite's codename. */
  versionId?: string;
  invocationId?: string;
  startedOn?: string;
  finishedOn?: string;
}

/** in-toto DigestSet: algorithm name → lowercase hex. */
type DigestSet = Record<string, string>;

/** SLSA v1 ResourceDescriptor, as far as herd fills it. */
interface ResourceDescriptor {
  uri: string;
  digest: DigestSet;
  name?: string;
}

// herd owns no domain to host these, so they are URNs rather than made-up URLs.
export const herdBuildType = 'urn:herd:buildtype:debian-image:v1';
export const herdBuilderId = 'urn:herd:builder:local';

export function slsaProvenance(input: ProvenanceInput): object {
  const metadata = {
    ...(input.invocationId ? { invocationId: input.invocationId } : {}),
    ...(input.startedOn ? { startedOn: input.startedOn } : {}),
    ...(input.finishedOn ? { finishedOn: input.finishedOn } : {}),
  };
  return {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: input.service, digest: { sha256: hexOf(input.imageDigest) } }],
    predicateType: 'https://slsa.dev/provenance/v1',
    predicate: {
      buildDefinition: {
        buildType: herdBuildType,
        externalParameters: {
          spec: { path: input.specPath, digest: digestSetOf(input.specDigest) },
          lock: { digest: digestSetOf(input.lockDigest) },
        },
        internalParameters: {
          sourceDateEpoch: input.sourceDateEpoch,
          ...(input.scriptEffects ? { maintainerScripts: input.scriptEffects } : {}),
        },
        resolvedDependencies: resolvedDependenciesOf(input),
      },
      runDetails: {
        builder: { id: herdBuilderId, version: { herd: input.herdVersion } },
        ...(Object.keys(metadata).length > 0 ? { metadata } : {}),
      },
    },
  };
}

/** The base image (by digest) if any, every .deb (by purl, sorted by name), then every app file, in the lock's order. */
function resolvedDependenciesOf(input: ProvenanceInput): ResourceDescriptor[] {
  const { lock } = input;
  const distro = debianDistro(lock.suite, input.versionId ? { versionId: input.versionId } : {});
  const packages = [...lock.packages].sort(
    (a, b) => compareText(a.name, b.name) || compareText(a.architecture, b.architecture),
  );
  const base = lock.base;
  return [
    ...(base
      ? [{ uri: baseImagePurl(base.ref, base.digest), digest: digestSetOf(base.digest), name: base.ref }]
      : []),
    ...packages.map((pkg) => ({
      uri: debianPurl(pkg, { distro }),
      digest: { sha256: pkg.sha256 },
      name: pkg.filename,
    })),
    ...lock.files.map((file) => ({ uri: `file:${file.src}`, digest: { sha256: file.sha256 } })),
  ];
}

/** `sha256:<hex>` → `{ sha256: hex }`; a bare hex string is taken as sha256. */
function digestSetOf(digest: string): DigestSet {
  const colon = digest.indexOf(':');
  if (colon < 0) return { sha256: digest };
  return { [digest.slice(0, colon)]: digest.slice(colon + 1) };
}

/** Code-unit order, not locale order, so the sort is the same on every host. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
