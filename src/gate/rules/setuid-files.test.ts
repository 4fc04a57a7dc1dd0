import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultGateSection } from '../../specfile/gate-section.js';
import { memoryImageView } from '../memory-image.js';
import { setuidFiles } from './setuid-files.js';

const view = memoryImageView({
  files: [
    { path: '/usr/bin/plain', mode: 0o755 },
    { path: '/usr/bin/wall', mode: 0o2755, gid: 5 },
    { path: '/var/mail', type: 'dir', mode: 0o2775 },
  ],
  packages: [{ name: 'iputils-ping', files: [{ path: '/usr/bin/ping', mode: 0o4755 }] }],
});

describe('HERD-H002 setuid and setgid files', () => {
  it('reports setuid and setgid files with their mode and the package that ships them', () => {
    const results = setuidFiles.check({ view, gate: defaultGateSection });

    assert.deepEqual(
      results.map((r) => [r.location?.path, r.location?.package, r.message]),
      [
        ['/usr/bin/ping', 'iputils-ping', '/usr/bin/ping is setuid (mode 4755, uid 0, gid 0)'],
        ['/usr/bin/wall', undefined, '/usr/bin/wall is setgid (mode 2755, uid 0, gid 5)'],
      ],
    );
  });

  it('leaves out the files gate.allowSetuid lists by path', () => {
    const gate = { ...defaultGateSection, allowSetuid: ['/usr/bin/ping'] };

    const results = setuidFiles.check({ view, gate });

    assert.deepEqual(
      results.map((r) => r.location?.path),
      ['/usr/bin/wall'],
    );
  });

  it('ignores setgid folders, where the bit only passes the group on to new files', () => {
    const results = setuidFiles.check({ view, gate: defaultGateSection });

    assert.ok(!results.some((r) => r.location?.path === '/var/mail'));
  });
});
