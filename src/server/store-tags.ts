/**
 * How the store's index.json ref names appear as tags of the `/v2/` endpoint. The store is one
 * image layout, not a set of repositories, so every repository name maps to the whole store (names
 * are not scoped to services):
 * - a ref name `<repo>:<tag>` (what `herd build` writes, e.g. `hello:1.0`) gives tag `<tag>`;
 * - a ref name that is itself a valid tag (`latest`, cosign's `sha256-<hex>.sig`) gives that tag;
 * - other ref names (`<repo>@sha256:…`) give none.
 * When several images carry the same tag, the one whose repo part equals the requested name wins;
 * if that does not decide it, the tag is ambiguous and not served.
 */

import type { Descriptor, ImageIndex } from '../oci/index.js';
import { refNameAnnotation } from '../oci/index.js';

const tagPattern = /^[\w][\w.-]{0,127}$/;

export interface TaggedManifest {
  tag: string;
  /** The part before the tag in `<repo>:<tag>`, absent for a bare tag. */
  repository?: string;
  descriptor: Descriptor;
}

export function taggedManifests(index: ImageIndex): TaggedManifest[] {
  const tagged: TaggedManifest[] = [];
  for (const descriptor of index.manifests) {
    const refName = descriptor.annotations?.[refNameAnnotation];
    if (!refName || refName.includes('@')) continue;
    const colon = refName.lastIndexOf(':');
    const bare = colon < 0 || colon < refName.lastIndexOf('/');
    const tag = bare ? refName : refName.slice(colon + 1);
    if (!tagPattern.test(tag)) continue;
    tagged.push({ tag, ...(bare ? {} : { repository: refName.slice(0, colon) }), descriptor });
  }
  return tagged;
}

/** The tags listed for any repository name: every tag in the store, in lexical order. */
export function listTags(index: ImageIndex): string[] {
  return [...new Set(taggedManifests(index).map((t) => t.tag))].sort();
}

export type TagLookup =
  | { kind: 'found'; descriptor: Descriptor }
  | { kind: 'unknown' }
  | { kind: 'ambiguous'; refNames: string[] };

export function findTag(index: ImageIndex, options: { repository: string; tag: string }): TagLookup {
  const candidates = taggedManifests(index).filter((t) => t.tag === options.tag);
  const named = candidates.filter((t) => t.repository === options.repository);
  const pool = named.length > 0 ? named : candidates;
  const digests = new Set(pool.map((t) => t.descriptor.digest));
  const first = pool[0];
  if (!first) return { kind: 'unknown' };
  if (digests.size === 1) return { kind: 'found', descriptor: first.descriptor };
  return {
    kind: 'ambiguous',
    refNames: pool.map((t) => (t.repository ? `${t.repository}:${t.tag}` : t.tag)),
  };
}
