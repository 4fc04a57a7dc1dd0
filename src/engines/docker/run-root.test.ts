import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runRootFor } from './podman-service.js';

const deep = '/home/alice/projects/platform-team/payments/.herd/engine';

describe('runRootFor', () => {
  it('keeps the run root in the state dir while podman takes its length', () => {
    assert.deepEqual(runRootFor('/root/.herd/engine', { uid: 0, runtimeDir: undefined }), {
      path: '/root/.herd/engine/run',
      own: undefined,
    });
  });

  it('moves a run root podman would refuse to /run/herd for root, the same for the same state dir', () => {
    const first = runRootFor(deep, { uid: 0, runtimeDir: undefined });
    const again = runRootFor(deep, { uid: 0, runtimeDir: '/run/user/0' });
    const other = runRootFor(`${deep}2`, { uid: 0, runtimeDir: undefined });

    assert.match(first?.path ?? '', /^\/run\/herd\/[0-9a-f]{16}$/);
    assert.equal(first?.own, '/run/herd');
    assert.deepEqual(again, first);
    assert.notEqual(other?.path, first?.path);
  });

  it("uses the user's runtime folder for others, and nothing when there is none or it is too deep", () => {
    assert.match(
      runRootFor(deep, { uid: 1000, runtimeDir: '/run/user/1000' })?.path ?? '',
      /^\/run\/user\/1000\/herd\/[0-9a-f]{16}$/,
    );
    assert.equal(runRootFor(deep, { uid: 1000, runtimeDir: undefined }), undefined);
    assert.equal(runRootFor(deep, { uid: 1000, runtimeDir: `/run/user/${'x'.repeat(30)}` }), undefined);
  });
});
