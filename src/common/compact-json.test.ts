import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compactJson } from './compact-json.js';

describe('compactJson', () => {
  it('keeps the keys in the order they were written, with no whitespace', () => {
    assert.equal(
      compactJson({ schemaVersion: 2, b: [1, 'x'], a: null }),
      '{"schemaVersion":2,"b":[1,"x"],"a":null}',
    );
  });

  it('writes exactly what JSON.stringify writes, the bytes existing digests were taken over', () => {
    const manifest = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      layers: [],
    };

    assert.equal(compactJson(manifest), JSON.stringify(manifest));
  });
});
