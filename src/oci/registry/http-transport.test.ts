import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { redactUrl } from './http-transport.js';

describe('redactUrl', () => {
  it('keeps scheme, host and path, and drops user info and the query', () => {
    const url = 'https://user:hunter2@storage.example:8443/blobs/abc?X-Amz-Signature=s3cr3t&_state=xyz';

    assert.equal(redactUrl(url), 'https://storage.example:8443/blobs/abc');
  });

  it('never echoes a string that is not a URL', () => {
    assert.equal(redactUrl('not a url with password'), '<invalid url>');
  });
});
