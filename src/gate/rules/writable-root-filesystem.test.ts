import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultGateSection } from '../../specfile/gate-section.js';
import type { Spec } from '../../specfile/types.js';
import { memoryImageView } from '../memory-image.js';
import { writableRootFilesystem } from './writable-root-filesystem.js';

function specWith(writableRoot: boolean): Pick<Spec, 'run' | 'env' | 'health' | 'ports'> {
  return {
    run: {
      user: { name: 'nonroot', uid: 65532, gid: 65532 },
      workdir: '/',
      entrypoint: [],
      cmd: [],
      writable: ['/tmp'],
      writableRoot,
    },
    env: {},
    ports: [],
  };
}

function check(spec?: Pick<Spec, 'run' | 'env' | 'health' | 'ports'>) {
  return writableRootFilesystem.check({
    view: memoryImageView(),
    gate: defaultGateSection,
    ...(spec ? { spec } : {}),
  });
}

describe('HERD-H014 writable root filesystem', () => {
  it('warns about a spec that opts in to a writable root, at the setting', () => {
    const results = check(specWith(true));

    assert.equal(results.length, 1);
    assert.equal(writableRootFilesystem.severity, 'warning');
    assert.equal(results[0]?.level, undefined, 'a warning, as the rule says, never raised to an error');
    assert.equal(results[0]?.location?.setting, 'spec.run.writableRoot');
  });

  it('says nothing about a read-only root, or about an image gated without its spec', () => {
    assert.deepEqual(check(specWith(false)), []);
    assert.deepEqual(check(), []);
  });

  it('refers to CIS Docker 5.12', () => {
    assert.deepEqual(
      writableRootFilesystem.references.map((one) => one.id),
      ['CIS 5.12'],
    );
  });
});
