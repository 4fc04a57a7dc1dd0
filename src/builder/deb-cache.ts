/**
 * A content-addressed cache of .deb files at HERD_HOME/cache/debs/sha256/<hex>. Every read is
 * verified against the lock's sha256, so a tampered cache entry is refused, not used.
 */
import { mkdir, open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256Hex, writeAtomic, writeChunksAtomic } from '../common/index.js';
import type { AptSource, Fetcher } from '../debian/index.js';
import { type DebTars, debMemberChunks, type ReadDebOptions, readDebMembers } from '../debian/index.js';
import { CacheSeal } from './cache-seal.js';
import { BuildError } from './errors.js';
import type { LockedPackage } from './lock-file.js';

export class DebCache {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  pathOf(sha256: string): string {
    return join(this.dir, 'sha256', sha256);
  }

  /** Returns the cached bytes, verified, or undefined when the deb is not cached yet. */
  async get(pkg: LockedPackage): Promise<Buffer | undefined> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.pathOf(pkg.sha256));
    } catch {
      return undefined;
    }
    const actual = sha256Hex(bytes);
    if (actual !== pkg.sha256) {
      throw new BuildError(
        'DEB_MISMATCH',
        `cached ${pkg.name}_${pkg.version}.deb at ${this.pathOf(pkg.sha256)} is tampered: ` +
          `got sha256:${actual}, herd.lock says sha256:${pkg.sha256}; delete the file to fetch it again`,
      );
    }
    return bytes;
  }

  /** Returns the deb from the cache, or fetches it from its suite's source, verifies it and caches it. */
  async fetch(pkg: LockedPackage, options: { fetcher: Fetcher; sources: AptSource[] }): Promise<Buffer> {
    const cached = await this.get(pkg);
    if (cached) return cached;
    const source = options.sources.find((s) => s.suite === pkg.suite);
    if (!source) {
      throw new BuildError(
        'DEB_MISMATCH',
        `herd.lock takes ${pkg.name} from suite ${pkg.suite}, which no configured source serves`,
      );
    }
    const url = `${source.uri}${pkg.filename}`;
    const bytes = await options.fetcher.fetchBytes(url, { maxBytes: pkg.size + 1 });
    const actual = sha256Hex(bytes);
    if (actual !== pkg.sha256 || bytes.length !== pkg.size) {
      throw new BuildError(
        'DEB_MISMATCH',
        `${url} does not match herd.lock: got sha256:${actual} (${bytes.length} bytes), ` +
          `expected sha256:${pkg.sha256} (${pkg.size} bytes)`,
      );
    }
    await mkdir(join(this.dir, 'sha256'), { recursive: true, mode: 0o700 });
    await writeAtomic(this.pathOf(pkg.sha256), bytes);
    return bytes;
  }
}

/** What the unpacked cache has for a package: a verified entry, nothing, or an entry not to trust. */
export type UnpackedLookup =
  | { kind: 'hit'; tars: DebTars }
  | { kind: 'miss' }
  | { kind: 'untrusted'; reason: string };

/** A record as written: which .deb, and the size and sha256 of each tar unpacked from it. */
interface UnpackedRecord {
  deb: string;
  control: MemberRecord;
  data: MemberRecord;
}

interface MemberRecord {
  /** As stored in the .deb, e.g. `data.tar.xz`. */
  member: string;
  size: number;
  sha256: string;
}

const sealPurpose = 'unpacked deb';

/**
 * Decompressed package contents at HERD_HOME/cache/unpacked/<deb sha256>.{control,data}.tar:
 * decoding is most of an unpack, and a warm build need not repeat it. Each entry has a record,
 * `<deb sha256>.json`, that names the .deb and the size and sha256 of both tars, and is sealed
 * (cache-seal.ts) when herd unpacks the .deb itself, after the .deb was verified against the lock.
 * On every read the seal, the .deb it names and both tars' digests are checked, so an entry whose
 * data and record were both edited is caught; such an entry is reported untrusted, and the build
 * unpacks the verified .deb again over it. The tars are then read as hostile input as always.
 */
export class UnpackedDebCache {
  readonly dir: string;
  private readonly sealKeyPath: string;
  private seal: Promise<CacheSeal> | undefined;

  constructor(dir: string, options: { sealKey: string }) {
    this.dir = dir;
    this.sealKeyPath = options.sealKey;
  }

  async get(pkg: LockedPackage): Promise<UnpackedLookup> {
    const base = join(this.dir, pkg.sha256);
    let text: string;
    try {
      text = await readFile(`${base}.json`, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'miss' };
      return { kind: 'untrusted', reason: `its record cannot be read (${(error as Error).message})` };
    }
    const parsed = parseRecord(text);
    // A record without a seal (as herd wrote them before it sealed them) vouches for nothing:
    // unpacked again, as an untrusted entry is, but without a warning on every upgraded cache.
    if (parsed.kind === 'unsealed') return { kind: 'miss' };
    if (parsed.kind === 'malformed') return { kind: 'untrusted', reason: parsed.reason };
    const { record, seal } = parsed;
    if (!(await this.openSeal()).verify(sealPurpose, sealedText(record), seal)) {
      return { kind: 'untrusted', reason: "its record does not carry herd's seal" };
    }
    if (record.deb !== pkg.sha256) {
      return { kind: 'untrusted', reason: `its record is about .deb sha256:${record.deb}` };
    }
    const [control, data] = await Promise.all([
      readVerified(`${base}.control.tar`, record.control),
      readVerified(`${base}.data.tar`, record.data),
    ]);
    if (control.kind === 'untrusted') return control;
    if (data.kind === 'untrusted') return data;
    return {
      kind: 'hit',
      tars: {
        controlMember: record.control.member,
        dataMember: record.data.member,
        control: control.bytes,
        data: data.bytes,
      },
    };
  }

