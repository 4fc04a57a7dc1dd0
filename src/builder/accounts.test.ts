import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { accountFiles, accountFilesOver } from './accounts.js';

const nonroot = { name: 'nonroot', uid: 65532, gid: 65532 };

describe('accountFilesOver', () => {
  it("leaves a base's accounts as they are when they already have every account the image needs", () => {
    const base = accountFiles(nonroot);

    const over = accountFilesOver({ passwd: base.passwd, group: base.group }, nonroot);

    assert.equal(over.passwd, base.passwd);
    assert.equal(over.group, base.group);
    assert.deepEqual(over.homes, []);
  });

  it("keeps the base's own lines and appends the spec's user, its group and its home", () => {
    const base = {
      passwd:
        'root:x:0:0:root:/root:/bin/bash\nnonroot:x:65532:65532:nonroot:/home/nonroot:/usr/sbin/nologin\n_apt:x:42:65534::/nonexistent:/usr/sbin/nologin',
      group: 'root:x:0:\nnonroot:x:65532:\n',
    };

    const over = accountFilesOver(base, { name: 'web', uid: 1000, gid: 1000 });

    assert.equal(over.passwd, `${base.passwd}\nweb:x:1000:1000:web:/home/web:/usr/sbin/nologin\n`);
    assert.equal(over.group, `${base.group}web:x:1000:\n`);
    assert.deepEqual(over.homes, [{ path: 'home/web', uid: 1000, gid: 1000 }]);
  });

  it('refuses a user name the base gives another id', () => {
    const base = { passwd: 'root:x:0:0::/root:/bin/sh\nweb:x:33:33::/var/www:/bin/sh\n', group: '' };

    assert.throws(() => accountFilesOver(base, { name: 'web', uid: 1000, gid: 1000 }), {
      code: 'ACCOUNT_CONFLICT',
    });
  });
});
