import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultGateSection } from '../../specfile/gate-section.js';
import { memoryImageView } from '../memory-image.js';
import { fileManifestMatchesLayers } from './file-manifest-matches-layers.js';

const files = [
  { path: '/usr', type: 'dir' as const },
  { path: '/usr/bin', type: 'dir' as const },
  { path: '/usr/bin/app', mode: 0o755, content: 'app v1' },
];

describe('HERD-H013 file manifest matches layers', () => {
  it('passes when the attached manifest lists exactly what the layers hold', () => {
    const view = memoryImageView({ files });

    assert.deepEqual(fileManifestMatchesLayers.check({ view, gate: defaultGateSection }), []);
  });

  it('reports a manifest that hides a setuid bit, has another size, or leaves out a path', () => {
    const honest = memoryImageView({ files });
    if (honest.fileManifest.kind !== 'attached') throw new Error('expected an attached manifest');
    const entries = honest.fileManifest.entries.filter((e) => e.path !== '/usr/bin');
    const view = memoryImageView({
      files: [
        ...files.slice(0, 2),
        { path: '/usr/bin/app', mode: 0o4755, content: 'app v1' },
        { path: '/usr/bin/other', content: 'app v2' },
      ],
      fileManifest: {
        ...honest.fileManifest,
        entries: [
          ...entries,
          {
            path: '/usr/bin/other',
            type: 'file',
            mode: 0o644,
            uid: 0,
            gid: 0,
            size: 5,
            sha256: '0'.repeat(64),
          },
        ],
      },
    });

    const results = fileManifestMatchesLayers.check({ view, gate: defaultGateSection });

    assert.deepEqual(
      results.map((r) => r.message),
      [
        '/usr/bin/app: mode 0755 in the manifest, 4755 in the layers',
        '/usr/bin/other: 5 bytes in the manifest, 6 in the layers',
        '/usr/bin: in the layers but not in the file manifest',
      ],
    );
  });

  it('warns when no file manifest is attached', () => {
    const view = memoryImageView({ files, fileManifest: { kind: 'missing' } });

    assert.deepEqual(
      fileManifestMatchesLayers.check({ view, gate: defaultGateSection }).map((r) => r.level),
      ['warning'],
    );
  });
});
