import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RegistryError } from './errors.js';
import { formatImageReference, isRegistryReference, parseImageReference } from './reference.js';

const digest = `sha256:${'ab'.repeat(32)}`;

describe('parseImageReference', () => {
  it('reads a loopback registry with a port, a nested repository and a tag, over plain http', () => {
    const reference = parseImageReference('127.0.0.1:5000/team/hello:v1');

    assert.deepEqual(reference, {
      registry: '127.0.0.1:5000',
      baseUrl: 'http://127.0.0.1:5000',
      repository: 'team/hello',
      tag: 'v1',
    });
  });

  it('defaults the tag to latest', () => {
    assert.equal(parseImageReference('localhost:5000/hello').tag, 'latest');
  });

  it('keeps a digest reference without inventing a tag', () => {
    const reference = parseImageReference(`registry.example/hello@${digest}`);

    assert.equal(reference.digest, digest);
    assert.equal(reference.tag, undefined);
    assert.equal(reference.baseUrl, 'https://registry.example');
  });

  it('keeps both a tag and a digest', () => {
    const reference = parseImageReference(`localhost/hello:v1@${digest}`);

    assert.equal(reference.tag, 'v1');
    assert.equal(reference.digest, digest);
    assert.equal(reference.baseUrl, 'http://localhost');
  });

  it('refuses a reference that names no registry, rather than pick one', () => {
    for (const text of ['debian:bookworm', 'team/app', `app@${digest}`]) {
      assert.throws(() => parseImageReference(text), {
        code: 'REFERENCE_INVALID',
        message: /names no registry/,
      });
    }
  });

  it('uses https for remote registries unless insecure is set', () => {
    assert.equal(parseImageReference('registry.example:5000/a').baseUrl, 'https://registry.example:5000');
    assert.equal(
      parseImageReference('registry.example:5000/a', { insecure: true }).baseUrl,
      'http://registry.example:5000',
    );
  });

  it('refuses uppercase repositories, bad tags and non-sha256 digests with REFERENCE_INVALID', () => {
    for (const text of [
      'localhost/Hello',
      'localhost/hello:-bad',
      'localhost/hello@sha512:abc',
      'localhost/',
      'a//b',
    ]) {
      assert.throws(
        () => parseImageReference(text),
        (error: unknown) => error instanceof RegistryError && error.code === 'REFERENCE_INVALID',
        text,
      );
    }
  });

  it('writes a reference back as registry/repository:tag@digest', () => {
    const text = `127.0.0.1:5000/team/hello:v1@${digest}`;

    assert.equal(formatImageReference(parseImageReference(text)), text);
  });
});

describe('isRegistryReference', () => {
  it('takes a first component with a dot, a port or localhost for a registry, as docker does', () => {
    assert.equal(isRegistryReference('127.0.0.1:5000/team/hello:0.1.0'), true);
    assert.equal(isRegistryReference('registry.example/team/hello'), true);
    assert.equal(isRegistryReference('localhost/hello'), true);
  });

  it('reads a store name, a digest or a bare repository path as the local store', () => {
    assert.equal(isRegistryReference('hello:0.1.0'), false);
    assert.equal(isRegistryReference('sha256:0123'), false);
    assert.equal(isRegistryReference('team/hello:0.1.0'), false);
  });
});
