/**
 * The baseline file: NDJSON, streamed. Line 1 is the header, then one line per entry in walk order,
 * then one last line holding a DSSE envelope. The envelope's in-toto statement names the sha256 of
 * every byte before that line, so the header and each entry are covered by the signature, and a
 * file cut short loses its signature line and is refused.
 */
import { createHash, type KeyObject, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type FileHandle, mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { z } from 'zod';
import { removeStaleTempFiles } from '../../common/index.js';
import type { Digest } from '../../oci/index.js';
import type { Signer } from '../../trust/index.js';
import {
  type DsseEnvelope,
  envelopeSignedBy,
  inTotoStatement,
  keyFingerprint,
  parseEnvelope,
  signEnvelope,
} from '../../trust/index.js';
import { FimError } from './errors.js';
import { comparePaths, type FimEntry, parseEntryLine, plainPathOf } from './fim-entry.js';
import type { XattrSupport } from './xattrs.js';

export const baselinePredicateType = 'https://herd.dev/fim-baseline/v1';

export interface BaselineHeader {
  kind: 'herd-fim-baseline';
  version: 1;
  /** The directory the baseline describes, absolute. */
  root: string;
  createdAt: string;
  /** How xattrs were read: `unsupported` means no entry records any, and `check` compares none. */
  xattrs: XattrSupport;
  crossMounts: boolean;
}

const BaselineHeader = z.object({
  kind: z.literal('herd-fim-baseline'),
  version: z.literal(1),
  root: z.string().startsWith('/'),
  createdAt: z.string(),
  xattrs: z.enum(['llistxattr', 'getfattr', 'unsupported']),
  crossMounts: z.boolean(),
});

/** Writes a baseline to a temp file beside `path`, renamed into place only once it is signed. */
export class BaselineWriter {
  readonly #path: string;
  readonly #temp: string;
  readonly #file: FileHandle;
  readonly #hash = createHash('sha256');
  #buffered: string[] = [];
  #bufferedBytes = 0;
  #entries = 0;

  private constructor(path: string, temp: string, file: FileHandle) {
    this.#path = path;
    this.#temp = temp;
    this.#file = file;
  }

  static async create(path: string, header: BaselineHeader): Promise<BaselineWriter> {
    // A fresh name, created exclusively: the baseline's folder may be one others can write, where
    // a name known in advance could be planted as a link to a file herd would then overwrite.
    const temp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    let file: FileHandle;
    try {
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      // What a killed `herd fim init` left of this baseline, and only of it.
      await removeStaleTempFiles([dirname(path)], { namePrefix: `${basename(path)}.tmp-` });
      file = await open(temp, 'wx', 0o600);
    } catch (error) {
      throw new FimError('BASELINE_WRITE_FAILED', `cannot write the baseline ${path}: ${describe(error)}`, {
        cause: error,
      });
    }
    const writer = new BaselineWriter(path, temp, file);
    await writer.#append(`${JSON.stringify(header)}\n`);
    return writer;
  }

  /**
   * Buffers one entry, spelled as `entryLine` spells it (with its newline); a promise only when the
   * buffer was written out, to be awaited before the next.
   */
  writeLine(line: string): Promise<void> | undefined {
    this.#entries++;
    return this.#append(line);
  }

  /** Signs what was written, adds the signature line, and moves the file into place. */
  async finish(
    signer: Signer,
    header: BaselineHeader,
  ): Promise<{ path: string; entries: number; digest: Digest }> {
    await this.#drain();
    const digest: Digest = `sha256:${this.#hash.digest('hex')}`;
    const statement = inTotoStatement(
      { name: `fim-baseline:${header.root}`, digest },
      { predicateType: baselinePredicateType, predicate: { root: header.root, entries: this.#entries } },
    );
    const envelope = signEnvelope(statement, signer);
    try {
      await this.#file.write(`${JSON.stringify({ signature: envelope })}\n`);
      await this.#file.sync();
      await this.#file.close();
      await rename(this.#temp, this.#path);
    } catch (error) {
      await this.abort();
      throw new FimError(
        'BASELINE_WRITE_FAILED',
        `cannot write the baseline ${this.#path}: ${describe(error)}`,
        {
          cause: error,
        },
      );
    }
    return { path: this.#path, entries: this.#entries, digest };
  }

  async abort(): Promise<void> {
    await this.#file.close().catch(() => {});
    await rm(this.#temp, { force: true });
  }

  #append(line: string): Promise<void> | undefined {
    this.#buffered.push(line);
    this.#bufferedBytes += line.length;
    return this.#bufferedBytes >= 1 << 20 ? this.#drain() : undefined;
  }

  async #drain(): Promise<void> {
    if (this.#buffered.length === 0) return;
    const chunk = Buffer.from(this.#buffered.join(''), 'utf8');
    this.#buffered = [];
    this.#bufferedBytes = 0;
    this.#hash.update(chunk);
    try {
      await this.#file.write(chunk);
    } catch (error) {
      await this.abort();
      throw new FimError(
        'BASELINE_WRITE_FAILED',
        `cannot write the baseline ${this.#path}: ${describe(error)}`,
        {
          cause: error,
        },
      );
    }
  }
}

export interface VerifiedBaseline {
  path: string;
  header: BaselineHeader;
  digest: Digest;
  entryCount: number;
  /** Fingerprint of the trusted key that signed it. */
  signedBy: string;
  /**
   * The entry lines, read again from disk, in batches (one per read of the file, a few thousand
   * lines): a consumer awaits once per batch, not once per entry. Each line's path is known and in
   * order; the line itself is parsed only when asked (`entryOfLine`), so a check that finds it
   * byte for byte equal to the live entry's never builds it. The bytes are hashed on the way and
   * compared with the signed digest at the end, so a file swapped after `openBaseline` ends in an
   * error, never a pass.
   */
  lines(): AsyncGenerator<BaselineLine[]>;
}

/** One entry line of a baseline, parsed no further than its path. */
export interface BaselineLine {
  /** Without its newline. */
  text: string;
  path: string;
  /** Its line number in the file, for errors. */
  number: number;
  /**
   * Where the keys after the path begin, when the line begins `{"path":"<path>"` with nothing in
   * the path that JSON escapes: the line's first bytes are then exactly what `entryLine` writes for
   * that path. Undefined for a line parsed to learn its path.
   */
  headAt?: number;
  /** Parsed already, when its path could not be read without parsing it. */
  entry?: FimEntry;
}

/** The line's entry: parsed and checked as every baseline line is before anything in it is used. */
export function entryOfLine(line: BaselineLine, baselinePath: string): FimEntry {
  if (line.entry) return line.entry;
  const entry = parseEntryLine(line.text);
  // The path read without parsing must be the one the line holds.
  if (!entry || entry.path !== line.path) throw malformedLine(baselinePath, line.number);
  line.entry = entry;
  return entry;
}

function malformedLine(path: string, number: number): FimError {
  return new FimError('BASELINE_MALFORMED', `baseline ${path} line ${number} is not a well-formed entry`);
}

/**
 * Opens a baseline and verifies it before anything in it is believed: the last line must be a
 * DSSE envelope signed by one of `keys`, whose statement names the sha256 of the bytes before it.
 */
export async function openBaseline(path: string, keys: readonly KeyObject[]): Promise<VerifiedBaseline> {
  const { signedLength, envelope } = await readSignatureLine(path);
  const signer = keys.find((key) => envelopeSignedBy(envelope, key));
  if (!signer) {
    throw new FimError(
      'BASELINE_SIGNATURE_INVALID',
      `baseline ${path} is not signed by any trusted key (${keys.length} tried): expected a signature by one of HERD_HOME/keys/trusted/*.pub`,
    );
  }
  const statement = signedStatement(path, envelope);
  const actual = await sha256OfPrefix(path, signedLength);
  if (actual !== statement.digest) {
    throw new FimError(
      'BASELINE_SIGNATURE_INVALID',
      `baseline ${path} was changed after it was signed: its content is ${actual}, the signature covers ${statement.digest}`,
    );
  }
  const header = await readHeader(path, signedLength);
  return {
    path,
    header,
    digest: statement.digest,
    entryCount: statement.entries,
    signedBy: keyFingerprint(signer),
    lines: () => readLines(path, signedLength, statement.digest),
  };
}

/** Finds the signature line: the file must end with a newline, and its last line is the envelope. */
async function readSignatureLine(path: string): Promise<{ signedLength: number; envelope: DsseEnvelope }> {
  let file: FileHandle;
  try {
    file = await open(path, 'r');
  } catch (error) {
    throw new FimError('BASELINE_UNREADABLE', `cannot read the baseline ${path}: ${describe(error)}`, {
      cause: error,
    });
  }
  try {
    const { size } = await file.stat();
    // An envelope is a few hundred bytes; 64 KiB leaves room and bounds what a hostile file costs.
    const tailLength = Math.min(size, 64 * 1024);
    const tail = Buffer.alloc(tailLength);
    await file.read(tail, 0, tailLength, size - tailLength);
    if (size === 0 || tail[tail.length - 1] !== 0x0a) {
      throw new FimError(
        'BASELINE_TRUNCATED',
        `baseline ${path} is truncated: expected it to end with its signature line, got ${size === 0 ? 'an empty file' : 'a cut-off line'}`,
      );
    }
    const start = tail.lastIndexOf(0x0a, tail.length - 2) + 1;
    if (start === 0 && tailLength < size) {
      throw new FimError('BASELINE_MALFORMED', `baseline ${path} ends with a line longer than 64 KiB`);
    }
    let json: unknown;
    try {
      json = JSON.parse(tail.subarray(start).toString('utf8'));
    } catch {
      json = undefined;
    }
    const signature = (json as { signature?: unknown } | undefined)?.signature;
    if (signature === undefined) {
      throw new FimError(
        'BASELINE_TRUNCATED',
        `baseline ${path} is truncated or unsigned: expected its last line to be {"signature": …}`,
      );
    }
    let envelope: DsseEnvelope;
    try {
      envelope = parseEnvelope(Buffer.from(JSON.stringify(signature)));
    } catch (error) {
      throw new FimError('BASELINE_SIGNATURE_INVALID', `baseline ${path} has a malformed signature line`, {
        cause: error,
      });
    }
    return { signedLength: size - (tail.length - start), envelope };
  } finally {
    await file.close();
  }
}

const BaselineStatement = z.object({
  subject: z.array(z.object({ digest: z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/) }) })).length(1),
  predicateType: z.literal(baselinePredicateType),
  predicate: z.object({ entries: z.number().int().min(0) }),
});

function signedStatement(path: string, envelope: DsseEnvelope): { digest: Digest; entries: number } {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8'));
  } catch {
    json = undefined;
  }
  const parsed = BaselineStatement.safeParse(json);
  if (!parsed.success) {
    throw new FimError(
      'BASELINE_MALFORMED',
      `baseline ${path} is signed, but its statement is not a ${baselinePredicateType} statement`,
    );
  }
  return {
    digest: `sha256:${parsed.data.subject[0]!.digest.sha256}`,
    entries: parsed.data.predicate.entries,
  };
}

async function sha256OfPrefix(path: string, length: number): Promise<Digest> {
  const hash = createHash('sha256');
  if (length > 0) {
    for await (const chunk of createReadStream(path, { start: 0, end: length - 1, highWaterMark: 1 << 20 })) {
      hash.update(chunk as Buffer);
    }
  }
  return `sha256:${hash.digest('hex')}`;
}

async function readHeader(path: string, signedLength: number): Promise<BaselineHeader> {
  for await (const batch of lineBatches(path, signedLength)) {
    const parsed = BaselineHeader.safeParse(safeJson(batch[0] ?? ''));
    if (!parsed.success) {
      throw new FimError(
        'BASELINE_MALFORMED',
        `baseline ${path} line 1 is not a herd-fim-baseline v1 header`,
      );
    }
    return parsed.data;
  }
  throw new FimError('BASELINE_MALFORMED', `baseline ${path} has no header line`);
}

async function* readLines(
  path: string,
  signedLength: number,
  signed: Digest,
): AsyncGenerator<BaselineLine[]> {
  const hash = createHash('sha256');
  let previous: string | undefined;
  let number = 0;
  for await (const batch of lineBatches(path, signedLength, hash)) {
    const lines: BaselineLine[] = [];
    for (const text of batch) {
      number++;
      if (number === 1) continue;
      const plain = plainPathOf(text);
      let line: BaselineLine;
      if (plain !== undefined) line = { text, path: plain.path, number, headAt: plain.headAt };
      else {
        const entry = parseEntryLine(text);
        if (!entry) throw malformedLine(path, number);
        line = { text, path: entry.path, number, entry };
      }
      if (previous !== undefined && comparePaths(previous, line.path) >= 0) {
        throw new FimError(
          'BASELINE_MALFORMED',
          `baseline ${path} line ${number}: ${line.path} is out of order after ${previous}`,
        );
      }
      previous = line.path;
      lines.push(line);
    }
    if (lines.length > 0) yield lines;
  }
  const actual: Digest = `sha256:${hash.digest('hex')}`;
  if (actual !== signed) {
    throw new FimError(
      'BASELINE_SIGNATURE_INVALID',
      `baseline ${path} changed while it was being checked: its content is ${actual}, the signature covers ${signed}`,
    );
  }
}

/** The lines of the first `length` bytes, without their newlines, a batch per chunk read, hashing the bytes on the way. */
async function* lineBatches(
  path: string,
  length: number,
  hash?: ReturnType<typeof createHash>,
): AsyncGenerator<string[]> {
  if (length === 0) return;
  // A decoder, not chunk.toString(): a chunk may end inside a multi-byte character.
  const decoder = new StringDecoder('utf8');
  let carry = '';
  for await (const chunk of createReadStream(path, { start: 0, end: length - 1, highWaterMark: 1 << 20 })) {
    hash?.update(chunk as Buffer);
    const parts = (carry + decoder.write(chunk as Buffer)).split('\n');
    carry = parts.pop() ?? '';
    if (parts.length > 0) yield parts;
  }
  carry += decoder.end();
  if (carry.length > 0) yield [carry];
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function describe(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? String(error);
}
