/**
 * The wire between `herd debug` and the control plane once the HTTP connection is upgraded: frames
 * both ways, laid out as the engine's own attach stream is (one byte type, three zero bytes, a
 * 4-byte big-endian length, the payload), so stdin, output, resizes, notices and the end share one
 * socket without ambiguity. Pure; a frame that breaks the layout is refused, never guessed at.
 */
import { DebugError } from './errors.js';

export const frameTypes = {
  /** client → server: bytes for the program's stdin. */
  stdin: 0,
  /** server → client: the program's output. */
  stdout: 1,
  stderr: 2,
  /** server → client: a line for the person at the terminal (what herd is doing, not the program). */
  notice: 3,
  /** client → server: the terminal's size, JSON `{ columns, rows }`. */
  resize: 4,
  /** client → server: the end of stdin (a pipe ended). */
  stdinEnd: 5,
  /** server → client: the session is over, JSON {@link SessionEnd}; the last frame. */
  end: 6,
} as const;

export type FrameType = (typeof frameTypes)[keyof typeof frameTypes];

export interface Frame {
  type: FrameType;
  payload: Buffer;
}

/** How a session ended, as the last frame says and the journal records it. */
export interface SessionEnd {
  session: string;
  instance: string;
  /** `exit`: the program ended; `ttl`: its time ran out; `disconnected`: the client went away; `transcript-full`; `stopped`: the control plane stopped; `failed`: it never ran. */
  ended: 'exit' | 'ttl' | 'disconnected' | 'transcript-full' | 'stopped' | 'failed';
  exitCode?: number;
  /** The transcript's referrer manifest in the store. */
  transcript?: string;
  /** The instance was destroyed, as every debugged instance is. */
  destroyed: boolean;
}

const known = new Set<number>(Object.values(frameTypes));

export function encodeFrame(type: FrameType, payload: Buffer | string = Buffer.alloc(0)): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const head = Buffer.alloc(8);
  head[0] = type;
  head.writeUInt32BE(body.length, 4);
  return Buffer.concat([head, body]);
}

/** Frames as they arrive; chunks do not align with frames. */
export class FrameReader {
  private pending: Buffer = Buffer.alloc(0);

  /** `maxPayload`: a frame announcing more is hostile or broken, and refused. */
  constructor(
    private readonly options: { maxPayload: number; accepted: readonly FrameType[]; from: string },
  ) {}

  push(chunk: Buffer): Frame[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const frames: Frame[] = [];
    while (this.pending.length >= 8) {
      const type = this.pending[0] as number;
      const length = this.pending.readUInt32BE(4);
      if (!known.has(type) || !this.options.accepted.includes(type as FrameType)) {
        throw new DebugError(
          'FRAME_INVALID',
          `${this.options.from} sent frame type ${type}: expected one of ${this.options.accepted.join(', ')}`,
        );
      }
      if (this.pending[1] !== 0 || this.pending[2] !== 0 || this.pending[3] !== 0) {
        throw new DebugError(
          'FRAME_INVALID',
          `${this.options.from} sent a frame header with bytes 1-3 set: expected zeros`,
        );
      }
      if (length > this.options.maxPayload) {
        throw new DebugError(
          'FRAME_INVALID',
          `${this.options.from} sent a frame of ${length} bytes: expected at most ${this.options.maxPayload}`,
        );
      }
      if (this.pending.length < 8 + length) break;
      frames.push({ type: type as FrameType, payload: Buffer.from(this.pending.subarray(8, 8 + length)) });
      this.pending = this.pending.subarray(8 + length);
    }
    return frames;
  }
}
