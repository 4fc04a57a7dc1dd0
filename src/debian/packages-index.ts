/**
 * Packages indexes: one deb822 stanza per binary package, read from the decompressed bytes as they
 * are. Debian's main index is about 50 MB and 63,000 stanzas, so lines are found with
 * Buffer.indexOf and only the fields resolving reads are decoded into strings: a record keeps no
 * reference to the index's bytes, which are dropped once parsed, so 50 MB of index costs about
 * 25 MB of records. Every stanza is still checked whole: its syntax, no field twice, the required
 * fields, and the names held to Policy (archive-names.ts).
 */
import { architectureProblem, packageNameProblem, poolPathProblem, versionProblem } from './archive-names.js';
import { parseSourceField } from './control.js';
import { DebianError } from './errors.js';
import type { PackageRecord } from './types.js';

/** Where a Packages index was read from, for records and error messages. */
export interface IndexOrigin {
  suite: string;
  repository: string;
}

/** The fields a PackageRecord is made of, lowercased as deb822 names compare. */
const readFields = [
  'package',
  'version',
  'architecture',
  'source',
  'filename',
  'size',
  'sha256',
  'depends',
  'pre-depends',
  'recommends',
  'provides',
  'conflicts',
  'breaks',
  'multi-arch',
  'essential',
  'priority',
] as const;

/** Indexes into readFields. */
const field = {
  package: 0,
  version: 1,
  architecture: 2,
  source: 3,
  filename: 4,
  size: 5,
  sha256: 6,
  depends: 7,
  preDepends: 8,
  recommends: 9,
  provides: 10,
  conflicts: 11,
  breaks: 12,
  multiArch: 13,
  essential: 14,
  priority: 15,
} as const;
/** The values interned() shares, by field index (only those fields ever use theirs). */
const internedValues: string[][] = readFields.map(() => []);
const readFieldBytes = readFields.map((name) => Buffer.from(name, 'latin1'));
/**
 * The read fields by name hash, open-addressed over a power of two (a Map keyed by numbers boxes
 * the half of the hashes past a small integer's range, on every one of Debian's 1.3 million lines).
 */
const fieldSlots = 64;
const fieldSlotHash = new Int32Array(fieldSlots);
const fieldSlotIndex = new Int8Array(fieldSlots).fill(-1);
for (const [index, name] of readFields.entries()) {
  const hash = nameHash(name);
  let slot = hash & (fieldSlots - 1);
  while ((fieldSlotIndex[slot] as number) >= 0) slot = (slot + 1) & (fieldSlots - 1);
  fieldSlotHash[slot] = hash;
  fieldSlotIndex[slot] = index;
}

/** The read field whose name hashes to `hash`, or -1; the caller still compares the name. */
function readFieldOf(hash: number): number {
  let slot = hash & (fieldSlots - 1);
  for (;;) {
    const index = fieldSlotIndex[slot] as number;
    if (index < 0 || fieldSlotHash[slot] === hash) return index;
    slot = (slot + 1) & (fieldSlots - 1);
  }
}

/** 1 for the bytes of lowercase hex digits, as a SHA256 field holds. */
const lowerHex = new Uint8Array(256);
for (const byte of Buffer.from('0123456789abcdef', 'latin1')) lowerHex[byte] = 1;

const requiredPackageFields = [
  { name: 'Package', index: field.package },
  { name: 'Version', index: field.version },
  { name: 'Architecture', index: field.architecture },
  { name: 'Filename', index: field.filename },
  { name: 'Size', index: field.size },
  { name: 'SHA256', index: field.sha256 },
] as const;

/**
 * Maps every stanza of a Packages index to a PackageRecord, failing closed on a stanza herd cannot
 * trust. Errors are INDEX_MALFORMED, naming the index and the line.
 */
export function parsePackagesIndex(input: Uint8Array | string, origin: IndexOrigin): PackageRecord[] {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : asBuffer(input);
  return new StanzaScanner(bytes, origin).records();
}

/**
 * parsePackagesIndex over an index that arrives in chunks, so that a download is parsed while it
 * is still coming in and never held whole. The bytes are cut at blank lines (`\n\n`: a stanza
 * never spans two pieces) and each piece parsed as soon as it is whole, with its line numbers
 * counted from the index's start, then dropped. The records and errors are exactly
 * parsePackagesIndex's for the joined bytes. The first error is held until `records`: a caller
 * that must check the bytes' digest first does so before it asks for the records.
 */
