import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultGateSection } from '../../specfile/gate-section.js';
import type { LockFacts } from '../lock-facts.js';
import { memoryImageView } from '../memory-image.js';
import { signedSuites } from './signed-suites.js';

const lock: LockFacts = {
  digest: 'sha256:00',
  suites: [
    { suite: 'bookworm', signer: 'B8E5F13176D2A7A75220028078DBA3BC47EF2265' },
    { suite: 'local', signer: '' },
  ],
  packages: [
    { name: 'libc6', version: '2.36-9', architecture: 'amd64', suite: 'bookworm' },
    { name: 'tool', version: '1.0-1', architecture: 'amd64', suite: 'local' },
  ],
};

describe('HERD-H012 signed suites', () => {
  it('passes packages from suites whose signer the lock records', () => {
    const view = memoryImageView({ packages: [{ name: 'libc6', version: '2.36-9' }], lock });

    assert.deepEqual(signedSuites.check({ view, gate: defaultGateSection }), []);
  });

  it('fails a package from a suite the lock has no signature for', () => {
    const view = memoryImageView({ packages: [{ name: 'tool', version: '1.0-1' }], lock });

    const results = signedSuites.check({ view, gate: defaultGateSection });

    assert.equal(results.length, 1);
    assert.equal(results[0]?.level, undefined);
    assert.equal(results[0]?.location?.package, 'tool');
  });

  it('warns once about packages the lock does not list, such as those of a base image', () => {
    const view = memoryImageView({
      packages: [{ name: 'base-files', version: '12.4' }, { name: 'zlib1g' }],
      lock,
    });

    const results = signedSuites.check({ view, gate: defaultGateSection });

    assert.equal(results.length, 1);
    assert.equal(results[0]?.level, 'warning');
    assert.match(results[0]?.message ?? '', /2 installed package\(s\).*base-files, zlib1g/);
  });

  it('says once, as info, that nothing was checked without the lock', () => {
    const view = memoryImageView({ packages: [{ name: 'libc6' }] });

    assert.deepEqual(
      signedSuites.check({ view, gate: defaultGateSection }).map((r) => r.level),
      ['info'],
    );
  });
});
