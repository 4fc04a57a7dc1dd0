import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { redactDetails } from './redact.js';

describe('redactDetails', () => {
  it('replaces the values of secret names at any depth, ignoring case', () => {
    const details = { env: { DB_PASSWORD: 'hunter2', PORT: '8080' }, nested: [{ api_token: { v: 1 } }] };

    const result = redactDetails(details, { secretNames: ['db_password', 'API_TOKEN'] });

    assert.deepEqual(result, {
      env: { DB_PASSWORD: '[redacted]', PORT: '8080' },
      nested: [{ api_token: '[redacted]' }],
    });
  });

  it('redacts NAME=value strings whose name is secret', () => {
    const details = { env: ['DB_PASSWORD=hunter2', 'PORT=8080'] };

    const result = redactDetails(details, { secretNames: ['DB_PASSWORD'] });

    assert.deepEqual(result, { env: ['DB_PASSWORD=[redacted]', 'PORT=8080'] });
  });

  it('cuts known secret values out of any string', () => {
    const details = { command: 'curl -H "Authorization: Bearer abc123" https://x' };

    const result = redactDetails(details, { secretNames: [], secretValues: ['abc123', ''] });

    assert.deepEqual(result, { command: 'curl -H "Authorization: Bearer [redacted]" https://x' });
  });

  it('does not change its input', () => {
    const details = { token: 'x' };

    redactDetails(details, { secretNames: ['token'] });

    assert.deepEqual(details, { token: 'x' });
  });
});
