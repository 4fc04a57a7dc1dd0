/**
 * Which repository a signature vouches for. A simple signing claim names a `docker-reference`;
 * a verifier that expects an image at some repository accepts only claims for that repository, as
 * containers/image's `matchRepository` policy does: the repository parts are compared, and any tag
 * or digest in the signed reference is ignored (the digest is checked on its own).
 * Policy: https://github.com/containers/image/blob/main/docs/containers-policy.json.5.md#signedidentity
 */
import { parseImageReference } from '../oci/index.js';
import { TrustError } from './errors.js';

/**
 * The repository a local fleet's images are signed for and admitted under: `localhost/<service>`,
 * the name podman gives locally built images. The control plane serves them at its own `/v2/`
 * under a port that changes from run to run, so that address cannot be the identity; `herd sign`
 * and `herd up` sign for this name by default, and admission expects it.
 */
export function localRepository(service: string): string {
  return `localhost/${service}`;
}

/** `registry/repository` of a reference, without tag or digest; undefined when it is not a reference. */
export function repositoryOf(reference: string): string | undefined {
  try {
    const parsed = parseImageReference(reference);
    return `${parsed.registry}/${parsed.repository}`;
  } catch {
    return undefined;
  }
}

/**
 * containers/image's `matchRepository`: true when the signed reference names `repository`. A
 * signed reference that is no valid `registry/repository[:tag][@digest]` matches nothing; herd
 * knows no default registry, so a reference without one is never completed to some public host.
 */
export function matchRepository(signedReference: string, repository: string): boolean {
  const signed = repositoryOf(signedReference);
  return signed !== undefined && signed === repositoryOf(repository);
}

/** Checks a `--identity` the user typed: a repository with its registry; a tag or digest is dropped. */
export function parseIdentity(text: string): string {
  const repository = repositoryOf(text);
  if (repository === undefined) {
    throw new TrustError(
      'IDENTITY_INVALID',
      `identity ${JSON.stringify(text)} is not a repository: expected <registry>/<repository>, e.g. registry.example/team/app`,
    );
  }
  return repository;
}
