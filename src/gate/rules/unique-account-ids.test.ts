import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultGateSection } from '../../specfile/gate-section.js';
import { memoryImageView } from '../memory-image.js';
import { uniqueAccountIds } from './unique-account-ids.js';

describe('HERD-H009 unique account ids', () => {
  it('passes the accounts herd writes', () => {
    const view = memoryImageView({
      files: [
        {
          path: '/etc/passwd',
          content:
            'root:x:0:0:root:/root:/usr/sbin/nologin\nnonroot:x:65532:65532::/home/nonroot:/usr/sbin/nologin\n',
        },
        { path: '/etc/group', content: 'root:x:0:\nnonroot:x:65532:\n' },
      ],
    });

    assert.deepEqual(uniqueAccountIds.check({ view, gate: defaultGateSection }), []);
  });

  it('reports a second uid 0 and a repeated gid at the line that repeats it', () => {
    const view = memoryImageView({
      files: [
        { path: '/etc/passwd', content: 'root:x:0:0::/root:/bin/sh\nadmin:x:0:0::/root:/bin/sh\n' },
        { path: '/etc/group', content: 'root:x:0:\nstaff:x:50:\nwheel:x:50:\n' },
      ],
    });

    const results = uniqueAccountIds.check({ view, gate: defaultGateSection });

    assert.deepEqual(
      results.map((r) => [r.location?.path, r.location?.line, r.message]),
      [
        ['/etc/passwd', 2, '/etc/passwd gives uid 0 twice: root (line 1) and admin (line 2)'],
        ['/etc/group', 3, '/etc/group gives gid 50 twice: staff (line 2) and wheel (line 3)'],
      ],
    );
  });
});
