import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeGoJson, foldKey, GoJsonError, goAny, goMap, goSlice, goString, goStruct } from './go-json.js';

/** A struct shaped like sigstore's payload.SimpleContainerImage, trimmed to two levels. */
const shape = goStruct({
  critical: goStruct({ identity: goStruct({ 'docker-reference': goString }), type: goString }),
  optional: goMap(goAny),
});

describe('decodeGoJson', () => {
  it('matches keys to fields exactly or case-insensitively, as encoding/json does', () => {
    const decoded = decodeGoJson(
      '{"CRITICAL":{"Identity":{"Docker-Reference":"r.example/a"},"tYpE":"t"},"Optional":{"Key":1}}',
      shape,
    );

    assert.deepEqual(decoded, {
      critical: { identity: { 'docker-reference': 'r.example/a' }, type: 't' },
      optional: { Key: 1 },
    });
  });

  it('folds the Kelvin sign to k and the long s to s, like Go’s Unicode case folding', () => {
    const decoded = decodeGoJson(
      '{"doc\u212aer":"k","\u017fame":"s"}',
      goStruct({ docker: goString, same: goString }),
    );

    assert.deepEqual(decoded, { docker: 'k', same: 's' });
    assert.equal(foldKey('docker'), foldKey('DOC\u212aER'));
  });

  it('lets the later of two keys for one field win, whatever their case and position', () => {
    const text =
      '{"critical":{"identity":{"docker-reference":"first"}},"Critical":{"identity":{"docker-reference":"second"}},"critical":{"identity":{"docker-reference":"third"}}}';

    const decoded = decodeGoJson(text, shape) as { critical: { identity: Record<string, string> } };

    // JSON.parse would keep "critical" in first place with "third", then apply "Critical": "second".
    assert.equal(decoded.critical.identity['docker-reference'], 'third');
  });

  it('merges a second object for the same struct field into the first, as Go decodes into the existing value', () => {
    const text =
      '{"critical":{"identity":{"docker-reference":"kept"},"type":"old"},"critical":{"type":"new"}}';

    const decoded = decodeGoJson(text, shape);

    assert.deepEqual(decoded, { critical: { identity: { 'docker-reference': 'kept' }, type: 'new' } });
  });

  it('merges two objects for a map field, keeps map keys as written, and clears the map on null', () => {
    assert.deepEqual(decodeGoJson('{"optional":{"a":1},"Optional":{"A":2}}', shape), {
      optional: { a: 1, A: 2 },
    });
    assert.deepEqual(decodeGoJson('{"optional":{"a":1},"optional":null}', shape), { optional: undefined });
  });

  it('leaves a struct or string as it was on null, and ignores unknown keys', () => {
    const decoded = decodeGoJson(
      '{"critical":{"type":"t"},"critical":null,"Critical":{"type":null},"unknown":[1,{"x":true}]}',
      shape,
    );

    assert.deepEqual(decoded, { critical: { type: 't' } });
  });

  it('decodes slice elements into the earlier slice’s elements, then cuts it to length', () => {
    const subjects = goStruct({ subject: goSlice(goStruct({ name: goString, digest: goMap(goString) })) });

    const decoded = decodeGoJson(
      '{"subject":[{"name":"a","digest":{"sha256":"1"}},{"name":"b"}],"subject":[{"digest":{"sha512":"2"}}]}',
      subjects,
    );

    // Element 0 keeps its name; its digest map gains a key; element 1 is cut.
    assert.deepEqual(decoded, { subject: [{ name: 'a', digest: { sha256: '1', sha512: '2' } }] });
  });

  it('keeps a key named __proto__ in a map as data', () => {
    const decoded = decodeGoJson('{"optional":{"__proto__":{"polluted":true}}}', shape) as {
      optional: Record<string, unknown>;
    };

    assert.deepEqual(Object.keys(decoded.optional), ['__proto__']);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('refuses a type mismatch, naming the field, as Go’s Unmarshal fails on one', () => {
    const cases: [string, string][] = [
      ['{"critical":{"type":5}}', 'critical.type'],
      ['{"Critical":{"Identity":[]}}', 'critical.identity'],
      ['{"critical":"x"}', 'critical'],
      ['[]', ''],
    ];

    for (const [text, path] of cases) {
      assert.throws(
        () => decodeGoJson(text, shape),
        (error: unknown) => error instanceof GoJsonError && error.path === path,
        text,
      );
    }
  });

  it('refuses what is not JSON: trailing data, bad escapes, control characters, deep nesting', () => {
    const cases = [
      '{"critical":{}} x',
      '{"critical":{"type":"\\x"}}',
      '{"critical":{"type":"a\u0001"}}',
      '{"critical":{},}',
      '{"critical" {}}',
      '{"unknown":01}',
      '{"unknown":tru}',
      `{"unknown":${'['.repeat(600)}${']'.repeat(600)}}`,
      '',
    ];

    for (const text of cases) {
      assert.throws(() => decodeGoJson(text, shape), GoJsonError, JSON.stringify(text.slice(0, 40)));
    }
  });
});
