import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ImageTree } from './image-tree.js';
import { applyScriptEffects } from './script-effects.js';

function treeWith(files: string[]): ImageTree {
  const tree = new ImageTree();
  for (const path of files) {
    tree.add({ path, type: 'file', mode: 0o755, uid: 0, gid: 0, owner: 'pkg', data: Buffer.from(path) });
  }
  tree.add({
    path: 'etc/passwd',
    type: 'file',
    mode: 0o644,
    uid: 0,
    gid: 0,
    owner: 'herd',
    data: Buffer.from('root:x:0:0:root:/root:/usr/sbin/nologin\n'),
  });
  tree.add({
    path: 'etc/group',
    type: 'file',
    mode: 0o644,
    uid: 0,
    gid: 0,
    owner: 'herd',
    data: Buffer.from('root:x:0:\n'),
  });
  return tree;
}

const text = (tree: ImageTree, path: string) => tree.get(path)?.data?.toString('utf8') ?? '';

describe('applyScriptEffects', () => {
  it('links an alternative to its highest priority, as --auto does, skipping a path the image lacks', () => {
    const tree = treeWith(['usr/bin/mawk', 'usr/bin/gawk']);
    const effects = applyScriptEffects(tree, [
      { name: 'mawk', postinst: 'update-alternatives --install /usr/bin/awk awk /usr/bin/mawk 5' },
      { name: 'gawk', postinst: 'update-alternatives --install /usr/bin/awk awk /usr/bin/gawk 10' },
      { name: 'busybox', postinst: 'update-alternatives --install /usr/bin/awk awk /usr/bin/busybox 99' },
    ]);

    assert.equal(tree.get('usr/bin/awk')?.target, '/etc/alternatives/awk');
    assert.equal(tree.get('etc/alternatives/awk')?.target, '/usr/bin/gawk');
    assert.deepEqual(effects.alternatives, [
      { name: 'awk', link: '/usr/bin/awk', path: '/usr/bin/gawk', priority: 10, package: 'gawk' },
    ]);
  });

  it("gives base-passwd's ids to the accounts it defines and stable hashed system ids to the others", () => {
    const script = 'adduser --system --group --home /var/lib/redis redis\nchown www-data:adm /var/log/x\n';
    const first = treeWith([]);
    const second = treeWith([]);
    applyScriptEffects(first, [{ name: 'redis-server', postinst: script }]);
    applyScriptEffects(second, [{ name: 'redis-server', postinst: script }]);

    const passwd = text(first, 'etc/passwd');
    const redis = /^redis:x:(\d+):(\d+):redis:\/var\/lib\/redis:\/usr\/sbin\/nologin$/m.exec(passwd);
    assert.ok(redis, passwd);
    assert.ok(Number(redis[1]) >= 100 && Number(redis[1]) <= 999, `system range: ${redis[1]}`);
    assert.match(text(first, 'etc/group'), new RegExp(`^redis:x:${redis[2]}:$`, 'm'));
    assert.match(passwd, /^www-data:x:33:33:www-data:\/var\/www:\/usr\/sbin\/nologin$/m);
    assert.match(text(first, 'etc/group'), /^adm:x:4:$/m);
    assert.equal(passwd, text(second, 'etc/passwd'), 'the same packages give the same ids');
  });

  it('refuses when a base-passwd id is taken by another name, naming both', () => {
    const tree = treeWith([]);
    tree.add(
      {
        path: 'etc/passwd',
        type: 'file',
        mode: 0o644,
        uid: 0,
        gid: 0,
        owner: 'herd',
        data: Buffer.from(
          'root:x:0:0:root:/root:/usr/sbin/nologin\napp:x:33:33:app:/home/app:/usr/sbin/nologin\n',
        ),
      },
      { replace: true },
    );

    assert.throws(
      () => applyScriptEffects(tree, [{ name: 'nginx-common', postinst: 'chown www-data /x\n' }]),
      {
        code: 'ACCOUNT_CONFLICT',
        message: /www-data needs id 33, as base-passwd gives it, but app has that id/,
      },
    );
  });
});
