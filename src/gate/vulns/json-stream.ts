/**
 * Splits one large JSON document, an object or an array at the top level, into its top-level
 * members as the bytes arrive. Each member's bytes are collected and given to JSON.parse on their
 * own, so memory is bounded by the largest member (one source package of the tracker's export, a
 * few MB), never by the whole document (tens of MB).
 *
 * Only the top level is checked byte by byte (braces, keys, colons, commas). Inside a member, the
 * scanner just follows strings and nesting to find where the member ends; JSON.parse then checks it.
 */
import { VulnDbError } from './errors.js';

export type TopLevelMember =
  | { container: 'object'; key: string; value: unknown; offset: number }
  | { container: 'array'; index: number; value: unknown; offset: number };

export interface SplitOptions {
  /** Names the input in error messages: a path or URL. */
  name: string;
  /** A single member larger than this is refused, so a hostile input cannot exhaust memory. */
  maxMemberBytes?: number;
}

const defaultMaxMemberBytes = 256 * 1024 ** 2;

export async function* readTopLevelMembers(
  chunks: AsyncIterable<Uint8Array>,
  options: SplitOptions,
): AsyncGenerator<TopLevelMember> {
  const splitter = new TopLevelSplitter(options);
  for await (const chunk of chunks) {
    yield* splitter.write(chunk);
  }
  splitter.end();
}

const quote = 0x22;
const backslash = 0x5c;
const comma = 0x2c;
const colon = 0x3a;
const openBrace = 0x7b;
const closeBrace = 0x7d;
const openBracket = 0x5b;
const closeBracket = 0x5d;

type Phase =
  | 'start'
  | 'first-key-or-end'
  | 'key-start'
  | 'key'
  | 'colon'
  | 'first-value-or-end'
  | 'value-start'
  | 'value'
  | 'comma-or-end'
  | 'done';

/** What the member being read is, which decides how its end is found. */
type ValueShape = 'nested' | 'string' | 'scalar';

export class TopLevelSplitter {
  private readonly name: string;
  private readonly maxMemberBytes: number;
  private phase: Phase = 'start';
  private container: 'object' | 'array' = 'object';
  /** Bytes consumed before the current chunk. */
  private consumed = 0;
  private bomChecked = false;
  private pieces: Uint8Array[] = [];
  private pieceBytes = 0;
  private memberStart = 0;
  private key = '';
  private index = -1;
  private shape: ValueShape = 'nested';
  private started = false;
  private depth = 0;
  private inString = false;
  private escaped = false;

  constructor(options: SplitOptions) {
    this.name = options.name;
    this.maxMemberBytes = options.maxMemberBytes ?? defaultMaxMemberBytes;
  }

  write(chunk: Uint8Array): TopLevelMember[] {
    const members: TopLevelMember[] = [];
    let i = 0;
    if (!this.bomChecked && chunk.length > 0) {
      // Some tools write a UTF-8 byte order mark, which JSON.parse rejects: skip it.
      if (chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) i = 3;
      this.bomChecked = true;
    }
    const n = chunk.length;
    while (i < n) {
      switch (this.phase) {
        case 'key':
        case 'value': {
          const { end, complete } = this.scan(chunk, i);
          if (complete) {
            this.collect(chunk.subarray(i, end));
            if (this.phase === 'key') {
              this.key = this.decodeKey();
              this.phase = 'colon';
            } else {
              members.push(this.finishMember());
              this.phase = 'comma-or-end';
            }
            i = end;
          } else {
            this.collect(chunk.subarray(i, n));
            i = n;
          }
          break;
        }
        default: {
          const byte = chunk[i]!;
          // A key or member starts at its first byte, which `scan` then reads as part of it.
          if (isWhitespace(byte) || this.structural(byte, this.consumed + i)) i++;
        }
      }
    }
    this.consumed += n;
    return members;
  }

  end(): void {
    if (this.phase === 'done') return;
    if (this.phase === 'start') {
      throw new VulnDbError('VULNDB_MALFORMED', `${this.name} is empty: expected a JSON object or array`);
    }
    const inside = this.phase === 'value' ? ` inside ${this.describeMember()}` : '';
    this.fail(this.consumed, `the document ends early${inside} (truncated download?)`);
  }

  /**
   * One byte outside any member: the top level's own grammar. Returns false when the byte opens a
   * key or a member and belongs to it.
   */
  private structural(byte: number, at: number): boolean {
    switch (this.phase) {
      case 'start':
        if (byte === openBrace) {
          this.container = 'object';
          this.phase = 'first-key-or-end';
        } else if (byte === openBracket) {
          this.container = 'array';
          this.phase = 'first-value-or-end';
        } else this.unexpected(byte, { at, expected: "'{' or '['" });
        return true;
      case 'first-key-or-end':
        if (byte !== closeBrace) return this.startKey(byte, at);
        this.phase = 'done';
        return true;
      case 'key-start':
        return this.startKey(byte, at);
      case 'colon':
        if (byte !== colon) this.unexpected(byte, { at, expected: `':' after the key "${this.key}"` });
        this.phase = 'value-start';
        return true;
      case 'first-value-or-end':
        if (byte !== closeBracket) return this.startValue(at);
        this.phase = 'done';
        return true;
      case 'value-start':
        return this.startValue(at);
      case 'comma-or-end': {
        const close = this.container === 'object' ? closeBrace : closeBracket;
        if (byte === comma) this.phase = this.container === 'object' ? 'key-start' : 'value-start';
        else if (byte === close) this.phase = 'done';
        else {
          const expected = this.container === 'object' ? "',' or '}'" : "',' or ']'";
          this.unexpected(byte, { at, expected: `${expected} after ${this.describeMember()}` });
        }
        return true;
      }
      case 'done':
        return this.unexpected(byte, { at, expected: 'nothing after the end of the document' });
      case 'key':
      case 'value':
        return true;
    }
  }