export class PackagesIndexParser {
  private readonly origin: IndexOrigin;
  private readonly out: PackageRecord[] = [];
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private lastByte = -1;
  private linesBefore = 0;
  private failure: unknown;
  private failed = false;

  constructor(origin: IndexOrigin) {
    this.origin = origin;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0 || this.failed) return;
    // The last blank line in this chunk, or one made of the previous chunk's last byte and this one's first.
    const acrossChunks = this.lastByte === 0x0a && chunk[0] === 0x0a;
    let cut = chunk.lastIndexOf('\n\n');
    if (cut >= 0) cut += 2;
    else if (acrossChunks) cut = 1;
    this.lastByte = chunk[chunk.length - 1] as number;
    if (cut < 0) {
      this.hold(chunk);
      return;
    }
    if (this.pending.length > 0) {
      // Only the held stanza and this chunk's first one are joined (a copy of a stanza, not of
      // the mebibyte chunk); the rest is parsed where it lies.
      const first = acrossChunks ? 1 : chunk.indexOf('\n\n') + 2;
      this.pending.push(chunk.subarray(0, first));
      this.parsePending();
      if (first < cut) this.pending.push(chunk.subarray(first, cut));
    } else this.pending.push(chunk.subarray(0, cut));
    this.parsePending();
    if (cut < chunk.length) this.hold(chunk.subarray(cut));
  }

  /** No more bytes: the tail is parsed. */
  end(): void {
    this.parsePending();
  }

  /** The records of every byte pushed (ending the input); throws the first error any piece met. */
  records(): PackageRecord[] {
    this.end();
    if (this.failed) throw this.failure;
    return this.out;
  }

  /**
   * Bytes of a stanza not yet ended. A run of bytes with no blank line (a decompression bomb of
   * zeros) would otherwise be held whole: past maxStanzaBytes it is an error, and nothing more is kept.
   */
  private hold(bytes: Buffer): void {
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    if (this.pendingBytes <= maxStanzaBytes) return;
    this.pending = [];
    this.pendingBytes = 0;
    this.failed = true;
    this.failure = new DebianError(
      'INDEX_MALFORMED',
      `Packages index of ${this.origin.repository} ${this.origin.suite}:${this.linesBefore + 1}: ` +
        `a stanza runs past ${maxStanzaBytes} bytes without ending; expected stanzas separated by blank lines`,
    );
  }

  private parsePending(): void {
    if (this.pending.length === 0) return;
    const piece = this.pending.length === 1 ? (this.pending[0] as Buffer) : Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    if (this.failed) return;
    const scanner = new StanzaScanner(piece, this.origin, { linesBefore: this.linesBefore, out: this.out });
    try {
      scanner.records();
    } catch (error) {
      this.failed = true;
      this.failure = error;
    }
    this.linesBefore = scanner.lines;
  }
}

/**
 * The longest stanza herd reads: Debian's longest are a few tens of kilobytes (a Provides of a
 * thousand names); a megabyte is far past any, and bounds what a hostile index makes herd hold.
 */
export const maxStanzaBytes = 1024 ** 2;

/**
 * A record made of the strings it is read as and nothing else: no reference to the index's bytes,
 * so they are freed once parsed. One class, so every record has the same shape.
 */
class IndexedPackageRecord implements PackageRecord {
  name: string;
  version: string;
  architecture: string;
  source: string;
  sourceVersion: string;
  depends: string;
  preDepends: string;
  recommends: string;
  provides: string;
  conflicts: string;
  breaks: string;
  declare multiArch?: string;
  essential: boolean;
  declare priority?: string;
  filename: string;
  size: number;
  sha256: string;
  suite: string;
  repository: string;

  constructor(
    values: Omit<PackageRecord, 'multiArch' | 'priority'> & { multiArch: string; priority: string },
  ) {
    this.name = values.name;
    this.version = values.version;
    this.architecture = values.architecture;
    this.source = values.source;
    this.sourceVersion = values.sourceVersion;
    this.depends = values.depends;
    this.preDepends = values.preDepends;
    this.recommends = values.recommends;
    this.provides = values.provides;
    this.conflicts = values.conflicts;
    this.breaks = values.breaks;
    // Absent, not empty, as the fields a stanza lacks.
    if (values.multiArch !== '') this.multiArch = values.multiArch;
    this.essential = values.essential;
    if (values.priority !== '') this.priority = values.priority;
    this.filename = values.filename;
    this.size = values.size;
    this.sha256 = values.sha256;
    this.suite = values.suite;
    this.repository = values.repository;
  }
}

