import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { refNameAnnotation } from '../oci/layout-store.js';
import { type Descriptor, type ImageIndex, MediaType } from '../oci/types.js';
import { findTag, listTags } from './store-tags.js';

function named(hex: string, refName?: string): Descriptor {
  return {
    mediaType: MediaType.imageManifest,
    digest: `sha256:${hex.repeat(64)}`,
    size: 1,
    ...(refName ? { annotations: { [refNameAnnotation]: refName } } : {}),
  };
}

const index: ImageIndex = {
  schemaVersion: 2,
  mediaType: MediaType.imageIndex,
  manifests: [
    named('a', 'hello:1.0'),
    named('b', 'api:1.0'),
    named('c', `sha256-${'a'.repeat(64)}.sig`),
    named('d', 'team/web:latest'),
    named('e', `hello@sha256:${'e'.repeat(64)}`),
    named('f'),
  ],
};

describe('store tags', () => {
  it('lists the tag part of every ref name, sorted and without duplicates', () => {
    assert.deepEqual(listTags(index), ['1.0', 'latest', `sha256-${'a'.repeat(64)}.sig`]);
  });

  it('finds a tag under the repository its ref name names', () => {
    assert.deepEqual(findTag(index, { repository: 'api', tag: '1.0' }), {
      kind: 'found',
      descriptor: named('b', 'api:1.0'),
    });
  });

  it('serves a tag under any repository name when only one image carries it', () => {
    const found = findTag(index, { repository: 'anything', tag: 'latest' });

    assert.equal(found.kind === 'found' && found.descriptor.digest, `sha256:${'d'.repeat(64)}`);
  });

  it('calls a tag ambiguous when several images carry it and the name does not decide', () => {
    assert.deepEqual(findTag(index, { repository: 'other', tag: '1.0' }), {
      kind: 'ambiguous',
      refNames: ['hello:1.0', 'api:1.0'],
    });
  });

  it('answers unknown for a tag no ref name carries', () => {
    assert.deepEqual(findTag(index, { repository: 'hello', tag: '2.0' }), { kind: 'unknown' });
  });
});
