import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkDebIdentity, debIdentityMismatches } from './deb-identity.js';
import type { LockedPackage } from './lock-file.js';

const locked: LockedPackage = {
  name: 'libssl3',
  version: '3.0.15-1~deb12u1',
  architecture: 'amd64',
  source: 'openssl',
  sourceVersion: '3.0.15-1~deb12u1',
  suite: 'bookworm-security',
  filename: 'pool/updates/main/o/openssl/libssl3_3.0.15-1~deb12u1_amd64.deb',
  size: 1,
  sha256: 'a'.repeat(64),
  reason: 'requested',
};

const control =
  'Package: libssl3\nSource: openssl\nVersion: 3.0.15-1~deb12u1\nArchitecture: amd64\nDescription: x\n';

describe('debIdentityMismatches', () => {
  it('finds nothing when the control file names the locked package', () => {
    assert.deepEqual(debIdentityMismatches(control, locked), []);
  });

  it('names each field that differs, with what the .deb says and what the lock says', () => {
    const other = control
      .replace('Version: 3.0.15-1~deb12u1', 'Version: 3.0.11-1~deb12u2')
      .replace('amd64', 'arm64');

    assert.deepEqual(debIdentityMismatches(other, locked), [
      { field: 'Version', got: '3.0.11-1~deb12u2', expected: '3.0.15-1~deb12u1' },
      { field: 'Architecture', got: 'arm64', expected: 'amd64' },
    ]);
  });

  it('counts a missing field as a mismatch', () => {
    assert.deepEqual(debIdentityMismatches('Package: libssl3\nArchitecture: amd64\n', locked), [
      { field: 'Version', got: undefined, expected: '3.0.15-1~deb12u1' },
    ]);
  });
});

describe('checkDebIdentity', () => {
  it('refuses with DEB_CONTROL_MISMATCH naming the .deb, the field, got and expected', () => {
    assert.throws(
      () => checkDebIdentity(control, { ...locked, version: '3.0.16-1' }, { name: 'libssl3.deb' }),
      {
        code: 'DEB_CONTROL_MISMATCH',
        message:
          /^libssl3\.deb: its control file says Version "3\.0\.15-1~deb12u1", herd\.lock says "3\.0\.16-1"/,
      },
    );
  });
});