/** One pass over the index's lines; the per-stanza state is reused from one stanza to the next. */
class StanzaScanner {
  private readonly where: string;
  private readonly out: PackageRecord[];
  /** Lines before this scanner's bytes (a piece of a longer index), then lines read so far. */
  lines: number;
  /** Where each read field's value starts and ends in `bytes`; -1 when the stanza lacks it. */
  private readonly valueStart = new Int32Array(readFields.length).fill(-1);
  private readonly valueEnd = new Int32Array(readFields.length);
  /** Whether the value goes on over continuation lines. */
  private readonly folded = new Uint8Array(readFields.length);
  /** Every field name of the current stanza (hash, start, length), to refuse one given twice. */
  private nameHashes = new Int32Array(64);
  private nameStarts = new Int32Array(64);
  private nameLengths = new Int32Array(64);
  private nameCount = 0;
  /** The bits of the names' hashes mod 64 (0-31, 32-63) in the current stanza. */
  private namesLow = 0;
  private namesHigh = 0;
  /** The read field the last field line started, for its continuation lines; -1 for other fields. */
  private lastField = -1;
  private stanzaStart = -1;
  private stanzaLine = 0;

  constructor(
    private readonly bytes: Buffer,
    private readonly origin: IndexOrigin,
    piece: { linesBefore: number; out: PackageRecord[] } = { linesBefore: 0, out: [] },
  ) {
    this.where = `Packages index of ${origin.repository} ${origin.suite}`;
    this.lines = piece.linesBefore;
    this.out = piece.out;
  }

  records(): PackageRecord[] {
    const { bytes } = this;
    const length = bytes.length;
    let position = 0;
    let line = this.lines;
    while (position < length) {
      line++;
      let newline = bytes.indexOf(0x0a, position);
      if (newline < 0) newline = length;
      let end = newline;
      while (end > position && isTrailingSpace(bytes[end - 1] as number)) end--;
      if (end === position) this.endStanza();
      else this.readLine(position, end, line);
      position = newline + 1;
    }
    this.lines = line;
    this.endStanza();
    return this.out;
  }

  private readLine(start: number, end: number, line: number): void {
    const { bytes } = this;
    const first = bytes[start] as number;
    if (first === 0x20 || first === 0x09) {
      if (this.stanzaStart < 0) {
        throw this.syntaxError(line, `continuation line "${this.text(start, end)}" has no field to continue`);
      }
      if (this.lastField >= 0) {
        this.valueEnd[this.lastField] = end;
        this.folded[this.lastField] = 1;
      }
      return;
    }
    // deb822(5) field names: printable US-ASCII but the colon, not starting with `#` or `-`.
    let hash = 0;
    let colon = start;
    for (; colon < end; colon++) {
      const byte = bytes[colon] as number;
      if (byte === 0x3a || byte < 0x21 || byte > 0x7e) break;
      hash = (Math.imul(hash, 31) + lowerAscii(byte)) | 0;
    }
    if (colon === start || colon === end || bytes[colon] !== 0x3a || first === 0x23 || first === 0x2d) {
      throw this.syntaxError(line, `expected "Field: value", got "${this.text(start, end)}"`);
    }
    const nameLength = colon - start;
    // One bit per hash value mod 64 of the stanza's names: most lines are told apart from every
    // earlier one by it, without comparing against each.
    const bit = 1 << (hash & 31);
    const high = hash & 32;
    if ((high ? this.namesHigh : this.namesLow) & bit) {
      for (let i = 0; i < this.nameCount; i++) {
        if (
          this.nameHashes[i] === hash &&
          this.nameLengths[i] === nameLength &&
          sameName(bytes, this.nameStarts[i] as number, start, nameLength)
        ) {
          throw this.syntaxError(line, `field ${this.text(start, colon)} appears twice in one paragraph`);
        }
      }
    }
    if (high) this.namesHigh |= bit;
    else this.namesLow |= bit;
    this.rememberName(hash, start, nameLength);
    if (this.stanzaStart < 0) {
      this.stanzaStart = start;
      this.stanzaLine = line;
    }
    const index = readFieldOf(hash);
    this.lastField = index >= 0 && matchesName(bytes, start, readFieldBytes[index] as Buffer) ? index : -1;
    if (this.lastField < 0) return;
    let valueStart = colon + 1;
    while (valueStart < end && (bytes[valueStart] === 0x20 || bytes[valueStart] === 0x09)) valueStart++;
    this.valueStart[this.lastField] = valueStart;
    this.valueEnd[this.lastField] = end;
    this.folded[this.lastField] = 0;
  }

