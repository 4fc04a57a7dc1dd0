import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { FileManifestEntry } from '../../oci/index.js';
import { probeBoundExceeded, probeMaxBytes, probeMaxEntries } from './probe-bounds.js';

const file = (path: string): FileManifestEntry => ({
  path,
  type: 'file',
  mode: 0o644,
  uid: 0,
  gid: 0,
  size: 1,
  sha256: 'a'.repeat(64),
});

describe('probeBoundExceeded', () => {
  it('lets an image of ordinary size be probed', () => {
    const image = Array.from({ length: 10_000 }, (_, index) => file(`/usr/lib/file-${index}`));
    assert.equal(probeBoundExceeded(image), undefined);
  });

  it('refuses an image whose file count comes near the entries bound', () => {
    const image = Array.from({ length: 160_000 }, (_, index) => file(`/f${index}`));
    assert.match(probeBoundExceeded(image) ?? '', /160000 files, near the probe's bound of 200000/);
  });

  it('refuses an image whose listing comes near the byte bound, though its count is small', () => {
    const long = 'd'.repeat(1000);
    const image = Array.from({ length: 7_000 }, (_, index) => file(`/${long}/${index}`));
    assert.match(probeBoundExceeded(image) ?? '', /near the probe's bound of 8388608/);
  });

  it('has the bounds the probe program itself applies', () => {
    const probe = readFileSync(new URL('./probe/drift-probe.mjs', import.meta.url), 'utf8');
    assert.match(probe, new RegExp(`maxEntries: ${probeMaxEntries.toLocaleString('en').replace(/,/g, '_')}`));
    assert.equal(probeMaxBytes, 8 << 20);
    assert.match(probe, /maxBytes: 8 << 20/);
  });
});
