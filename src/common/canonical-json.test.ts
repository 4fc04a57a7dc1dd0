import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalJson } from './canonical-json.js';

describe('canonicalJson', () => {
  it('sorts keys at every depth and writes no whitespace', () => {
    const text = canonicalJson({ b: 1, a: { d: [true, null], c: 'x' } });

    assert.equal(text, '{"a":{"c":"x","d":[true,null]},"b":1}');
  });

  it('gives the same text for objects built in a different order', () => {
    assert.equal(canonicalJson({ x: 1, y: 2 }), canonicalJson({ y: 2, x: 1 }));
  });

  it('round-trips through JSON.parse to the same text', () => {
    const value = {
      n: 1e21,
      small: 5e-7,
      neg: -0,
      s: 'é\u2028"\\',
      lone: '\ud800',
      nested: [{ z: 1, a: 2 }],
    };

    const text = canonicalJson(value);

    assert.equal(canonicalJson(JSON.parse(text)), text);
  });

  it('names the path of what it refuses', () => {
    assert.throws(() => canonicalJson({ list: [1, { when: new Date(0) }] }), {
      name: 'TypeError',
      message: 'got Date at $.list[1].when',
    });
  });

  it('leaves out members whose value is undefined, as JSON does', () => {
    assert.equal(canonicalJson({ a: undefined, b: 1 }), '{"b":1}');
  });

  for (const [name, value] of [
    ['NaN', { n: Number.NaN }],
    ['Infinity', { n: Number.POSITIVE_INFINITY }],
    ['a bigint', { n: 1n }],
    ['a Date', { when: new Date(0) }],
    ['undefined in an array', { list: [undefined] }],
  ] as const) {
    it(`refuses ${name}`, () => {
      assert.throws(() => canonicalJson(value), TypeError);
    });
  }

  it('refuses a circular reference', () => {
    const looped: Record<string, unknown> = {};
    looped.self = looped;

    assert.throws(() => canonicalJson(looped), {
      name: 'TypeError',
      message: 'got a circular reference at $.self',
    });
  });
});
