import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clientKeyOf } from './client-key.js';

describe('clientKeyOf', () => {
  it('counts every loopback address as one client', () => {
    for (const address of [
      '127.0.0.1',
      '127.0.0.2',
      '127.255.3.9',
      '::1',
      '::ffff:127.0.0.5',
      '0:0:0:0:0:0:0:1',
    ]) {
      assert.equal(clientKeyOf(address), 'loopback', address);
    }
  });

  it('counts an IPv6 address by its /64, and IPv4 by the address, mapped or not', () => {
    assert.equal(clientKeyOf('2001:db8:1:2::a'), '2001:db8:1:2::/64');
    assert.equal(clientKeyOf('2001:db8:1:2:ffff:1:2:3'), '2001:db8:1:2::/64');
    assert.equal(clientKeyOf('2001:db8::1'), '2001:db8:0:0::/64');
    assert.equal(clientKeyOf('203.0.113.5'), '203.0.113.5');
    assert.equal(clientKeyOf('::ffff:203.0.113.5'), '203.0.113.5');
    assert.equal(clientKeyOf('unknown'), 'unknown');
  });
});
