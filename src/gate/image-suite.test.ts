import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { debianSuiteOf } from './image-suite.js';
import { memoryImageView } from './memory-image.js';

describe('the Debian suite of an image', () => {
  it("is its os-release's VERSION_CODENAME", () => {
    const view = memoryImageView({
      files: [
        { path: '/usr/lib/os-release', content: 'ID=debian\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\n' },
      ],
      config: { Labels: { 'org.opencontainers.image.base.name': 'debian:trixie' } },
    });

    assert.equal(debianSuiteOf(view), 'bookworm');
  });

  it("is herd's debian:<codename> base label when os-release says nothing", () => {
    const view = memoryImageView({
      config: { Labels: { 'org.opencontainers.image.base.name': 'debian:bookworm' } },
    });

    assert.equal(debianSuiteOf(view), 'bookworm');
  });

  it('is unknown for an image built on a catalog base without os-release', () => {
    const view = memoryImageView({
      config: { Labels: { 'org.opencontainers.image.base.name': 'base@production' } },
    });

    assert.equal(debianSuiteOf(view), undefined);
  });
});
