/**
 * A content-addressed cache of .deb files at HERD_HOME/cache/debs/sha256/<hex>. Every read is
 * verified against the lock's sha256, so a tampered cache entry is refused, not used.
 */
import { createHash, randomBytes } from 'node:crypto';
import { type FileHandle, mkdir, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  openRegularFile,
  type RegularFileOpen,
  readRegularFile,
  sha256Hex,
  writeAtomic,
  writeChunksAtomic,
} from '../common/index.js';
import type { AptSource, DebControl, DebFile, Fetcher } from '../debian/index.js';
import {
  debMemberChunks,
  type ReadDebOptions,
  ResponseTooLarge,
  readControlTar,
  readDataTarStream,
  readDebFileMembers,
  readDebMembers,
} from '../debian/index.js';
import { CacheSeal } from '../oci/index.js';
import { BuildError } from './errors.js';
import type { LockedPackage } from './lock-file.js';

export class DebCache {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  pathOf(sha256: string): string {
    return join(this.filesDir, sha256);
  }

  /** Where the .debs are, by sha256, and where their downloads' temp files are. */
  get filesDir(): string {
    return join(this.dir, 'sha256');
  }

  /**
   * Returns the cached bytes, verified, or undefined when the deb is not cached yet. Only a
   * regular file of the locked size is read: a FIFO, a socket, a device or a link planted at the
   * path (a read that never ends, or never starts) is refused as a tampered file is.
   */
  async get(pkg: LockedPackage): Promise<Buffer | undefined> {
    const opened = await this.open(pkg);
    if (!opened) return undefined;
    let bytes: Buffer;
    try {
      bytes = await opened.readFile();
    } finally {
      await opened.close();
    }
    const actual = sha256Hex(bytes);
    if (actual !== pkg.sha256) throw tamperedDeb(this, pkg, `got sha256:${actual}`);
    return bytes;
  }

  /**
   * Checks the cached .deb against the lock without holding it, for a build that needs only its
   * unpacked contents: a tampered file is refused (DEB_MISMATCH) even when it is not read.
   */
  async verify(pkg: LockedPackage): Promise<boolean> {
    let verified: VerifiedDeb | undefined;
    try {
      verified = await this.openVerified(pkg);
    } catch (error) {
      if (error instanceof BuildError) throw error;
      return false;
    }
    await verified?.file.close();
    return verified !== undefined;
  }

  /**
   * The cached .deb opened and hashed through the handle it is returned with, so what the caller
   * reads through it is what was checked (a file swapped in at the path later is not); undefined
   * when it is not cached. The caller closes it.
   */
  private async openVerified(pkg: LockedPackage): Promise<VerifiedDeb | undefined> {
    const opened = await this.open(pkg);
    if (!opened) return undefined;
    const hash = createHash('sha256');
    try {
      for await (const chunk of opened.createReadStream({ highWaterMark: 256 * 1024, autoClose: false })) {
        hash.update(chunk as Buffer);
      }
      const actual = hash.digest('hex');
      if (actual !== pkg.sha256) throw tamperedDeb(this, pkg, `got sha256:${actual}`);
    } catch (error) {
      await opened.close();
      throw error;
    }
    return { file: opened, size: pkg.size };
  }

  /** The cached file opened, if there is one; anything but a regular file of the locked size throws. */
  private async open(pkg: LockedPackage): Promise<FileHandle | undefined> {
    let opened: RegularFileOpen;
    try {
      opened = await openRegularFile(this.pathOf(pkg.sha256));
    } catch {
      return undefined;
    }
    switch (opened.kind) {
      case 'missing':
        return undefined;
      case 'not-regular':
        throw tamperedDeb(this, pkg, `it is ${opened.what}, not a regular file`);
      case 'file':
        if (opened.size !== pkg.size) {
          await opened.handle.close();
          throw tamperedDeb(this, pkg, `got ${opened.size} bytes, herd.lock says ${pkg.size}`);
        }
        return opened.handle;
    }
  }

