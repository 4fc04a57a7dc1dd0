/**
 * Layer gzip by ISA-L's `igzip` command (Debian's isal package), piped both ways: the tar goes in
 * as it is made, the gzip member comes out as it is written. docs/adr/0015-layer-compression.md
 * says why: on hello's layers igzip -3 takes a quarter of the CPU of zlib at level 3 (0.33 against
 * 1.27 s) for 4% more bytes, and gzip was most of a cold build's CPU after xz. The layers stay
 * gzip, which every runtime, registry and scanner reads.
 *
 * One process per layer, one thread each: layers written at once compress on as many cores, and
 * a single igzip outruns zlib on about four. The member's 10-byte header is herd's own (MTIME 0, FLG 0,
 * OS 255, as RFC 1952 §2.3 lays it out), so the bytes follow from the tar, the level and igzip's
 * version alone; `layerEncodingOf` names all three, and a cache of compressed layers keys on it.
 */
import type { Writable } from 'node:stream';
import { OciError } from './errors.js';
import { type PipedCommand, startPipedCommand } from './piped-command.js';

/** igzip's levels: 0 (fastest) to 3 (smallest). */
export const igzipLevels = [0, 1, 2, 3] as const;

const gzipHeaderSize = 10;
/** ID1 ID2 CM=deflate FLG=0: the header igzip writes with -n, and the only one this takes. */
const expectedHeaderStart = Buffer.from([0x1f, 0x8b, 8, 0]);
/** MTIME 0 (no clock), FLG 0, XFL 0, OS 255 ("unknown": the layer does not say what built it). */
const herdHeader = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255]);

let version: Promise<string> | undefined;

/**
 * What a layer's gzip bytes follow from besides its tar: the encoder, its version and the level.
 * Another isal may write other bytes for the same tar, so a cached layer is only taken from the
 * same one.
 */
export async function layerEncodingOf(level: number): Promise<string> {
  checkLevel(level);
  // A failure is not kept: a control plane whose host gets isal installed builds on its next run.
  version ??= igzipVersion().catch((error: unknown) => {
    version = undefined;
    throw error;
  });
  return `igzip-${await version}-level-${level}`;
}

export interface IgzipOptions {
  /** 0 to 3 (igzipLevels). */
  level: number;
  /** Names the layer in errors. */
  name: string;
}

/**
 * The gzip member of `input`, chunk by chunk, at igzip's `level`. The input's failure is thrown as
 * it is; igzip's (missing, killed, failed) as OciError LAYER_ENCODE_FAILED. However the consumer
 * stops, igzip is stopped too.
 */
export async function* igzipChunks(
  input: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  options: IgzipOptions,
): AsyncGenerator<Buffer> {
  const { level, name } = options;
  checkLevel(level);
  const encodeFailed = (why: string) =>
    new OciError('LAYER_ENCODE_FAILED', `could not compress ${name}: ${why}`);
  const encoder = startIgzip([`-${level}`, '--stdout', '--no-name']);
  const feeding = feed(input, encoder.input);
  try {
    let header = Buffer.alloc(0);
    for await (const chunk of encoder.output as AsyncIterable<Buffer>) {
      if (header.length >= gzipHeaderSize) {
        yield chunk;
        continue;
      }
      header = Buffer.concat([header, chunk]);
      if (header.length < gzipHeaderSize) continue;
      if (!header.subarray(0, 4).equals(expectedHeaderStart)) {
        throw encodeFailed(
          `igzip wrote a header herd does not expect: ${header.subarray(0, 4).toString('hex')}`,
        );
      }
      yield herdHeader;
      if (header.length > gzipHeaderSize) yield header.subarray(gzipHeaderSize);
    }
    await feeding.done;
    const inputError = feeding.inputError();
    if (inputError) throw inputError;
    const failure = await encoder.failure();
    if (failure) throw encodeFailed(failure);
    if (header.length < gzipHeaderSize) throw encodeFailed('igzip wrote no gzip member');
  } catch (error) {
    // Stopped first: igzip's reason is only known once it has exited.
    encoder.stop();
    // The input's own failure explains the rest (igzip killed, its output cut short).
    const inputError = feeding.inputError();
    if (inputError) throw inputError;
    if (error instanceof OciError) throw error;
    throw encodeFailed((await encoder.failure()) ?? String(error));
  } finally {
    encoder.stop();
  }
}

/** igzip, piped; writes to it once it is gone fail with EPIPE, and its failure() says why. */
function startIgzip(args: string[]): PipedCommand {
  const igzip = startPipedCommand('igzip', { args, debianPackage: 'isal' });
  igzip.input.on('error', () => undefined);
  return igzip;
}

/**
 * Writes the input into igzip's stdin, waiting on its backpressure, and ends it. Stops at the
 * first failed write (igzip gone). An input that throws destroys stdin: igzip then sees its input
 * end and writes a whole member of the part it had, which the reader must not take, so it asks
 * inputError() once the output has ended.
 */
function feed(
  input: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  stdin: Writable,
): { done: Promise<void>; inputError(): unknown } {
  let failed: { error: unknown } | undefined;
  const done = (async () => {
    try {
      for await (const chunk of input) {
        if (stdin.destroyed) return;
        if (!stdin.write(chunk)) await drained(stdin);
      }
      stdin.end();
    } catch (error) {
      failed = { error };
      stdin.destroy();
    }
  })();
  return { done, inputError: () => failed?.error };
}

function drained(stdin: Writable): Promise<void> {
  return new Promise((resolve) => {
    // Already closed (igzip gone before this was asked): no drain or close event is to come.
    if (stdin.destroyed) return resolve();
    const settle = () => {
      stdin.off('drain', settle);
      stdin.off('close', settle);
      resolve();
    };
    stdin.once('drain', settle);
    stdin.once('close', settle);
  });
}

async function igzipVersion(): Promise<string> {
  const encoder = startIgzip(['--version']);
  encoder.input.end();
  let text = '';
  for await (const chunk of encoder.output as AsyncIterable<Buffer>) text += chunk.toString('utf8');
  const failure = await encoder.failure();
  const failed = (why: string) => new OciError('LAYER_ENCODE_FAILED', `could not compress layers: ${why}`);
  if (failure) throw failed(failure);
  const found = /(\d+\.\d+\.\d+)/.exec(text);
  if (!found) throw failed(`igzip --version printed no version: ${text.trim().slice(0, 200)}`);
  return found[1]!;
}

function checkLevel(level: number): void {
  if (!(igzipLevels as readonly number[]).includes(level)) {
    throw new OciError('LAYER_ENCODE_FAILED', `igzip has no level ${level}: it takes 0 to 3`);
  }
}
