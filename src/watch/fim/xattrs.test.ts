import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseGetfattrDump, pathKey } from './xattrs.js';

describe('parseGetfattrDump', () => {
  it('reads each file’s attributes as hex, keyed by the path’s bytes', () => {
    const dump = Buffer.from(
      [
        '# file: /usr/bin/ping',
        'security.capability=0x0100000200200000',
        '',
        '# file: /srv/with\\012newline',
        'user.note=0x6869',
        'user.empty',
        '',
      ].join('\n'),
    );

    const found = parseGetfattrDump(dump);

    assert.deepEqual(found.get(pathKey('/usr/bin/ping')), { 'security.capability': '0100000200200000' });
    assert.deepEqual(found.get(pathKey('/srv/with\nnewline')), { 'user.note': '6869', 'user.empty': '' });
    assert.equal(found.size, 2);
  });

  it('keys a non-UTF-8 path by its bytes, as getfattr escapes them in octal', () => {
    const found = parseGetfattrDump(Buffer.from('# file: /a\\377b\nuser.x=0x01\n\n'));

    assert.deepEqual(found.get(pathKey(Buffer.from([0x2f, 0x61, 0xff, 0x62]))), { 'user.x': '01' });
  });
});