  /**
   * Returns the deb from the cache, or fetches it from its suite's source and caches it, opened and
   * verified against the lock (the caller reads it through the handle, then closes it). A download
   * is streamed to a temp file beside the entry, hashed as its bytes arrive and cut past the locked
   * size, and renamed into place only once it matches: never held whole in memory.
   */
  async fetch(pkg: LockedPackage, options: { fetcher: Fetcher; sources: AptSource[] }): Promise<VerifiedDeb> {
    const cached = await this.openVerified(pkg);
    if (cached) return cached;
    const source = options.sources.find((s) => s.suite === pkg.suite);
    if (!source) {
      throw new BuildError(
        'DEB_MISMATCH',
        `herd.lock takes ${pkg.name} from suite ${pkg.suite}, which no configured source serves`,
      );
    }
    const url = `${source.uri}${pkg.filename}`;
    await mkdir(this.filesDir, { recursive: true, mode: 0o700 });
    const path = this.pathOf(pkg.sha256);
    const temp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    const file = await open(temp, 'wx+', 0o600);
    let kept = false;
    try {
      const hash = createHash('sha256');
      let size = 0;
      try {
        // Cut past the locked size: a mirror's endless data is a .deb that does not match the lock.
        for await (const chunk of await options.fetcher.openChunks(url, { maxBytes: pkg.size })) {
          hash.update(chunk);
          size += chunk.length;
          await file.write(chunk);
        }
      } catch (error) {
        if (!(error instanceof ResponseTooLarge && error.limit === pkg.size)) throw error;
        throw new BuildError(
          'DEB_MISMATCH',
          `${url} does not match herd.lock: it is larger than the ${pkg.size}-byte limit, ` +
            `expected sha256:${pkg.sha256} (${pkg.size} bytes)`,
          { cause: error },
        );
      }
      const actual = hash.digest('hex');
      if (actual !== pkg.sha256 || size !== pkg.size) {
        throw new BuildError(
          'DEB_MISMATCH',
          `${url} does not match herd.lock: got sha256:${actual} (${size} bytes), ` +
            `expected sha256:${pkg.sha256} (${pkg.size} bytes)`,
        );
      }
      await rename(temp, path);
      kept = true;
      return { file, size };
    } finally {
      if (!kept) {
        await file.close().catch(() => undefined);
        await rm(temp, { force: true });
      }
    }
  }
}

/** A .deb verified against the lock through this open file: read it through `file`, then close it. */
export interface VerifiedDeb {
  file: FileHandle;
  size: number;
}

function tamperedDeb(cache: DebCache, pkg: LockedPackage, found: string): BuildError {
  return new BuildError(
    'DEB_MISMATCH',
    `cached ${pkg.name}_${pkg.version}.deb at ${cache.pathOf(pkg.sha256)} is tampered: ` +
      `${found}, herd.lock says sha256:${pkg.sha256}; delete the file to fetch it again`,
  );
}

/**
 * A package as the build uses it: what its control.tar says, and its data.tar's files, whose
 * bytes stay in `dataTar` on disk (each file's offset and sha256 say where and what they are).
 */
export interface UnpackedDeb {
  controlMember: string;
  dataMember: string;
  control: DebControl;
  files: DebFile[];
  dataTar: string;
}

/** What the unpacked cache has for a package: a verified entry, nothing, or an entry not to trust. */
export type UnpackedLookup =
  | { kind: 'hit'; unpacked: UnpackedDeb }
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

/** A record is a few hundred bytes; a larger file there was not written by herd. */
const maxRecordBytes = 64 * 1024;

/**
 * Decompressed package contents at HERD_HOME/cache/unpacked/<deb sha256>.{control,data}.tar:
 * decoding is most of an unpack, and a warm build need not repeat it. Each entry has a record,
 * `<deb sha256>.json`, that names the .deb and the size and sha256 of both tars, and is sealed
 * (src/oci/cache-seal.ts) when herd unpacks the .deb itself, after the .deb was verified against the lock.
 * On every read the seal, the .deb it names and both tars' digests are checked, so an entry whose
 * data and record were both edited is caught; such an entry is reported untrusted, and the build
 * unpacks the verified .deb again over it. The tars are read as hostile input as always, data.tar
 * as a stream, hashed as it is read: only its files' metadata, offsets and sha256s are held, and
 * the build reads their bytes from it, checking each against its sha256 (file-content.ts).
 */
