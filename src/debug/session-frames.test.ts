import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DebugError } from './errors.js';
import { encodeFrame, FrameReader, frameTypes } from './session-frames.js';

const fromClient = () =>
  new FrameReader({
    maxPayload: 1024,
    accepted: [frameTypes.stdin, frameTypes.stdinEnd, frameTypes.resize],
    from: 'the debug client',
  });

describe('session frames', () => {
  it('read back what was encoded, whatever the chunks', () => {
    const wire = Buffer.concat([
      encodeFrame(frameTypes.stdin, 'id\n'),
      encodeFrame(frameTypes.resize, JSON.stringify({ columns: 100, rows: 30 })),
      encodeFrame(frameTypes.stdinEnd),
    ]);
    const reader = fromClient();

    const frames = [...wire].flatMap((byte) => reader.push(Buffer.from([byte])));

    assert.deepEqual(
      frames.map((frame) => [frame.type, frame.payload.toString()]),
      [
        [frameTypes.stdin, 'id\n'],
        [frameTypes.resize, '{"columns":100,"rows":30}'],
        [frameTypes.stdinEnd, ''],
      ],
    );
  });

  it('refuses a frame type the side may not send, a header with stray bytes, and a length beyond the limit', () => {
    const cases: [Buffer, RegExp][] = [
      [encodeFrame(frameTypes.end, '{}'), /frame type 6: expected one of 0, 5, 4/],
      [Buffer.from([0, 1, 0, 0, 0, 0, 0, 1, 0x41]), /bytes 1-3 set/],
      [Buffer.from([0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]), /frame of 4294967295 bytes: expected at most 1024/],
      [Buffer.from([9, 0, 0, 0, 0, 0, 0, 0]), /frame type 9/],
    ];

    for (const [wire, message] of cases) {
      assert.throws(
        () => fromClient().push(wire),
        (error: unknown) =>
          error instanceof DebugError && error.code === 'FRAME_INVALID' && message.test(error.message),
        String(message),
      );
    }
  });
});
