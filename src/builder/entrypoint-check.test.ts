import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseSpecText } from '../specfile/load.js';
import { checkEntrypoint, resolvePath } from './entrypoint-check.js';
import { ImageTree, type TreeNode } from './image-tree.js';

const multiarch = 'usr/lib/x86_64-linux-gnu';

/** A tree as a Debian image has it: merged /usr links, ld.so and libc from this machine, /usr/bin/true. */
function debianLikeTree(options: { without?: string[]; trueMode?: number } = {}): ImageTree {
  const tree = new ImageTree();
  const add = (node: Omit<TreeNode, 'uid' | 'gid' | 'owner' | 'mode'> & { mode?: number }) => {
    if (options.without?.includes(node.path)) return;
    tree.add({ mode: node.type === 'dir' ? 0o755 : 0o644, uid: 0, gid: 0, owner: 'libc6', ...node });
  };
  add({ path: 'lib', type: 'symlink', target: 'usr/lib' });
  add({ path: 'lib64', type: 'symlink', target: 'usr/lib64' });
  add({ path: 'bin', type: 'symlink', target: 'usr/bin' });
  add({
    path: `${multiarch}/libc.so.6`,
    type: 'file',
    data: readFileSync('/lib/x86_64-linux-gnu/libc.so.6'),
  });
  add({
    path: `${multiarch}/ld-linux-x86-64.so.2`,
    type: 'file',
    mode: 0o755,
    data: readFileSync('/lib64/ld-linux-x86-64.so.2'),
  });
  add({
    path: 'usr/lib64/ld-linux-x86-64.so.2',
    type: 'symlink',
    target: '../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2',
  });
  add({
    path: 'usr/bin/true',
    type: 'file',
    mode: options.trueMode ?? 0o755,
    data: readFileSync('/usr/bin/true'),
  });
  return tree;
}

const specWith = (run: string) =>
  parseSpecText(
    `apiVersion: herd/v1\nservice: check\nimage: { packages: [coreutils] }\nrun:\n${run}\n`,
    'herd.yaml',
  );

describe('checkEntrypoint', () => {
  it('passes a real ELF program whose interpreter and libc are in the image, by path or by name in PATH', () => {
    for (const entrypoint of ['/usr/bin/true', '/bin/true', 'true']) {
      const report = checkEntrypoint(debianLikeTree(), specWith(`  entrypoint: ["${entrypoint}"]`));
      assert.deepEqual(report.problems, [], entrypoint);
    }
  });

  it('fails an entrypoint that is not in the image, naming it', () => {
    const report = checkEntrypoint(debianLikeTree(), specWith('  entrypoint: [/usr/bin/java, -version]'));

    assert.deepEqual(report.problems, [
      'the entrypoint /usr/bin/java is not in the image: /usr/bin/java does not exist',
    ]);
  });

  it('checks the command when there is no entrypoint, and nothing when there is neither', () => {
    assert.match(
      checkEntrypoint(debianLikeTree(), specWith('  cmd: [/usr/bin/awk]')).problems.join(),
      /\/usr\/bin\/awk is not in the image/,
    );
    assert.deepEqual(checkEntrypoint(new ImageTree(), specWith('  workdir: /')).problems, []);
  });

  it('fails when libc or the ELF interpreter is missing, naming what and who needs it', () => {
    const noLibc = checkEntrypoint(
      debianLikeTree({ without: [`${multiarch}/libc.so.6`] }),
      specWith('  entrypoint: [/usr/bin/true]'),
    );
    const noLoader = checkEntrypoint(
      debianLikeTree({ without: [`${multiarch}/ld-linux-x86-64.so.2`] }),
      specWith('  entrypoint: [/usr/bin/true]'),
    );

    assert.match(
      noLibc.problems.join(),
      /the library libc\.so\.6 that \/usr\/bin\/true needs is not in the image \(searched \/lib\/x86_64-linux-gnu/,
    );
    assert.match(
      noLoader.problems.join(),
      /its ELF interpreter \/lib64\/ld-linux-x86-64\.so\.2 is not in the image/,
    );
  });

  it('fails a program the run user may not execute', () => {
    const report = checkEntrypoint(
      debianLikeTree({ trueMode: 0o750 }),
      specWith('  entrypoint: [/usr/bin/true]'),
    );

    assert.deepEqual(report.problems, [
      'the entrypoint /usr/bin/true is not executable by the run user 65532:65532: /usr/bin/true has mode 0750, owner 0:0',
    ]);
  });

  it("follows a script's shebang, and env's program through PATH", () => {
    const tree = debianLikeTree();
    const script = (path: string, text: string) =>
      tree.add({ path, type: 'file', mode: 0o755, uid: 0, gid: 0, owner: 'app', data: Buffer.from(text) });
    script('app/ok.sh', '#!/usr/bin/true\n');
    script('app/no-shell.sh', '#!/bin/sh -e\necho hi\n');
    script('app/env.py', '#!/usr/bin/env python3\nprint(1)\n');
    script('usr/bin/env', '#!/usr/bin/true\n');

    assert.deepEqual(checkEntrypoint(tree, specWith('  entrypoint: [/app/ok.sh]')).problems, []);
    assert.deepEqual(checkEntrypoint(tree, specWith('  entrypoint: [/app/no-shell.sh]')).problems, [
      'the interpreter /bin/sh of /app/no-shell.sh (the entrypoint /app/no-shell.sh) is not in the image: /bin/sh does not exist',
    ]);
    assert.match(
      checkEntrypoint(tree, specWith('  entrypoint: [/app/env.py]')).problems.join(),
      /no python3 in PATH/,
    );
  });

  it('warns, without failing, about a file that is neither ELF nor a script', () => {
    const tree = debianLikeTree();
    tree.add({
      path: 'usr/bin/odd',
      type: 'file',
      mode: 0o755,
      uid: 0,
      gid: 0,
      owner: 'x',
      data: Buffer.from('hi'),
    });

    const report = checkEntrypoint(tree, specWith('  entrypoint: [/usr/bin/odd]'));

    assert.deepEqual(report.problems, []);
    assert.match(report.warnings.join(), /neither an ELF program nor a script/);
  });

  it('resolves links inside the image only, and gives up on a loop', () => {
    const tree = debianLikeTree();
    tree.add({ path: 'a', type: 'symlink', target: '/b', mode: 0o777, uid: 0, gid: 0, owner: 'x' });
    tree.add({ path: 'b', type: 'symlink', target: 'a', mode: 0o777, uid: 0, gid: 0, owner: 'x' });
    tree.add({
      path: 'up',
      type: 'symlink',
      target: '../../../../usr/bin/true',
      mode: 0o777,
      uid: 0,
      gid: 0,
      owner: 'x',
    });

    assert.equal(resolvePath(tree, '/a'), undefined);
    assert.equal(resolvePath(tree, '/up')?.path, 'usr/bin/true');
    assert.equal(resolvePath(tree, '/lib64/ld-linux-x86-64.so.2')?.path, `${multiarch}/ld-linux-x86-64.so.2`);
  });
});
