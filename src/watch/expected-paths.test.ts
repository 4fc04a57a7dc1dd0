import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { engineProvidedFiles, expectedPaths, isEngineProvidedFile } from './expected-paths.js';

const plain = { type: 'file', mode: 0o755 } as const;

describe('expectedPaths', () => {
  it('scans the writable paths and the engine /dev/shm, once each', () => {
    assert.deepEqual(expectedPaths(['/tmp', '/var/cache/app']).scanned, [
      '/tmp',
      '/var/cache/app',
      '/dev/shm',
    ]);
    assert.deepEqual(expectedPaths([]).scanned, ['/dev/shm']);
    assert.deepEqual(expectedPaths(['/dev/shm']).scanned, ['/dev/shm']);
  });

  it("knows the engine's own files under a writable /run, and nothing else there", () => {
    const expected = expectedPaths(['/run']);

    assert.equal(expected.classify('/run/podman-init'), 'engine');
    assert.equal(expected.classify('/run/.containerenv'), 'engine');
    assert.equal(expected.classify('/run/podman-init.d/x'), 'writable');
    assert.equal(expected.classify('/run/app.pid'), 'writable');
    assert.equal(expected.classify('/run'), 'engine');
  });

  it('judges the files the engine bind-mounts as the engine own, whatever the writable paths', () => {
    for (const writable of [[], ['/run'], ['/tmp']]) {
      const expected = expectedPaths(writable);
      for (const path of engineProvidedFiles) assert.equal(expected.classify(path), 'engine', path);
    }
    assert.equal(expectedPaths([]).classify('/etc/shadow'), 'image');
  });
});

describe('isEngineProvidedFile', () => {
  const expected = expectedPaths(['/run', '/tmp']);

  it("passes podman's init where podman mounts it, an executable by nature", () => {
    assert.equal(isEngineProvidedFile({ path: '/run/podman-init', observed: plain }, expected), true);
  });

  it('does not pass a setuid file, a device, or the same name anywhere else', () => {
    const finding = (path: string, observed = plain as { type: string; mode: number }) => ({
      path,
      observed,
    });

    assert.equal(
      isEngineProvidedFile(finding('/run/podman-init', { type: 'file', mode: 0o4755 }), expected),
      false,
    );
    assert.equal(
      isEngineProvidedFile(finding('/run/podman-init', { type: 'char', mode: 0o644 }), expected),
      false,
    );
    assert.equal(isEngineProvidedFile(finding('/tmp/podman-init'), expected), false);
    assert.equal(isEngineProvidedFile(finding('/run/podman-init2'), expected), false);
    assert.equal(isEngineProvidedFile(finding('/dev/shm/podman-init'), expected), false);
  });
});
