import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TranscriptRecorder } from './transcript.js';

const startedAt = Date.UTC(2026, 0, 1, 12, 0, 0);

function events(recorder: TranscriptRecorder): unknown[] {
  return recorder
    .text()
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => JSON.parse(line));
}

describe('TranscriptRecorder', () => {
  it('writes an asciicast v2 header and one event per chunk, input and output, in seconds since the start', () => {
    const recorder = new TranscriptRecorder({
      startedAt,
      size: { columns: 120, rows: 40 },
      command: ['/bin/sh'],
      title: 'herd debug abc (web): INC-42',
    });

    recorder.record('i', Buffer.from('id\n'), startedAt + 1500);
    recorder.record('o', Buffer.from('uid=65532 gid=65532\n'), startedAt + 1512);
    recorder.mark('the program exited with 0', startedAt + 2000);

    assert.deepEqual(JSON.parse(recorder.firstLine), {
      version: 2,
      width: 120,
      height: 40,
      timestamp: startedAt / 1000,
      command: '/bin/sh',
      title: 'herd debug abc (web): INC-42',
    });
    assert.deepEqual(events(recorder), [
      [1.5, 'i', 'id\n'],
      [1.512, 'o', 'uid=65532 gid=65532\n'],
      [2, 'm', 'the program exited with 0'],
    ]);
  });

  it('keeps a character split across two chunks whole, and replaces bytes that are not UTF-8', () => {
    const recorder = new TranscriptRecorder({ startedAt, command: ['/bin/sh'], title: 't' });
    const euro = Buffer.from('€');

    const nothingYet = recorder.record('o', euro.subarray(0, 2), startedAt);
    recorder.record('o', Buffer.concat([euro.subarray(2), Buffer.from('\n')]), startedAt);
    recorder.record('o', Buffer.from([0xff, 0x41]), startedAt);

    assert.equal(nothingYet, undefined);
    assert.deepEqual(events(recorder), [
      [0, 'o', '€\n'],
      [0, 'o', '\ufffdA'],
    ]);
  });

  it('stops at its limit with a marker that says so, and records nothing after', () => {
    const recorder = new TranscriptRecorder({ startedAt, command: ['/bin/sh'], title: 't' }, 250);

    for (let line = 0; line < 10; line += 1) recorder.record('o', Buffer.from(`line ${line}\n`), startedAt);
    const after = recorder.record('i', Buffer.from('more\n'), startedAt);

    assert.equal(recorder.full, true);
    assert.equal(after, undefined);
    assert.ok(recorder.bytes <= 250 + 80, `${recorder.bytes} bytes`);
    assert.deepEqual(events(recorder).at(-1), [0, 'm', 'transcript limit reached: session ended']);
  });
});
