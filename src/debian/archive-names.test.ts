import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { architectureProblem, packageNameProblem, poolPathProblem, versionProblem } from './archive-names.js';

describe('package names', () => {
  it('accepts the names Debian uses', () => {
    for (const name of ['libc6', 'g++', 'libstdc++6', 'python3.11', 'ca-certificates', '0ad']) {
      assert.equal(packageNameProblem(name), undefined, name);
    }
  });

  it('refuses names that are paths, upper case, single characters or empty', () => {
    for (const name of ['../../x', '..', 'a/b', '/etc', 'Hello', 'x', '', '-x', '.x', 'a b', 'a\0b']) {
      assert.match(packageNameProblem(name) ?? '', /expected a Debian package name/, name);
    }
  });
});

describe('versions', () => {
  it('accepts Policy 5.6.12 versions, with epochs, revisions and tildes', () => {
    for (const version of [
      '1.0',
      '2:1.2.3-4',
      '3.0.11-1~deb12u2',
      '1.0+dfsg-1.1',
      '1:2.36-9+deb12u4',
      '0~rc1',
    ]) {
      assert.equal(versionProblem(version), undefined, version);
    }
  });

  it('refuses a version with a slash, a space, a bad epoch or a bad revision', () => {
    const cases: [string, RegExp][] = [
      ['1.0/../../x', /upstream version "1\.0\/\.\.\/\.\.\/x"/],
      ['../1', /upstream version/],
      ['1.0 evil', /upstream version/],
      ['x1.0', /must start with a digit/],
      ['-1:1.0', /epoch "-1"/],
      [':1.0', /epoch ""/],
      ['1.0-', /revision ""/],
      ['1.0-1/2', /revision "1\/2"/],
      ['', /upstream version ""/],
    ];
    for (const [version, why] of cases) assert.match(versionProblem(version) ?? '', why, version);
  });
});

describe('architectures', () => {
  it('accepts dpkg architecture names and all', () => {
    for (const arch of ['amd64', 'arm64', 'ppc64el', 'hurd-i386', 'all']) {
      assert.equal(architectureProblem(arch), undefined, arch);
    }
  });

  it('refuses paths and other characters', () => {
    for (const arch of ['../amd64', 'amd64/', 'AMD64', '', '-x']) {
      assert.ok(architectureProblem(arch), arch);
    }
  });
});

describe('pool paths', () => {
  it('accepts a path under the repository root', () => {
    assert.equal(poolPathProblem('pool/main/o/openssl/libssl3_3.0.11-1~deb12u2_amd64.deb'), undefined);
  });

  it('refuses absolute paths, .. in any spelling, and characters that change the URL', () => {
    const cases: [string, RegExp][] = [
      ['/etc/passwd', /absolute/],
      ['pool/../../etc/passwd', /"\.\." component/],
      ['pool/%2e%2e/x.deb', /"%2e%2e" component/],
      ['pool/%2E./x.deb', /"%2E\." component/],
      ['pool/a%2f..%2fb.deb', /encoded "\/"/],
      ['pool/a%5Cb.deb', /encoded/],
      ['pool//x.deb', /empty component/],
      ['pool/./x.deb', /"\." component/],
      ['pool/x.deb?y=1', /"\?"/],
      ['pool/x.deb#frag', /"#"/],
      ['pool\\..\\x.deb', /"\\"/],
      ['', /empty/],
    ];
    for (const [path, why] of cases) assert.match(poolPathProblem(path) ?? '', why, path);
  });
});
