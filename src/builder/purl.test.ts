import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { debianDistro, debianPurl, ociPurl, percentEncode, purlVersion } from './purl.js';

const distro = 'debian-12';

describe('debianPurl', () => {
  it('encodes a plus in the version as %2B', () => {
    const pkg = { name: 'libc6', version: '2.36-9+deb12u14', architecture: 'amd64', source: 'glibc' };

    const purl = debianPurl(pkg, { distro });

    assert.equal(purl, 'pkg:deb/debian/libc6@2.36-9%2Bdeb12u14?arch=amd64&distro=debian-12&upstream=glibc');
  });

  it('keeps an epoch colon as the purl spec writes it, and a tilde as is', () => {
    const pkg = {
      name: 'libdb5.3',
      version: '1:5.3.28+dfsg2~rc1-1',
      architecture: 'amd64',
      source: 'libdb5.3',
    };

    const purl = debianPurl(pkg, { distro });

    assert.equal(purl, 'pkg:deb/debian/libdb5.3@1:5.3.28%2Bdfsg2~rc1-1?arch=amd64&distro=debian-12');
  });

  it('leaves out the upstream qualifier when the source is the package itself', () => {
    const pkg = { name: 'bash', version: '5.2.15-2+b7', architecture: 'amd64', source: 'bash' };

    const purl = debianPurl(pkg, { distro });

    assert.equal(purl.includes('upstream='), false);
  });

  it('encodes a plus in the package name and keeps the qualifiers in alphabetical order', () => {
    const pkg = { name: 'libstdc++6', version: '12.2.0-14', architecture: 'amd64', source: 'gcc-12' };

    const purl = debianPurl(pkg, { distro });

    assert.equal(purl, 'pkg:deb/debian/libstdc%2B%2B6@12.2.0-14?arch=amd64&distro=debian-12&upstream=gcc-12');
  });

  it("uses the package's own architecture, so arch-independent packages say all", () => {
    const pkg = { name: 'tzdata', version: '2024a-0+deb12u1', architecture: 'all', source: 'tzdata' };

    const purl = debianPurl(pkg, { distro });

    assert.equal(purl, 'pkg:deb/debian/tzdata@2024a-0%2Bdeb12u1?arch=all&distro=debian-12');
  });
});

describe('purlVersion', () => {
  it("writes the deb type's own example version exactly", () => {
    // pkg:deb/debian/attr@1:2.4.47-2%2Bb1?arch=amd64, from the purl spec's deb type definition.
    assert.equal(purlVersion('1:2.4.47-2+b1'), '1:2.4.47-2%2Bb1');
  });

  it('encodes everything else around a colon that is not an epoch', () => {
    assert.equal(purlVersion('2:1.0~rc1+dfsg:x/y'), '2:1.0~rc1%2Bdfsg:x%2Fy');
  });
});

describe('debianDistro', () => {
  it('prefers the os-release version over the codename table', () => {
    assert.equal(debianDistro('bookworm', { versionId: '12' }), 'debian-12');
    assert.equal(debianDistro('trixie', { versionId: '13' }), 'debian-13');
  });

  it('knows the version of a released codename without os-release', () => {
    assert.equal(debianDistro('bookworm'), 'debian-12');
  });

  it('falls back to the bare codename when no version is known', () => {
    assert.equal(debianDistro('sid'), 'sid');
  });
});

describe('percentEncode', () => {
  it('keeps only unreserved characters and encodes each UTF-8 byte of the rest', () => {
    assert.equal(percentEncode('a-b_c.d~e'), 'a-b_c.d~e');
    assert.equal(percentEncode('a b/c?d'), 'a%20b%2Fc%3Fd');
    assert.equal(percentEncode('é'), '%C3%A9');
  });
});

describe('ociPurl', () => {
  it('names an image by its digest with the colon encoded', () => {
    assert.equal(ociPurl('hello', `sha256:${'a'.repeat(64)}`), `pkg:oci/hello@sha256%3A${'a'.repeat(64)}`);
  });
});
