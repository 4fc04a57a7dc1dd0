import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultGateSection } from '../../specfile/gate-section.js';
import { memoryImageView } from '../memory-image.js';
import { worldWritablePaths } from './world-writable-paths.js';

describe('HERD-H003 world-writable paths', () => {
  it('reports world-writable files and folders without the sticky bit, and nothing else', () => {
    const view = memoryImageView({
      files: [
        { path: '/tmp', type: 'dir', mode: 0o1777 },
        { path: '/var/drop', type: 'dir', mode: 0o777 },
        { path: '/app/state.json', mode: 0o666 },
        { path: '/app/group-writable', mode: 0o664 },
        { path: '/usr/bin/link', target: 'ls' },
      ],
    });

    const results = worldWritablePaths.check({ view, gate: defaultGateSection });

    assert.deepEqual(
      results.map((r) => r.message),
      [
        '/app/state.json is a world-writable file (mode 0666)',
        '/var/drop is a world-writable folder without the sticky bit (mode 0777)',
      ],
    );
  });
});