export class UnpackedDebCache {
  readonly dir: string;
  private readonly sealKeyPath: string;
  private seal: Promise<CacheSeal> | undefined;

  constructor(dir: string, options: { sealKey: string }) {
    this.dir = dir;
    this.sealKeyPath = options.sealKey;
  }

  async get(pkg: LockedPackage, options: ReadDebOptions): Promise<UnpackedLookup> {
    const base = join(this.dir, pkg.sha256);
    let read: Awaited<ReturnType<typeof readRegularFile>>;
    try {
      read = await readRegularFile(`${base}.json`, { maxBytes: maxRecordBytes });
    } catch (error) {
      return { kind: 'untrusted', reason: `its record cannot be read (${(error as Error).message})` };
    }
    switch (read.kind) {
      case 'missing':
        return { kind: 'miss' };
      case 'not-regular':
        return { kind: 'untrusted', reason: `its record is ${read.what}, not a regular file` };
      case 'too-large':
        return { kind: 'untrusted', reason: `its record is ${read.size} bytes, not a record` };
      case 'file':
        break;
    }
    const parsed = parseRecord(read.bytes.toString('utf8'));
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
    const control = await readVerified(`${base}.control.tar`, record.control);
    if (control.kind === 'untrusted') return control;
    const dataTar = `${base}.data.tar`;
    const data = await readDataVerified(dataTar, record.data, options);
    if (data.kind === 'untrusted') return data;
    return {
      kind: 'hit',
      unpacked: {
        controlMember: record.control.member,
        dataMember: record.data.member,
        control: readControlTar(control.bytes, { ...options, member: record.control.member }),
        files: data.files,
        dataTar,
      },
    };
  }