  private rememberName(hash: number, start: number, length: number): void {
    if (this.nameCount === this.nameHashes.length) {
      const grow = (from: Int32Array) => {
        const to = new Int32Array(from.length * 2);
        to.set(from);
        return to;
      };
      this.nameHashes = grow(this.nameHashes);
      this.nameStarts = grow(this.nameStarts);
      this.nameLengths = grow(this.nameLengths);
    }
    this.nameHashes[this.nameCount] = hash;
    this.nameStarts[this.nameCount] = start;
    this.nameLengths[this.nameCount] = length;
    this.nameCount++;
  }

  private endStanza(): void {
    if (this.stanzaStart >= 0) this.out.push(this.record());
    this.stanzaStart = -1;
    this.nameCount = 0;
    this.namesLow = 0;
    this.namesHigh = 0;
    this.lastField = -1;
    this.valueStart.fill(-1);
  }

  /** A read field's value as control.ts's `field(…).trim()` gives it, '' when absent. */
  private value(index: number): string {
    const start = this.valueStart[index] as number;
    if (start < 0) return '';
    const raw = this.bytes.toString('utf8', start, this.valueEnd[index]);
    if (!this.folded[index]) return raw;
    return raw
      .split('\n')
      .map((line) => line.trimEnd())
      .join('\n')
      .trim();
  }

  /** Whether a read field is there with a value, without decoding it. */
  private present(index: number): boolean {
    const start = this.valueStart[index] as number;
    if (start < 0) return false;
    return this.folded[index] ? this.value(index) !== '' : start < (this.valueEnd[index] as number);
  }

  /**
   * value() for fields with a few values shared by thousands of stanzas (Architecture, Multi-Arch,
   * Priority, Essential): one string per value, not one per stanza. At most a few values per field
   * are kept, so a hostile index cannot grow the table.
   */
  private interned(index: number): string {
    const start = this.valueStart[index] as number;
    if (start < 0) return '';
    const end = this.valueEnd[index] as number;
    const length = end - start;
    if (this.folded[index] || length > 16) return this.value(index);
    const known = internedValues[index] as string[];
    const { bytes } = this;
    for (const text of known) {
      if (text.length !== length) continue;
      let same = true;
      for (let i = 0; i < length && same; i++) same = bytes[start + i] === text.charCodeAt(i);
      if (same) return text;
    }
    const text = this.value(index);
    // Only ASCII: a byte past 0x7f decodes to fewer characters than bytes, never matched above.
    if (known.length < 8 && text.length === length) known.push(text);
    return text;
  }

  /** A Size field's byte count, or -1 when it is not a string of decimal digits. */
  private byteCount(index: number): number {
    const start = this.valueStart[index] as number;
    const end = this.valueEnd[index] as number;
    if (start < 0 || start === end || this.folded[index]) return -1;
    let count = 0;
    for (let i = start; i < end; i++) {
      const digit = (this.bytes[i] as number) - 0x30;
      if (digit < 0 || digit > 9) return -1;
      count = count * 10 + digit;
    }
    return count;
  }

  /** A SHA256 field of 64 lowercase hex digits, or undefined. */
  private hexDigest(index: number): string | undefined {
    const start = this.valueStart[index] as number;
    if (start < 0 || this.folded[index] || (this.valueEnd[index] as number) - start !== 64) return undefined;
    const { bytes } = this;
    for (let i = start; i < start + 64; i++) if (lowerHex[bytes[i] as number] === 0) return undefined;
    return this.bytes.toString('latin1', start, start + 64);
  }

