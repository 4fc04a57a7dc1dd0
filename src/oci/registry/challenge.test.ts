import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseChallenges, repositoryScope } from './challenge.js';

describe('parseChallenges', () => {
  it('reads a bearer challenge with realm, service and a scope that contains commas', () => {
    const header =
      'Bearer realm="https://auth.registry.example/token",service="registry.example",scope="repository:library/debian:pull,push"';

    assert.deepEqual(parseChallenges(header), [
      {
        scheme: 'bearer',
        params: {
          realm: 'https://auth.registry.example/token',
          service: 'registry.example',
          scope: 'repository:library/debian:pull,push',
        },
      },
    ]);
  });

  it('reads a basic challenge', () => {
    assert.deepEqual(parseChallenges('Basic realm="test"'), [{ scheme: 'basic', params: { realm: 'test' } }]);
  });

  it('splits several challenges in one header and tolerates spaces and token values', () => {
    const header = 'Basic realm="x", Bearer realm = "https://a/t" , service=reg, error="insufficient_scope"';

    assert.deepEqual(parseChallenges(header), [
      { scheme: 'basic', params: { realm: 'x' } },
      { scheme: 'bearer', params: { realm: 'https://a/t', service: 'reg', error: 'insufficient_scope' } },
    ]);
  });

  it('unescapes quoted pairs', () => {
    assert.equal(parseChallenges('Basic realm="say \\"hi\\""')[0]?.params.realm, 'say "hi"');
  });

  it('answers no challenges for an empty header', () => {
    assert.deepEqual(parseChallenges(''), []);
  });
});

describe('repositoryScope', () => {
  it('writes the token spec scope', () => {
    assert.equal(repositoryScope('team/hello', 'pull,push'), 'repository:team/hello:pull,push');
  });
});
