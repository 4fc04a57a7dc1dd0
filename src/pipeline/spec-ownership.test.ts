import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { LoadedSpec } from '../specfile/index.js';
import { PipelineError } from './errors.js';
import { assertSpecOwnership, ownershipProblem } from './spec-ownership.js';

const herdUid = 1000;

/** A loaded spec at `path` that names these keyrings and app files (relative to its folder or absolute). */
function loadedAt(path: string, named: { keyrings?: string[]; files?: string[] } = {}) {
  return {
    path,
    dir: join(path, '..'),
    spec: {
      image: { repositories: (named.keyrings ?? []).map((keyring) => ({ keyring })) },
      files: (named.files ?? []).map((src) => ({ src })),
    },
  } as unknown as Pick<LoadedSpec, 'path' | 'dir' | 'spec'>;
}

function untrusted(error: unknown): boolean {
  return error instanceof PipelineError && error.code === 'SPEC_UNTRUSTED';
}

describe('who may change a spec the control plane reads unattended', () => {
  it("accepts a path herd's user or root owns that no other user can write", () => {
    assert.equal(
      ownershipProblem(
        { path: '/s/herd.yaml', kind: 'file', mode: 0o100644, uid: herdUid },
        { uid: herdUid },
      ),
      undefined,
    );
    assert.equal(
      ownershipProblem(
        { path: '/s', kind: 'folder', mode: 0o40755, uid: 0 },
        { uid: herdUid, holdsSpec: true },
      ),
      undefined,
    );
  });

  it('refuses a path another user owns, whatever its mode', () => {
    const problem = ownershipProblem(
      { path: '/s/herd.yaml', kind: 'file', mode: 0o100600, uid: 1001 },
      { uid: herdUid },
    );

    assert.match(problem ?? '', /owned by uid 1001: expected uid 1000/);
  });

  it('refuses a world-writable file, and a world-writable spec folder even with the sticky bit', () => {
    assert.match(
      ownershipProblem(
        { path: '/s/herd.lock', kind: 'file', mode: 0o100666, uid: herdUid },
        { uid: herdUid },
      ) ?? '',
      /writable by every user \(mode 0666\)/,
    );
    assert.match(
      ownershipProblem(
        { path: '/s', kind: 'folder', mode: 0o41777, uid: herdUid },
        { uid: herdUid, holdsSpec: true },
      ) ?? '',
      /folder every user can write to \(mode 1777\)/,
    );
  });

  it('accepts a shared folder above the spec only with the sticky bit, as /tmp', () => {
    assert.equal(
      ownershipProblem({ path: '/tmp', kind: 'folder', mode: 0o41777, uid: 0 }, { uid: herdUid }),
      undefined,
    );
    assert.match(
      ownershipProblem({ path: '/shared', kind: 'folder', mode: 0o40777, uid: 0 }, { uid: herdUid }) ?? '',
      /without the sticky bit/,
    );
  });

  describe('on the filesystem', () => {
    let root: string;
    let dir: string;
    let spec: string;
    const uid = process.getuid?.() ?? 0;

    beforeEach(async () => {
      root = await mkdtemp(join(tmpdir(), 'herd-spec-ownership-'));
      dir = join(root, 'web');
      await mkdir(dir, { mode: 0o755 });
      spec = join(dir, 'herd.yaml');
      await writeFile(spec, 'service: web\n', { mode: 0o644 });
    });

    afterEach(async () => {
      await rm(root, { recursive: true, force: true });
    });

    it("accepts a spec in a folder of herd's own", async () => {
      await assertSpecOwnership(loadedAt(spec), { uid });
    });

    it('refuses a spec whose folder another user could swap it in', async () => {
      await chmod(dir, 0o777);

      await assert.rejects(assertSpecOwnership(loadedAt(spec), { uid }), (error: unknown) => {
        assert.ok(untrusted(error));
        assert.match((error as Error).message, new RegExp(`${dir} is a folder every user can write to`));
        return true;
      });
    });

    it('refuses a world-writable spec and a world-writable herd.lock beside it', async () => {
      await chmod(spec, 0o666);
      await assert.rejects(assertSpecOwnership(loadedAt(spec), { uid }), untrusted);

      await chmod(spec, 0o644);
      await writeFile(join(dir, 'herd.lock'), '{}\n', { mode: 0o644 });
      await chmod(join(dir, 'herd.lock'), 0o666);
      await assert.rejects(
        assertSpecOwnership(loadedAt(spec), { uid }),
        /herd\.lock is writable by every user/,
      );
    });

    it('refuses a spec under a folder any user can rename things in', async () => {
      await chmod(root, 0o777);

      await assert.rejects(assertSpecOwnership(loadedAt(spec), { uid }), /without the sticky bit/);
    });

    it('refuses a spec whose repository keyring or app file another user could swap', async () => {
      const shared = join(root, 'shared');
      await mkdir(shared);
      await chmod(shared, 0o777);
      await writeFile(join(shared, 'archive.gpg'), 'key', { mode: 0o644 });
      await writeFile(join(dir, 'app.sh'), 'echo hi\n', { mode: 0o644 });

      await assertSpecOwnership(loadedAt(spec, { files: ['app.sh'] }), { uid });
      await assert.rejects(
        assertSpecOwnership(loadedAt(spec, { keyrings: [join(shared, 'archive.gpg')] }), { uid }),
        new RegExp(`${shared} is a folder every user can write to without the sticky bit`),
      );
      await assert.rejects(
        assertSpecOwnership(loadedAt(spec, { files: ['../shared/archive.gpg'] }), { uid }),
        untrusted,
      );
    });

    it('judges the folder a symlinked spec really lives in', async () => {
      const shared = join(root, 'shared');
      await mkdir(shared);
      await chmod(shared, 0o777);
      await writeFile(join(shared, 'herd.yaml'), 'service: web\n', { mode: 0o644 });
      await rm(spec);
      await symlink(join(shared, 'herd.yaml'), spec);

      await assert.rejects(assertSpecOwnership(loadedAt(spec), { uid }), (error: unknown) => {
        assert.ok(untrusted(error));
        assert.match((error as Error).message, new RegExp(`${shared} is a folder every user can write to`));
        return true;
      });
    });
  });
});