  /**
   * Unpacks a .deb that was verified against the lock into the cache and returns its tars. The
   * members are decoded straight into files, so nothing is held while their size is unknown:
   * a decompression bomb is stopped at the limit having cost disk writes, not memory.
   */
  async unpack(pkg: LockedPackage, deb: Buffer, options: ReadDebOptions): Promise<DebTars> {
    const seal = await this.openSeal();
    const members = readDebMembers(deb, options);
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const base = join(this.dir, pkg.sha256);
    // One after the other: a refused control member stops the .deb before its data is decoded.
    const control = await writeChunksAtomic(`${base}.control.tar`, debMemberChunks(members.control, options));
    const data = await writeChunksAtomic(`${base}.data.tar`, debMemberChunks(members.data, options));
    const record: UnpackedRecord = {
      deb: pkg.sha256,
      control: { member: members.control.name, ...control },
      data: { member: members.data.name, ...data },
    };
    // The record goes last: an entry without it is absent.
    const text = sealedText(record);
    await writeAtomic(
      `${base}.json`,
      `${JSON.stringify({ ...record, seal: seal.seal(sealPurpose, text) })}\n`,
    );
    const tars = await this.get(pkg);
    if (tars.kind !== 'hit') {
      const why = tars.kind === 'untrusted' ? tars.reason : 'it vanished';
      throw new BuildError(
        'DEB_MISMATCH',
        `${options.name} changed in ${this.dir} while herd unpacked it: ${why}`,
      );
    }
    return tars.tars;
  }

  private openSeal(): Promise<CacheSeal> {
    this.seal ??= CacheSeal.open(this.sealKeyPath);
    return this.seal;
  }
}

/** The sealed form of a record: fixed field order, so the seal does not depend on JSON layout. */
function sealedText(record: UnpackedRecord): string {
  const member = (m: MemberRecord) => `${m.member} ${m.size} ${m.sha256}`;
  return `deb ${record.deb}\ncontrol ${member(record.control)}\ndata ${member(record.data)}\n`;
}

function parseRecord(
  text: string,
):
  | { kind: 'ok'; record: UnpackedRecord; seal: unknown }
  | { kind: 'unsealed' }
  | { kind: 'malformed'; reason: string } {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return { kind: 'malformed', reason: 'its record is not JSON' };
  }
  if (raw !== null && typeof raw === 'object' && !('seal' in raw)) return { kind: 'unsealed' };
  const control = memberRecordOf(raw?.control);
  const data = memberRecordOf(raw?.data);
  if (typeof raw?.deb !== 'string' || !isSha256Hex(raw.deb) || !control || !data) {
    return { kind: 'malformed', reason: 'its record is not an unpacked-cache record' };
  }
  return { kind: 'ok', record: { deb: raw.deb, control, data }, seal: raw.seal };
}

function memberRecordOf(value: unknown): MemberRecord | undefined {
  const m = value as Partial<MemberRecord> | undefined;
  if (typeof m?.member !== 'string' || !/^(control|data)\.tar(\.[a-z]+)?$/.test(m.member)) return undefined;
  if (typeof m.size !== 'number' || !Number.isSafeInteger(m.size) || m.size < 0) return undefined;
  if (typeof m.sha256 !== 'string' || !isSha256Hex(m.sha256)) return undefined;
  return { member: m.member, size: m.size, sha256: m.sha256 };
}

function isSha256Hex(value: string): boolean {
  return /^[0-9a-f]{64}$/.test(value);
}

/**
 * A cached tar, read only if its size is the sealed one (a swapped-in huge file is not read) and
 * returned only if its sha256 is the sealed one.
 */
async function readVerified(
  path: string,
  expected: MemberRecord,
): Promise<{ kind: 'ok'; bytes: Buffer } | { kind: 'untrusted'; reason: string }> {
  const name = expected.member.replace(/\.tar.*$/, '.tar');
  let bytes: Buffer;
  try {
    const file = await open(path, 'r');
    try {
      const { size } = await file.stat();
      if (size !== expected.size) {
        return { kind: 'untrusted', reason: `its ${name} is ${size} bytes, sealed as ${expected.size}` };
      }
      bytes = Buffer.allocUnsafe(size);
      const { bytesRead } = await file.read(bytes, 0, size, 0);
      if (bytesRead !== size) return { kind: 'untrusted', reason: `its ${name} shrank while it was read` };
    } finally {
      await file.close();
    }
  } catch (error) {
    return { kind: 'untrusted', reason: `its ${name} cannot be read (${(error as Error).message})` };
  }
  const actual = sha256Hex(bytes);
  if (actual !== expected.sha256) {
    return {
      kind: 'untrusted',
      reason: `its ${name} has sha256:${actual}, sealed as sha256:${expected.sha256}`,
    };
  }
  return { kind: 'ok', bytes };
}
