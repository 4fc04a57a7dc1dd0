import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultGateSection } from '../../specfile/gate-section.js';
import { memoryImageView } from '../memory-image.js';
import { noShell } from './no-shell.js';

describe('HERD-H005 no shell (strict)', () => {
  it('finds shells and busybox in the bin folders, as files or links', () => {
    const view = memoryImageView({
      files: [
        { path: '/bin', target: 'usr/bin' },
        { path: '/usr/bin/sh', target: 'dash' },
        { path: '/usr/bin/dash', mode: 0o755 },
        { path: '/usr/local/bin/busybox', mode: 0o755 },
        { path: '/usr/bin/node', mode: 0o755 },
        { path: '/usr/share/bash-completion/bash', mode: 0o644 },
      ],
    });

    const results = noShell.check({ view, gate: defaultGateSection });

    assert.deepEqual(
      results.map((r) => r.location?.path),
      ['/usr/bin/dash', '/usr/bin/sh', '/usr/local/bin/busybox'],
    );
  });

  it('is a strict-only rule', () => {
    assert.deepEqual(noShell.profiles, ['strict']);
  });
});
