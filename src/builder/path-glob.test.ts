import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileGlobs } from './path-glob.js';

describe('compileGlobs', () => {
  it('matches a folder tree with a trailing double star but not the folder itself', () => {
    const matches = compileGlobs(['/usr/share/doc/**']);

    assert.equal(matches('/usr/share/doc/libc6/changelog.gz'), true);
    assert.equal(matches('/usr/share/doc'), false);
    assert.equal(matches('/usr/share/docs/x'), false);
  });

  it('keeps a single star inside one path component', () => {
    const matches = compileGlobs(['/usr/share/doc/*/copyright']);

    assert.equal(matches('/usr/share/doc/libc6/copyright'), true);
    assert.equal(matches('/usr/share/doc/a/b/copyright'), false);
  });

  it('treats a middle double star as zero or more folders', () => {
    const matches = compileGlobs(['/usr/**/*.pyc']);

    assert.equal(matches('/usr/x.pyc'), true);
    assert.equal(matches('/usr/lib/python3/x.pyc'), true);
    assert.equal(matches('/etc/x.pyc'), false);
  });

  it('escapes regular expression characters in patterns', () => {
    const matches = compileGlobs(['/usr/lib/libstdc++.so.6']);

    assert.equal(matches('/usr/lib/libstdc++.so.6'), true);
    assert.equal(matches('/usr/lib/libstdcc.so.6'), false);
  });
});