  private startKey(byte: number, at: number): false {
    if (byte !== quote) this.unexpected(byte, { at, expected: 'a quoted key' });
    this.begin(at, 'string');
    this.phase = 'key';
    return false;
  }

  private startValue(at: number): false {
    if (this.container === 'array') this.index++;
    this.begin(at, 'nested');
    this.phase = 'value';
    return false;
  }

  private begin(at: number, shape: ValueShape): void {
    this.memberStart = at;
    this.shape = shape;
    this.started = false;
    this.depth = 0;
    this.inString = false;
    this.escaped = false;
  }

  /**
   * Finds where the current key or member ends in `chunk`, from `from`. Strings are skipped with
   * indexOf, which is most of the bytes (descriptions), so the scan stays fast in JavaScript.
   */
  private scan(chunk: Uint8Array, from: number): { end: number; complete: boolean } {
    let i = from;
    const n = chunk.length;
    if (!this.started && i < n) {
      // The first byte decides what kind of value this is.
      const first = chunk[i]!;
      if (first !== openBrace && first !== openBracket) this.shape = first === quote ? 'string' : 'scalar';
      this.started = true;
    }
    // The next quote and backslash at or after i; -2 before the first search, -1 when there is
    // none left in this chunk. Remembered so that no byte is searched twice.
    let quoteAt = -2;
    let backslashAt = -2;
    while (i < n) {
      if (this.inString) {
        if (this.escaped) {
          this.escaped = false;
          i++;
          continue;
        }
        if (quoteAt !== -1 && quoteAt < i) quoteAt = chunk.indexOf(quote, i);
        if (backslashAt !== -1 && backslashAt < i) backslashAt = chunk.indexOf(backslash, i);
        if (backslashAt !== -1 && (quoteAt === -1 || backslashAt < quoteAt)) {
          this.escaped = true;
          i = backslashAt + 1;
          continue;
        }
        if (quoteAt === -1) return { end: n, complete: false };
        this.inString = false;
        i = quoteAt + 1;
        if (this.shape === 'string' && this.depth === 0) return { end: i, complete: true };
        continue;
      }
      const byte = chunk[i]!;
      if (this.shape === 'scalar') {
        if (isWhitespace(byte) || byte === comma || byte === closeBrace || byte === closeBracket) {
          return { end: i, complete: true };
        }
        i++;
        continue;
      }
      if (byte === quote) this.inString = true;
      else if (byte === openBrace || byte === openBracket) this.depth++;
      else if (byte === closeBrace || byte === closeBracket) {
        this.depth--;
        if (this.depth === 0) return { end: i + 1, complete: true };
      }
      i++;
    }
    return { end: n, complete: false };
  }

  private collect(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.pieces.push(bytes);
    this.pieceBytes += bytes.length;
    if (this.pieceBytes > this.maxMemberBytes) {
      this.fail(
        this.memberStart,
        `${this.describeMember()} is larger than the ${this.maxMemberBytes}-byte limit for one member`,
      );
    }
  }

  private takeText(): string {
    const text = Buffer.concat(this.pieces, this.pieceBytes).toString('utf8');
    this.pieces = [];
    this.pieceBytes = 0;
    return text;
  }

  private decodeKey(): string {
    const text = this.takeText();
    try {
      return JSON.parse(text) as string;
    } catch {
      return this.fail(this.memberStart, `the key ${text.slice(0, 80)} is not a valid JSON string`);
    }
  }

  private finishMember(): TopLevelMember {
    const text = this.takeText();
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      const message = (error as Error).message;
      // JSON.parse counts UTF-16 units, so the byte offset is exact for ASCII and close otherwise.
      const position = /at position (\d+)/.exec(message)?.[1];
      const near = position === undefined ? this.memberStart : this.memberStart + Number(position);
      this.fail(
        near,
        `invalid JSON in ${this.describeMember()}: ${message.replace(/^Unexpected/, 'unexpected')}`,
      );
    }
    if (this.container === 'object') {
      return { container: 'object', key: this.key, value, offset: this.memberStart };
    }
    return { container: 'array', index: this.index, value, offset: this.memberStart };
  }

  private describeMember(): string {
    return this.container === 'object' ? `the value of "${this.key}"` : `element ${this.index}`;
  }

  private unexpected(byte: number, where: { at: number; expected: string }): never {
    const found =
      byte >= 0x20 && byte < 0x7f ? `'${String.fromCharCode(byte)}'` : `byte 0x${byte.toString(16)}`;
    return this.fail(where.at, `expected ${where.expected}, found ${found}`);
  }

  private fail(at: number, why: string): never {
    throw new VulnDbError('VULNDB_MALFORMED', `${this.name}: invalid JSON at byte ${at}: ${why}`);
  }
}

function isWhitespace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}
