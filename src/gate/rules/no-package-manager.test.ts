import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultGateSection } from '../../specfile/gate-section.js';
import { memoryImageView } from '../memory-image.js';
import { noPackageManager } from './no-package-manager.js';

describe('HERD-H006 no package manager (strict)', () => {
  it('finds dpkg and apt in the bin folders and names their package', () => {
    const view = memoryImageView({
      packages: [
        { name: 'dpkg', files: [{ path: '/usr/bin/dpkg', mode: 0o755 }] },
        {
          name: 'apt',
          files: [{ path: '/usr/bin/apt-get', mode: 0o755 }, { path: '/usr/lib/apt/methods/http' }],
        },
      ],
    });

    const results = noPackageManager.check({ view, gate: defaultGateSection });

    assert.deepEqual(
      results.map((r) => [r.location?.path, r.location?.package]),
      [
        ['/usr/bin/apt-get', 'apt'],
        ['/usr/bin/dpkg', 'dpkg'],
      ],
    );
  });

  it('is a strict-only rule', () => {
    assert.deepEqual(noPackageManager.profiles, ['strict']);
  });
});
