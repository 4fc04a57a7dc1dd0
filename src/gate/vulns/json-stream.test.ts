import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readTopLevelMembers, type TopLevelMember } from './json-stream.js';

async function* chunked(text: string, size: number): AsyncGenerator<Uint8Array> {
  const bytes = Buffer.from(text, 'utf8');
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

async function members(text: string, options: { chunkSize?: number; maxMemberBytes?: number } = {}) {
  const found: TopLevelMember[] = [];
  const split = readTopLevelMembers(chunked(text, options.chunkSize ?? 64 * 1024), {
    name: 'data.json',
    ...(options.maxMemberBytes ? { maxMemberBytes: options.maxMemberBytes } : {}),
  });
  for await (const member of split) found.push(member);
  return found;
}

/** Strings that would fool a scanner that does not follow strings and escapes. */
const tricky = JSON.stringify({
  glibc: { 'CVE-1': { description: 'braces } ] { [ and "quotes" and a backslash \\', releases: {} } },
  'a"b\\c': [1, 2, { nested: [true, false, null] }],
  'ünïcødé ✓': 'a string member with 𝄞',
  number: -12.5e3,
  literal: null,
});

describe('readTopLevelMembers', () => {
  it('gives each top-level member of an object with its key, value and byte offset', async () => {
    const found = await members('{"openssl": {"CVE-1": {}}, "zlib": {"CVE-2": {"releases": {}}}}');

    assert.deepEqual(found, [
      { container: 'object', key: 'openssl', value: { 'CVE-1': {} }, offset: 12 },
      { container: 'object', key: 'zlib', value: { 'CVE-2': { releases: {} } }, offset: 35 },
    ]);
  });

  it('gives the elements of a top-level array', async () => {
    const found = await members(' [ {"id": "DSA-1"} , {"id": "DSA-2"} ] \n');

    assert.deepEqual(
      found.map((member) => (member.container === 'array' ? [member.index, member.value] : [])),
      [
        [0, { id: 'DSA-1' }],
        [1, { id: 'DSA-2' }],
      ],
    );
  });

  it('agrees with JSON.parse whatever the chunk boundaries, strings and escapes', async () => {
    const expected = Object.entries(JSON.parse(tricky) as Record<string, unknown>);

    for (const size of [1, 2, 3, 7, 64]) {
      const found = await members(tricky, { chunkSize: size });

      assert.deepEqual(
        found.map((member) => (member.container === 'object' ? [member.key, member.value] : [])),
        expected,
        `chunks of ${size} bytes`,
      );
    }
  });

  it('reads empty containers and skips a byte order mark', async () => {
    assert.deepEqual(await members('{}'), []);
    assert.deepEqual(await members('[]'), []);
    assert.deepEqual((await members('\ufeff{"a": {}}')).length, 1);
  });

  it('refuses a truncated document, naming the member it ended in', async () => {
    await assert.rejects(members('{"openssl": {"CVE-1": {"releases": {'), {
      code: 'VULNDB_MALFORMED',
      message: /data\.json: invalid JSON at byte 36: the document ends early inside the value of "openssl"/,
    });
  });

  it('refuses invalid JSON inside a member with the byte offset and the key', async () => {
    await assert.rejects(members('{"a": {}, "zlib": {"CVE-2": {"releases": tru}}}'), {
      code: 'VULNDB_MALFORMED',
      message: /data\.json: invalid JSON at byte 18: invalid JSON in the value of "zlib"/,
    });
  });

  it('refuses a missing comma, trailing garbage, a bare scalar and an empty input', async () => {
    const cases: [string, RegExp][] = [
      ['{"a": {} "b": {}}', /at byte 9: expected ',' or '}' after the value of "a", found '"'/],
      ['{"a": {}} x', /at byte 10: expected nothing after the end of the document, found 'x'/],
      ['{"a" {}}', /at byte 5: expected ':' after the key "a"/],
      ['{a: {}}', /at byte 1: expected a quoted key, found 'a'/],
      ['42', /at byte 0: expected '\{' or '\[', found '4'/],
      ['', /data\.json is empty/],
      ['[1, 2', /the document ends early inside element 1/],
    ];
    for (const [text, message] of cases) {
      await assert.rejects(members(text), { code: 'VULNDB_MALFORMED', message }, text);
    }
  });

  it('refuses a member larger than the limit instead of buffering it', async () => {
    const big = `{"linux": {"description": "${'x'.repeat(5000)}"}}`;

    await assert.rejects(members(big, { chunkSize: 100, maxMemberBytes: 1000 }), {
      code: 'VULNDB_MALFORMED',
      message: /the value of "linux" is larger than the 1000-byte limit/,
    });
  });
});
