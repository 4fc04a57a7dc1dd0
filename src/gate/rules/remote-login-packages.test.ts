import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultGateSection } from '../../specfile/gate-section.js';
import { memoryImageView } from '../memory-image.js';
import { remoteLoginPackageNames, remoteLoginPackages } from './remote-login-packages.js';

describe('HERD-H004 remote-login and daemon packages', () => {
  it('reports openssh-server, telnetd and xinetd by package, at their dpkg records', () => {
    const view = memoryImageView({
      packages: [
        { name: 'openssh-server' },
        { name: 'openssh-client' },
        { name: 'telnetd' },
        { name: 'xinetd' },
      ],
    });

    const results = remoteLoginPackages.check({ view, gate: defaultGateSection });

    assert.deepEqual(
      results.map((r) => [r.location?.package, r.location?.path]),
      [
        ['openssh-server', '/var/lib/dpkg/status.d/openssh-server'],
        ['telnetd', '/var/lib/dpkg/status.d/telnetd'],
        ['xinetd', '/var/lib/dpkg/status.d/xinetd'],
      ],
    );
  });

  it('lists the classic remote-login servers the issue names', () => {
    for (const name of ['openssh-server', 'telnetd', 'rsh-server', 'inetutils-telnetd', 'xinetd']) {
      assert.ok(remoteLoginPackageNames.has(name), name);
    }
  });
});