  /** A relation field on one line, as the relation parser reads it (control.ts's packageRelationsOf). */
  private relation(index: number): string {
    const value = this.value(index);
    return this.folded[index] ? value.replace(/\s*\n\s*/g, ' ') : value;
  }

  private record(): PackageRecord {
    const name = this.value(field.package);
    for (const required of requiredPackageFields) {
      if (!this.present(required.index)) throw this.invalid(name, `lacks the ${required.name} field`);
    }
    const version = this.value(field.version);
    const architecture = this.interned(field.architecture);
    const size = this.byteCount(field.size);
    if (size < 0) {
      throw this.invalid(name, `has Size "${this.value(field.size)}", expected a byte count`);
    }
    const sha256 = this.hexDigest(field.sha256);
    if (sha256 === undefined) {
      throw this.invalid(name, `has SHA256 "${this.value(field.sha256)}", expected 64 lowercase hex digits`);
    }
    const filename = this.value(field.filename);
    const sourceField = this.value(field.source);
    const source = parseSourceField(sourceField, { name, version });
    if (!source) {
      throw this.invalid(name, `has Source "${sourceField}", expected "name" or "name (version)"`);
    }
    // Names become file names, URLs and cache keys: even a signed index must not name a path.
    this.check(name, ['Package', name, packageNameProblem(name)]);
    this.check(name, ['Version', version, versionProblem(version)]);
    this.check(name, ['Architecture', architecture, architectureProblem(architecture)]);
    if (sourceField !== '') {
      this.check(name, ['Source', source.name, packageNameProblem(source.name)]);
      if (source.version !== version) {
        this.check(name, ['Source version', source.version, versionProblem(source.version)]);
      }
    }
    this.check(name, ['Filename', filename, poolPathProblem(filename)]);
    return new IndexedPackageRecord({
      name,
      version,
      architecture,
      source: source.name,
      sourceVersion: source.version,
      depends: this.relation(field.depends),
      preDepends: this.relation(field.preDepends),
      recommends: this.relation(field.recommends),
      provides: this.relation(field.provides),
      conflicts: this.relation(field.conflicts),
      breaks: this.relation(field.breaks),
      multiArch: this.interned(field.multiArch),
      essential: this.interned(field.essential).toLowerCase() === 'yes',
      priority: this.interned(field.priority),
      filename,
      size,
      sha256,
      suite: this.origin.suite,
      repository: this.origin.repository,
    });
  }

  private check(name: string, [label, value, problem]: [string, string, string | undefined]): void {
    if (problem) throw this.invalid(name, `has ${label} "${value}": ${problem}`);
  }

  private invalid(name: string, why: string): DebianError {
    const stanza = name ? `stanza "${name}"` : 'stanza';
    return new DebianError('INDEX_MALFORMED', `${this.where}:${this.stanzaLine}: ${stanza} ${why}`);
  }

  private text(start: number, end: number): string {
    return this.bytes.toString('utf8', start, end);
  }

  private syntaxError(line: number, why: string): DebianError {
    return new DebianError('INDEX_MALFORMED', `${this.where}:${line}: ${why}`);
  }
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** What String.prototype.trimEnd drops at the end of an ASCII line: space, tab, CR, VT, FF. */
function isTrailingSpace(byte: number): boolean {
  return byte === 0x20 || (byte >= 0x09 && byte <= 0x0d);
}

function lowerAscii(byte: number): number {
  return byte >= 0x41 && byte <= 0x5a ? byte | 0x20 : byte;
}

function nameHash(lowercase: string): number {
  let hash = 0;
  for (let i = 0; i < lowercase.length; i++) hash = (Math.imul(hash, 31) + lowercase.charCodeAt(i)) | 0;
  return hash;
}

function sameName(bytes: Buffer, a: number, b: number, length: number): boolean {
  for (let i = 0; i < length; i++) {
    if (lowerAscii(bytes[a + i] as number) !== lowerAscii(bytes[b + i] as number)) return false;
  }
  return true;
}

/** Whether the field name at `start` is `lowercase`, ignoring case; the caller knows its length matches the hash. */
function matchesName(bytes: Buffer, start: number, lowercase: Buffer): boolean {
  if (bytes[start + lowercase.length] !== 0x3a) return false;
  for (let i = 0; i < lowercase.length; i++) {
    if (lowerAscii(bytes[start + i] as number) !== lowercase[i]) return false;
  }
  return true;
}
