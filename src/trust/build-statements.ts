/**
 * The in-toto statements herd attests for a built image: the SBOMs and the SLSA provenance that the
 * build attached to it as OCI referrers. SPDX and CycloneDX documents are wrapped in statements
 * with their registered predicate types; the provenance already is a statement.
 * Predicate types: https://github.com/in-toto/attestation/tree/main/spec/predicates
 */

import type { Digest, LayoutStore } from '../oci/index.js';
import { fileManifestMediaType } from '../oci/index.js';
import { parseRunTemplate, runTemplateMediaType, SpecError } from '../specfile/index.js';
import { TrustError } from './errors.js';
import { InTotoStatement, inTotoStatement, statementNamesDigest } from './in-toto-statement.js';

/**
 * The artifact types builder/ attaches (builder/build-image.ts `artifactTypes`); trust/ may not
 * import builder/, so they are repeated here.
 */
const attachedTypes = {
  spdx: 'application/spdx+json',
  cyclonedx: 'application/vnd.cyclonedx+json',
  provenance: 'application/vnd.in-toto+json',
  fileManifest: fileManifestMediaType,
  runTemplate: runTemplateMediaType,
} as const;

export const spdxPredicateType = 'https://spdx.dev/Document';
export const cycloneDxPredicateType = 'https://cyclonedx.org/bom';

/**
 * herd's gate verdict as an attestation predicate. in-toto predicate types are URIs; a URN says
 * "herd's own document" without pretending to be a web address that serves a schema.
 */
export const gateVerdictPredicateType = 'urn:herd:gate-verdict:v1';

/**
 * The build's file manifest, attested so that the integrity monitor trusts only a baseline the
 * signing key vouched for (the referrer itself is bound to nothing but its subject digest).
 */
export const fileManifestPredicateType = 'urn:herd:file-manifest:v1';

/**
 * How the image runs (specfile/run-template.ts), attested so that admission compares a rollout's
 * template with what the signing key vouched for, not with an unsigned referrer.
 */
export const runTemplatePredicateType = 'urn:herd:run-template:v1';

const titleAnnotation = 'org.opencontainers.image.title';

/** The gate's verdict about the image, as a statement to attest beside the build's. */
export async function gateVerdictStatement(
  store: LayoutStore,
  digest: Digest,
  verdict: { image: string },
): Promise<InTotoStatement> {
  if (verdict.image !== digest) {
    throw new TrustError('ATTESTATION_INVALID', `the gate verdict is about ${verdict.image}, not ${digest}`);
  }
  const image = await store.getManifest(digest);
  const name = image.annotations?.[titleAnnotation] ?? digest;
  return inTotoStatement({ name, digest }, { predicateType: gateVerdictPredicateType, predicate: verdict });
}

/**
 * Statements in a fixed order: SPDX, CycloneDX, file manifest, run template, then provenance.
 * Reads every blob through the store's digest check. An image built before run templates has
 * none; it is signed all the same, and admission refuses to run it until it is rebuilt.
 */
export async function collectBuildStatements(store: LayoutStore, digest: Digest): Promise<InTotoStatement[]> {
  const image = await store.getManifest(digest);
  const name = image.annotations?.[titleAnnotation] ?? digest;
  const statements: InTotoStatement[] = [];
  for (const { artifactType, predicateType } of [
    { artifactType: attachedTypes.spdx, predicateType: spdxPredicateType },
    { artifactType: attachedTypes.cyclonedx, predicateType: cycloneDxPredicateType },
    { artifactType: attachedTypes.fileManifest, predicateType: fileManifestPredicateType },
    { artifactType: attachedTypes.runTemplate, predicateType: runTemplatePredicateType },
  ]) {
    for (const document of await attachedDocuments(store, digest, artifactType)) {
      statements.push(inTotoStatement({ name, digest }, { predicateType, predicate: document }));
    }
  }
  checkRunTemplates(statements, digest);
  for (const document of await attachedDocuments(store, digest, attachedTypes.provenance)) {
    const parsed = InTotoStatement.safeParse(document);
    if (!parsed.success || !statementNamesDigest(parsed.data as InTotoStatement, digest)) {
      throw new TrustError(
        'ATTESTATION_INVALID',
        `provenance attached to image ${digest} is not an in-toto statement about that image`,
      );
    }
    statements.push(document as InTotoStatement);
  }
  return statements;
}

/** A key vouches only for a run template herd can read, and for one: two would leave admission guessing. */
function checkRunTemplates(statements: readonly InTotoStatement[], digest: Digest): void {
  const templates = statements.filter((statement) => statement.predicateType === runTemplatePredicateType);
  if (templates.length > 1) {
    throw new TrustError(
      'ATTESTATION_INVALID',
      `image ${digest} has ${templates.length} run templates attached, expected at most 1: rebuild it`,
    );
  }
  for (const { predicate } of templates) {
    try {
      parseRunTemplate(predicate, `the run template attached to image ${digest}`);
    } catch (error) {
      if (!(error instanceof SpecError)) throw error;
      throw new TrustError('ATTESTATION_INVALID', error.message, { cause: error });
    }
  }
}

async function attachedDocuments(
  store: LayoutStore,
  digest: Digest,
  artifactType: string,
): Promise<unknown[]> {
  const documents: unknown[] = [];
  for (const referrer of await store.referrers(digest, { artifactType })) {
    const manifest = await store.getManifest(referrer.digest);
    for (const layer of manifest.layers) {
      const bytes = await store.getBlob(layer.digest);
      try {
        documents.push(JSON.parse(bytes.toString('utf8')));
      } catch {
        throw new TrustError(
          'ATTESTATION_INVALID',
          `${artifactType} ${layer.digest} attached to image ${digest} is not JSON`,
        );
      }
    }
  }
  return documents;
}
