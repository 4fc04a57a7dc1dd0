import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import {
  arrayAt,
  at,
  countAt,
  isoDateTimeAt,
  objectAt,
  oneOfAt,
  ShapeError,
  stringAt,
} from './json-shape.js';

/** The same shape both ways: zod's schema, and the hand-written check the gate uses. */
const schema = z.object({
  format: z.literal('herd-vulndb/2'),
  kind: z.enum(['file', 'dir']),
  at: z.iso.datetime(),
  items: z.array(z.object({ name: z.string(), size: z.int().nonnegative() })),
});

function check(data: unknown): void {
  const root = objectAt(data, '');
  oneOfAt(root.format, 'format', ['herd-vulndb/2']);
  oneOfAt(root.kind, 'kind', ['file', 'dir']);
  isoDateTimeAt(root.at, 'at');
  arrayAt(root.items, 'items', (value, path) => {
    const item = objectAt(value, path);
    stringAt(item.name, at(path, 'name'));
    countAt(item.size, at(path, 'size'));
  });
}

function zodSays(data: unknown): string {
  const parsed = schema.safeParse(data);
  assert.equal(parsed.success, false, 'zod accepted it');
  const issue = parsed.error!.issues[0]!;
  return `${issue.path.join('.') || '(root)'}: ${issue.message}`;
}

function handSays(data: unknown): string {
  try {
    check(data);
  } catch (error) {
    assert.ok(error instanceof ShapeError);
    return error.message;
  }
  assert.fail('the hand-written check accepted it');
}

const good = {
  format: 'herd-vulndb/2',
  kind: 'file',
  at: '2025-06-01T12:00:00.000Z',
  items: [{ name: 'a', size: 1 }],
};

describe('hand-written JSON shape checks', () => {
  it('accept what the equivalent zod schema accepts', () => {
    assert.equal(schema.safeParse(good).success, true);
    assert.doesNotThrow(() => check(good));
    assert.doesNotThrow(() => check({ ...good, at: '2025-06-01T12:00:00Z', extra: 1 }));
  });

  const bad: [string, unknown][] = [
    ['not an object', []],
    ['null', null],
    ['a wrong literal', { ...good, format: 'herd-vulndb/1' }],
    ['an enum value it does not list', { ...good, kind: 'fifo' }],
    ['a date that is not ISO', { ...good, at: 'yesterday' }],
    ['a string where an array goes', { ...good, items: 'a' }],
    [
      'a number where a string goes, deep',
      {
        ...good,
        items: [
          { name: 'a', size: 1 },
          { name: 7, size: 1 },
        ],
      },
    ],
    ['a fraction where a whole number goes', { ...good, items: [{ name: 'a', size: 1.5 }] }],
    ['a negative size', { ...good, items: [{ name: 'a', size: -1 }] }],
    ['a missing field', { ...good, items: [{ name: 'a' }] }],
  ];
  for (const [what, data] of bad) {
    it(`refuse ${what} with zod's words, naming the path`, () => {
      assert.equal(handSays(data), zodSays(data));
    });
  }
});