  /**
   * Unpacks a .deb that was verified against the lock (in memory, or open on disk, where its
   * members are read from the file as they are decoded) into the cache and reads it. The members
   * are decoded straight into files, data.tar read as it is written, so nothing is held while
   * their size is unknown: a decompression bomb is stopped at the limit having cost disk writes,
   * not memory.
   */
  async unpack(pkg: LockedPackage, deb: Buffer | VerifiedDeb, options: ReadDebOptions): Promise<UnpackedDeb> {
    const seal = await this.openSeal();
    const members =
      'file' in deb ? await readDebFileMembers(deb.file, deb.size, options) : readDebMembers(deb, options);
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const base = join(this.dir, pkg.sha256);
    // One after the other: a refused control member stops the .deb before its data is decoded.
    const controlChunks: Buffer[] = [];
    const control = await writeChunksAtomic(
      `${base}.control.tar`,
      kept(debMemberChunks(members.control, options), controlChunks),
    );
    const controlText = readControlTar(Buffer.concat(controlChunks), {
      ...options,
      member: members.control.name,
    });
    const dataTar = `${base}.data.tar`;
    const { files, ...data } = await writeWhileRead(dataTar, debMemberChunks(members.data, options), (tar) =>
      readDataTarStream(tar, { ...options, member: members.data.name }),
    );
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
    return {
      controlMember: members.control.name,
      dataMember: members.data.name,
      control: controlText,
      files,
      dataTar,
    };
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

/** Passes chunks on, keeping each in `into` (a control.tar: small, and read once written). */
async function* kept(chunks: AsyncIterable<Buffer>, into: Buffer[]): AsyncGenerator<Buffer> {
  for await (const chunk of chunks) {
    into.push(chunk);
    yield chunk;
  }
}

/**
 * Writes `chunks` to `path` through a temp file while `read` reads them, hashed on the way: the
 * file is renamed into place only when both the stream and the reading succeeded. What the reader
 * leaves (bytes after a tar's end-of-archive blocks) is written too, so the file is the stream.
 */
async function writeWhileRead<T>(
  path: string,
  chunks: AsyncIterable<Buffer>,
  read: (chunks: AsyncIterable<Buffer>) => Promise<T>,
): Promise<{ size: number; sha256: string; files: T }> {
  const temp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const hash = createHash('sha256');
  let size = 0;
  const file = await open(temp, 'wx', 0o600);
  const written = (async function* () {
    for await (const chunk of chunks) {
      hash.update(chunk);
      size += chunk.length;
      await file.write(chunk);
      yield chunk;
    }
  })();
  try {
    const result = await read({ [Symbol.asyncIterator]: () => written });
    for await (const _ of written);
    await file.close();
    await rename(temp, path);
    return { size, sha256: hash.digest('hex'), files: result };
  } finally {
    await written.return(undefined);
    await file.close().catch(() => undefined);
    await rm(temp, { force: true });
  }
}

/**
 * data.tar from the cache, read as a stream only if its size is the sealed one, hashed as its
 * files are read: its files are returned only if the whole tar has the sealed sha256. A tar that
 * does not parse is untrusted too, since only the .deb, unpacked again, can say it is broken.
 */
async function readDataVerified(
  path: string,
  expected: MemberRecord,
  options: ReadDebOptions,
): Promise<{ kind: 'ok'; files: DebFile[] } | { kind: 'untrusted'; reason: string }> {
  const hash = createHash('sha256');
  const opened = await openCached(path, 'data.tar');
  if (opened.kind === 'untrusted') return opened;
  const { handle, size } = opened;
  let files: DebFile[] | undefined;
  let unreadable: string | undefined;
  try {
    if (size !== expected.size) {
      return { kind: 'untrusted', reason: `its data.tar is ${size} bytes, sealed as ${expected.size}` };
    }
    const stream = handle.createReadStream({
      highWaterMark: 256 * 1024,
      start: 0,
      end: Math.max(0, size - 1),
      autoClose: false,
    });
    const hashed = (async function* () {
      if (size === 0) return;
      for await (const chunk of stream) {
        hash.update(chunk as Buffer);
        yield chunk as Buffer;
      }
    })();
    try {
      files = await readDataTarStream(hashed, { ...options, member: expected.member });
    } catch (error) {
      unreadable = (error as Error).message;
    }
    // The rest (after the end-of-archive blocks, or after what did not parse) is hashed too.
    for await (const _ of hashed);
  } catch (error) {
    return { kind: 'untrusted', reason: `its data.tar cannot be read (${(error as Error).message})` };
  } finally {
    await handle.close();
  }
  const actual = hash.digest('hex');
  if (actual !== expected.sha256) {
    return {
      kind: 'untrusted',
      reason: `its data.tar has sha256:${actual}, sealed as sha256:${expected.sha256}`,
    };
  }
  if (!files)
    return { kind: 'untrusted', reason: `its data.tar does not read as a package's (${unreadable})` };
  return { kind: 'ok', files };
}

/**
 * A cached tar opened if it is a regular file: a FIFO, a socket, a device or a link planted in its
 * place is untrusted, never read, and unpacked over like any other untrusted entry.
 */
async function openCached(
  path: string,
  name: string,
): Promise<{ kind: 'ok'; handle: FileHandle; size: number } | { kind: 'untrusted'; reason: string }> {
  let opened: RegularFileOpen;
  try {
    opened = await openRegularFile(path);
  } catch (error) {
    return { kind: 'untrusted', reason: `its ${name} cannot be read (${(error as Error).message})` };
  }
  switch (opened.kind) {
    case 'file':
      return { kind: 'ok', handle: opened.handle, size: opened.size };
    case 'missing':
      return { kind: 'untrusted', reason: `its ${name} cannot be read (it is missing)` };
    case 'not-regular':
      return { kind: 'untrusted', reason: `its ${name} is ${opened.what}, not a regular file` };
  }
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
  const opened = await openCached(path, name);
  if (opened.kind === 'untrusted') return opened;
  try {
    const { handle: file, size } = opened;
    try {
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
