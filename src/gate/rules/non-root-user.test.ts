import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultGateSection } from '../../specfile/gate-section.js';
import { memoryImageView } from '../memory-image.js';
import { nonRootUser } from './non-root-user.js';

const passwd = {
  path: '/etc/passwd',
  content:
    'root:x:0:0:root:/root:/usr/sbin/nologin\ntoor:x:0:0::/root:/usr/sbin/nologin\napp:x:1000:1000::/home/app:/usr/sbin/nologin\n',
};

function check(user: string | undefined) {
  const view = memoryImageView({ files: [passwd], config: { User: user } });
  return nonRootUser.check({ view, gate: defaultGateSection });
}

describe('HERD-H001 non-root user', () => {
  it('passes an image that runs as a numeric non-root uid', () => {
    assert.deepEqual(check('65532:65532'), []);
  });

  it('passes a user name that /etc/passwd maps to a non-root uid', () => {
    assert.deepEqual(check('app'), []);
  });

  it('fails an image whose config sets no user, since the runtime then starts it as root', () => {
    const results = check(undefined);

    assert.equal(results.length, 1);
    assert.equal(results[0]?.location?.setting, 'config.User');
  });

  it('fails uid 0, root by name, and another name for uid 0', () => {
    for (const user of ['0', '0:0', 'root', 'root:root', 'toor']) {
      assert.equal(check(user).length, 1, user);
      assert.equal(check(user)[0]?.level, undefined, `${user} is an error`);
    }
  });

  it('warns about a user name that /etc/passwd does not list', () => {
    assert.equal(check('ghost')[0]?.level, 'warning');
  });
});
