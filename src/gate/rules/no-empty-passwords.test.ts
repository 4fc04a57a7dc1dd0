import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultGateSection } from '../../specfile/gate-section.js';
import { memoryImageView } from '../memory-image.js';
import { noEmptyPasswords } from './no-empty-passwords.js';

describe('HERD-H010 no empty passwords', () => {
  it('reports empty password fields in passwd and shadow, and accepts x, ! and *', () => {
    const view = memoryImageView({
      files: [
        {
          path: '/etc/passwd',
          content: 'root:x:0:0::/root:/usr/sbin/nologin\nguest::1001:1001::/home/guest:/bin/sh\n',
        },
        {
          path: '/etc/shadow',
          content: 'root:*:19000:0:99999:7:::\nnonroot:!:19000::::::\nops::19000::::::\n',
        },
      ],
    });

    const results = noEmptyPasswords.check({ view, gate: defaultGateSection });

    assert.deepEqual(
      results.map((r) => [r.location?.path, r.location?.line]),
      [
        ['/etc/passwd', 2],
        ['/etc/shadow', 3],
      ],
    );
  });
});
