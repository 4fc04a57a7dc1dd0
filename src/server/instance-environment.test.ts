import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { instanceEnvironment } from './instance-environment.js';

describe("an instance's environment from the control plane's", () => {
  it('gives the names the spec lists that are set', () => {
    const picked = instanceEnvironment({ DB_PASSWORD: 's3cret', OTHER: 'x' }, ['DB_PASSWORD', 'UNSET']);

    assert.deepEqual(picked, { DB_PASSWORD: 's3cret' });
  });

  it("never gives one of herd's own variables, such as the signing key's password", () => {
    const picked = instanceEnvironment(
      {
        HERD_KEY_PASSWORD: 'key-password',
        HERD_TOKEN: 'token',
        HERD_VULNDB_URL: 'https://u:p@vuln.example/',
      },
      ['HERD_KEY_PASSWORD', 'HERD_TOKEN', 'HERD_VULNDB_URL'],
    );

    assert.deepEqual(picked, {});
  });
});
