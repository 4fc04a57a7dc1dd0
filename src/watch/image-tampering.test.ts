import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expectedPaths } from './expected-paths.js';
import type { DriftFinding } from './findings.js';
import { findingsInImage } from './image-tampering.js';

const expected = expectedPaths(['/tmp']);
const finding = (path: string): DriftFinding => ({
  path,
  change: 'modified',
  reason: 'sha256 differs from the manifest',
});
const paths = (found: DriftFinding[]) => found.map((one) => one.path);

describe('findingsInImage', () => {
  const findings = [
    finding('/usr/bin/server'),
    finding('/tmp/miner'),
    finding('/etc/hosts'),
    finding('/usr/lib/os-release'),
  ];

  it('on a read-only root, counts every image file, even one in the upper layer: only the host writes there', () => {
    const upperLayer = new Set(['/usr/bin/server']);

    assert.deepEqual(paths(findingsInImage(findings, { expected, writableRoot: false, upperLayer })), [
      '/usr/bin/server',
      '/usr/lib/os-release',
    ]);
  });

  it('on a writable root, counts only image files the upper layer does not explain: changes below it', () => {
    const upperLayer = new Set(['/usr/bin/server']);

    assert.deepEqual(paths(findingsInImage(findings, { expected, writableRoot: true, upperLayer })), [
      '/usr/lib/os-release',
    ]);
  });

  it('never counts the writable paths or the engine files', () => {
    assert.deepEqual(
      findingsInImage([finding('/tmp/miner'), finding('/etc/hosts'), finding('/run/podman-init')], {
        expected,
        writableRoot: false,
      }),
      [],
    );
  });
});
