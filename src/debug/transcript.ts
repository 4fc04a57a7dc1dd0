/**
 * A debug session's transcript, in asciinema's asciicast v2 format: a header line, then one JSON
 * array per event, `[seconds since the start, "i" | "o", text]` for what was typed and what came
 * back (https://docs.asciinema.org/manual/asciicast/v2/). `asciinema play` replays it. Pure: the
 * session hands in each chunk and its time; the lines go to a spool file as they come and to the
 * store once the session is over.
 *
 * What a terminal shows is text: each stream is decoded as UTF-8 across chunk boundaries, and bytes
 * that are not UTF-8 are replaced (U+FFFD). A transcript stops growing at `limitBytes`: the session
 * is then ended, since a session that is no longer recorded is no longer audited.
 */
import { StringDecoder } from 'node:string_decoder';
import type { TerminalSize } from '../engines/index.js';

/** The layer's media type, as asciinema's server names it. */
export const transcriptMediaType = 'application/x-asciicast';
/** The referrer's artifact type in the store. */
export const transcriptArtifactType = 'application/vnd.herd.debug-transcript.v1';
export const defaultTranscriptLimitBytes = 8 * 1024 * 1024;

export interface TranscriptHeader {
  /** Epoch ms. */
  startedAt: number;
  size?: TerminalSize;
  command: readonly string[];
  title: string;
}

export class TranscriptRecorder {
  private readonly lines: string[] = [];
  private readonly decoders = { i: new StringDecoder('utf8'), o: new StringDecoder('utf8') };
  private size = 0;
  private stopped = false;

  constructor(
    private readonly header: TranscriptHeader,
    private readonly limitBytes = defaultTranscriptLimitBytes,
  ) {
    this.push(
      JSON.stringify({
        version: 2,
        width: header.size?.columns ?? 80,
        height: header.size?.rows ?? 24,
        timestamp: Math.floor(header.startedAt / 1000),
        command: header.command.join(' '),
        title: header.title,
      }),
    );
  }

  /** The header line, which the spool starts with. */
  get firstLine(): string {
    return this.lines[0] as string;
  }

  /** True once the limit was reached: nothing more is recorded. */
  get full(): boolean {
    return this.stopped;
  }

  get bytes(): number {
    return this.size;
  }

  /**
   * Records typed input (`i`) or output (`o`) at epoch ms `at`. Returns the line written, to append
   * to the spool, or undefined when nothing was (no whole character yet, or the transcript is full).
   */
  record(kind: 'i' | 'o', data: Buffer, at: number): string | undefined {
    if (this.stopped) return undefined;
    const text = this.decoders[kind].write(data);
    if (text === '') return undefined;
    const line = JSON.stringify([this.elapsed(at), kind, text]);
    if (this.size + line.length + 1 > this.limitBytes) {
      this.stopped = true;
      return this.push(JSON.stringify([this.elapsed(at), 'm', 'transcript limit reached: session ended']));
    }
    return this.push(line);
  }

  /** A marker (`m`): how the session ended, when, in the transcript itself. */
  mark(label: string, at: number): string {
    return this.push(JSON.stringify([this.elapsed(at), 'm', label]));
  }

  /** The whole transcript, one JSON document per line. */
  text(): string {
    return `${this.lines.join('\n')}\n`;
  }

  private push(line: string): string {
    this.lines.push(line);
    this.size += line.length + 1;
    return line;
  }

  private elapsed(at: number): number {
    return Math.max(0, Math.round(at - this.header.startedAt)) / 1000;
  }
}
