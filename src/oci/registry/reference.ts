/**
 * Image references as docker and podman write them: `[registry/]repository[:tag][@digest]`.
 * Grammar: https://github.com/distribution/reference/blob/v0.6.0/reference.go
 * Repository names: https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#pulling-manifests
 */
import { isDigest } from '../digest.js';
import type { Digest } from '../types.js';
import { RegistryError } from './errors.js';

export interface ImageReference {
  /** The registry as written, `host[:port]`; every reference names one. */
  registry: string;
  /** Where the registry's API lives, e.g. `http://127.0.0.1:5000` or `https://registry.example`. */
  baseUrl: string;
  /** The repository path, e.g. `team/hello`. */
  repository: string;
  /** Absent only when the reference names a digest and no tag. */
  tag?: string;
  digest?: Digest;
}

const pathComponent = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const tagPattern = /^[\w][\w.-]{0,127}$/;
const hostPattern =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?$/;
const maxNameLength = 255;

/**
 * Parses a reference by docker's rules: the first component is a registry only if it has a `.` or
 * a `:` or is `localhost`. Unlike docker, herd has no default registry: a reference without one is
 * refused rather than sent to a host the user never named. Loopback registries speak plain
 * http (as docker and podman assume for local test registries); every other registry is https
 * unless `insecure` is set.
 */
export function parseImageReference(text: string, options: { insecure?: boolean } = {}): ImageReference {
  const fail = (why: string): never => {
    throw new RegistryError('REFERENCE_INVALID', `image reference ${JSON.stringify(text)} ${why}`);
  };
  let rest = text;
  let digest: Digest | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    const candidate = rest.slice(at + 1);
    if (!isDigest(candidate)) fail(`has digest ${candidate}, expected sha256:<64 lowercase hex>`);
    digest = candidate as Digest;
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const lastColon = rest.lastIndexOf(':');
  if (lastColon > rest.lastIndexOf('/')) {
    tag = rest.slice(lastColon + 1);
    rest = rest.slice(0, lastColon);
    if (!tagPattern.test(tag))
      fail(`has tag ${JSON.stringify(tag)}, expected [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`);
  }

  const slash = rest.indexOf('/');
  const first = slash >= 0 ? rest.slice(0, slash) : '';
  const hasRegistry = slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (!hasRegistry)
    fail('names no registry: expected <host>[:port]/<repository>, e.g. 127.0.0.1:5000/team/app');
  const registry = first;
  const repository = rest.slice(slash + 1);
  if (!hostPattern.test(registry)) fail(`has registry ${JSON.stringify(registry)}, expected host[:port]`);
  if (repository === '') fail('names no repository');
  for (const component of repository.split('/')) {
    if (!pathComponent.test(component)) {
      fail(
        `has repository component ${JSON.stringify(component)}, expected lowercase [a-z0-9] separated by . _ __ or -`,
      );
    }
  }
  if (repository.length > maxNameLength) fail(`has a repository longer than ${maxNameLength} characters`);
  if (!tag && !digest) tag = 'latest';

  const scheme = options.insecure || isLoopback(registry) ? 'http' : 'https';
  return {
    registry,
    baseUrl: `${scheme}://${registry}`,
    repository,
    ...(tag ? { tag } : {}),
    ...(digest ? { digest } : {}),
  };
}

/** The reference written back as `registry/repository[:tag][@digest]`. */
export function formatImageReference(reference: ImageReference): string {
  const tag = reference.tag ? `:${reference.tag}` : '';
  const digest = reference.digest ? `@${reference.digest}` : '';
  return `${reference.registry}/${reference.repository}${tag}${digest}`;
}

function isLoopback(registry: string): boolean {
  const host = registry.replace(/:[0-9]+$/, '');
  return host === 'localhost' || /^127(?:\.[0-9]{1,3}){3}$/.test(host) || host === '[::1]';
}

/**
 * True when `text` names an image in a registry rather than one in the local store: by docker's
 * rule, its first component has a `.` or a `:` or is `localhost`.
 */
export function isRegistryReference(text: string): boolean {
  const first = text.split('/', 1)[0] ?? '';
  return text.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
}
