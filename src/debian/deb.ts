/**
 * Reading a .deb as hostile input: its ar container, its compressed control and data tars, and
 * the safety of every path and link in it. herd never runs maintainer scripts, so only the control
 * file, md5sums, conffiles and the data files are read.
 *
 * Format: deb(5), https://manpages.debian.org/bookworm/dpkg-dev/deb.5.en.html, an ar archive
 * (ar(5) as GNU binutils writes it) with members `debian-binary`, `control.tar[.gz|.xz|.zst]` and
 * `data.tar[.gz|.xz|.zst]`, in that order.
 */
import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import {
  type Compression,
  decompressChunks,
  decompressToBuffer,
  normalizeArchivePath,
  OciError,
  readTar,
  readTarStream,
  rejectionReason,
  symlinkEscapes,
  type TarReadEntry,
} from '../oci/index.js';
import { DebianError, type DebianErrorCode } from './errors.js';

export type DebFileType = 'file' | 'dir' | 'symlink' | 'hardlink';

export interface DebFile {
  /** Relative to the root, normalized: `usr/bin/node`, never `./usr/bin/node`, `/usr/bin/node` or ''. */
  path: string;
  type: DebFileType;
  /** Permission bits, including setuid, setgid and sticky. */
  mode: number;
  uid: number;
  gid: number;
  /** Bytes of data; for a hardlink, those of its target; 0 for directories and symlinks. */
  size: number;
  /**
   * A symlink's target exactly as packaged (absolute targets are rooted at the image root). A
   * hardlink's target as a normalized path of a regular file earlier in the same package.
   */
  linkname?: string;
  /** A regular file's (or hardlink target's) bytes: a view into the decompressed data.tar. */
  data?: Buffer;
  /**
   * Read as a stream (readDataTarStream), a regular file's (or hardlink target's) bytes are not
   * held: they are the `size` bytes at this offset of the data.tar, and hash to `sha256` (hex).
   */
  offset?: number;
  sha256?: string;
}

export interface DebContents {
  /** The control file's text: one stanza, as the Packages index and status.d entries carry it. */
  control: string;
  md5sums?: string;
  conffiles?: string;
  /** The maintainer scripts herd reads (and never runs): see src/builder/maintainer-scripts.ts. */
  preinst?: string;
  postinst?: string;
  files: DebFile[];
}

export interface DebLimits {
  /** Bytes of each uncompressed tar member: decoding stops there (DECOMPRESSED_TOO_LARGE). */
  maxTotalSize: number;
  /**
   * Bytes of the uncompressed control.tar, which is held whole in memory to be read: far below
   * maxTotalSize, so a control member that inflates without end stops early (DECOMPRESSED_TOO_LARGE).
   */
  maxControlSize: number;
  /** Bytes of any one entry. */
  maxEntrySize: number;
  /** Entries in any one tar member. */
  maxEntries: number;
}

/** Far above any real package (libnode108, among the largest, unpacks to 47 MB in ~5k entries). */
export const defaultDebLimits: DebLimits = {
  maxTotalSize: 1024 * 1024 * 1024,
  // The largest real ones hold md5sums of a few thousand files: well under 1 MiB.
  maxControlSize: 64 * 1024 * 1024,
  maxEntrySize: 512 * 1024 * 1024,
  maxEntries: 200_000,
};

export interface ReadDebOptions {
  /** Names the package in every error message, e.g. `nodejs_18.20.4+dfsg-1~deb12u2_amd64.deb`. */
  name: string;
  limits?: Partial<DebLimits>;
}

/**
 * Unpacks a .deb in memory. Throws DebianError: DEB_MALFORMED for anything that is not a
 * well-formed package, DEB_UNSAFE_PATH for absolute or `..` paths, DEB_UNSAFE_ENTRY for device
 * nodes, fifos, unknown types and escaping or dangling links, DECOMPRESSED_TOO_LARGE for a member
 * that decompresses past maxTotalSize, DEB_TOO_LARGE beyond the other limits.
 */
export async function readDeb(buf: Buffer, options: ReadDebOptions): Promise<DebContents> {
  return readDebTars(await decompressDeb(buf, options), options);
}

/** A .deb's two tar members, decompressed but not yet read. */
export interface DebTars {
  /** Member names as stored, e.g. `data.tar.xz`, for error messages. */
  controlMember: string;
  dataMember: string;
  control: Buffer;
  data: Buffer;
}

/** A .deb's two tar members as stored: found and named, not yet decompressed. */
export interface DebMembers {
  control: DebMember;
  data: DebMember;
}

export interface DebMember {
  /** As stored, e.g. `data.tar.xz`. */
  name: string;
  compression: Compression | 'none';
  /** The member's bytes as stored: a view into the .deb. */
  bytes: Buffer;
}

/** The ar container, read as hostile input: both tar members and how each is compressed. */
export function readDebMembers(buf: Buffer, options: ReadDebOptions): DebMembers {
  const context: DebContext = { name: options.name, limits: { ...defaultDebLimits, ...options.limits } };
  const { control, data } = findDebMembers(buf, context);
  return {
    control: { name: control.name, compression: compressionOf(control, context), bytes: control.data },
    data: { name: data.name, compression: compressionOf(data, context), bytes: data.data },
  };
}

/** A member of a .deb on disk: where its bytes are in the open file, read only as they are decoded. */
export interface DebFileMember {
  /** As stored, e.g. `data.tar.xz`. */
  name: string;
  compression: Compression | 'none';
  file: FileHandle;
  offset: number;
  size: number;
}

/**
 * readDebMembers over an open .deb file of `size` bytes, so a package is never held whole: only
 * the ar headers and debian-binary are read here, each member's bytes later, as debMemberChunks
 * decodes them. The same checks, the same errors.
 */
export async function readDebFileMembers(
  file: FileHandle,
  size: number,
  options: ReadDebOptions,
): Promise<{ control: DebFileMember; data: DebFileMember }> {
  const context: DebContext = { name: options.name, limits: { ...defaultDebLimits, ...options.limits } };
  const readAt = async (offset: number, length: number): Promise<Buffer> => {
    const buf = Buffer.alloc(length);
    const { bytesRead } = await file.read(buf, 0, length, offset);
    return buf.subarray(0, bytesRead);
  };
  const magic = await readAt(0, arMagic.length);
  const members: { name: string; offset: number; size: number }[] = [];
  let offset = checkArMagic(magic, size, context);
  while (offset < size) {
    if (size - offset === 1 && (await readAt(offset, 1))[0] === 0x0a) break; // the last member's padding
    const header = offset + arHeaderSize > size ? undefined : await readAt(offset, arHeaderSize);
    const member = parseArHeader(header, offset, size, context);
    members.push({ name: member.name, offset: member.dataStart, size: member.size });
    offset = member.dataStart + member.size + (member.size % 2);
  }
  // debian-binary's first bytes are all its check reads (a version line); more is not held.
  const format = members.find((member) => !member.name.startsWith('_'));
  const version =
    format?.name === 'debian-binary'
      ? (await readAt(format.offset, Math.min(format.size, 64))).toString('latin1')
      : '';
  const { control, data } = pickDebMembers(members, () => version, context);
  return {
    control: { ...control, compression: compressionOf(control, context), file },
    data: { ...data, compression: compressionOf(data, context), file },
  };
}

/** The first half of readDeb: the ar container and decompression, within the size limits. */
export async function decompressDeb(buf: Buffer, options: ReadDebOptions): Promise<DebTars> {
  const context: DebContext = { name: options.name, limits: { ...defaultDebLimits, ...options.limits } };
  const members = readDebMembers(buf, options);
  // One after the other: a refused control member stops the .deb before its data is decoded.
  const control = await decompressMember(members.control, context);
  const data = await decompressMember(members.data, context);
  return { controlMember: members.control.name, dataMember: members.data.name, control, data };
}

/**
 * The second half of readDeb: reads both tars as hostile input. Safe to call on tars that were
 * cached, since every check on paths, types, links and sizes happens here.
 */
export function readDebTars(tars: DebTars, options: ReadDebOptions): DebContents {
  const context: DebContext = { name: options.name, limits: { ...defaultDebLimits, ...options.limits } };
  const control = readControlMember(
    tarEntriesOf(tars.control, { member: tars.controlMember, context }),
    context,
  );
  const files = readDataFiles(tarEntriesOf(tars.data, { member: tars.dataMember, context }), context);
  return { ...control, files };
}

/** What a package's control.tar says: its control file, md5sums, conffiles and the scripts herd reads. */
export type DebControl = Omit<DebContents, 'files'>;

/** The control.tar alone, read as readDebTars reads it. */
export function readControlTar(tar: Buffer, options: ReadDebOptions & { member: string }): DebControl {
  const context: DebContext = { name: options.name, limits: { ...defaultDebLimits, ...options.limits } };
  return readControlMember(tarEntriesOf(tar, { member: options.member, context }), context);
}

interface DebContext {
  name: string;
  limits: DebLimits;
}

function debError(context: DebContext, code: DebianErrorCode, message: string, cause?: unknown): DebianError {
  return new DebianError(code, `${context.name}: ${message}`, cause === undefined ? undefined : { cause });
}

// ---------------------------------------------------------------------------------------------
// The ar container
// ---------------------------------------------------------------------------------------------

interface ArMember {
  /** As stored, without GNU's trailing `/`: `data.tar.xz`. */
  name: string;
  offset: number;
  data: Buffer;
}

const arMagic = '!<arch>\n';
const arHeaderSize = 60;

/**
 * ar(5): the magic, then per member a 60-byte header (name 16, mtime 12, uid 6, gid 6, mode 8,
 * size 10, all space-padded ASCII, then "`\n") and its data padded to an even offset with "\n".
 */
function readArMembers(buf: Buffer, context: DebContext): ArMember[] {
  const members: ArMember[] = [];
  let offset = checkArMagic(buf, buf.length, context);
  while (offset < buf.length) {
    if (buf.length - offset === 1 && buf[offset] === 0x0a) break; // the last member's padding
    const header =
      offset + arHeaderSize > buf.length ? undefined : buf.subarray(offset, offset + arHeaderSize);
    const { name, dataStart, size } = parseArHeader(header, offset, buf.length, context);
    members.push({ name, offset, data: buf.subarray(dataStart, dataStart + size) });
    offset = dataStart + size + (size % 2);
  }
  return members;
}

/** The offset after the magic, if `head` (an archive's first bytes, of `total`) starts with it. */
function checkArMagic(head: Buffer, total: number, context: DebContext): number {
  if (total < arMagic.length || head.toString('latin1', 0, arMagic.length) !== arMagic) {
    throw debError(context, 'DEB_MALFORMED', 'not an ar archive (no "!<arch>" magic), expected a .deb');
  }
  return arMagic.length;
}

/**
 * One member's header at `offset` of an archive of `total` bytes (undefined: fewer than 60 bytes
 * remain): its name, and where its data starts and how long it is, within the archive.
 */
function parseArHeader(
  bytes: Buffer | undefined,
  offset: number,
  total: number,
  context: DebContext,
): { name: string; dataStart: number; size: number } {
  if (!bytes || bytes.length < arHeaderSize) {
    throw debError(context, 'DEB_MALFORMED', `truncated ar header at offset ${offset}`);
  }
  const header = bytes.toString('latin1', 0, arHeaderSize);
  const name = header.slice(0, 16).trimEnd().replace(/\/$/, '');
  if (header.slice(58, 60) !== '`\n') {
    throw debError(
      context,
      'DEB_MALFORMED',
      `ar member ${JSON.stringify(name)} at offset ${offset} has a bad header`,
    );
  }
  const sizeText = header.slice(48, 58).trimEnd();
  if (!/^[0-9]{1,10}$/.test(sizeText)) {
    throw debError(
      context,
      'DEB_MALFORMED',
      `ar member ${name} at offset ${offset} has size ${JSON.stringify(sizeText)}`,
    );
  }
  const size = Number(sizeText);
  const dataStart = offset + arHeaderSize;
  if (dataStart + size > total) {
    throw debError(
      context,
      'DEB_MALFORMED',
      `ar member ${name} at offset ${offset} declares ${size} bytes but only ${total - dataStart} remain`,
    );
  }
  return { name, dataStart, size };
}

/** deb(5): `debian-binary` first, then `control.tar*`, then `data.tar*`; `_`-prefixed members are ignored. */
function findDebMembers(buf: Buffer, context: DebContext): { control: ArMember; data: ArMember } {
  return pickDebMembers(readArMembers(buf, context), (format) => format.data.toString('latin1'), context);
}

/** The layout check on an archive's members, however they are held; `versionOf` reads debian-binary. */
function pickDebMembers<T extends { name: string }>(
  all: T[],
  versionOf: (format: T) => string,
  context: DebContext,
): { control: T; data: T } {
  const members = all.filter((member) => !member.name.startsWith('_'));
  const [format, control, data, extra] = members;
  if (format?.name !== 'debian-binary') {
    throw debError(
      context,
      'DEB_MALFORMED',
      `first ar member is ${format?.name ?? 'missing'}, expected debian-binary`,
    );
  }
  const version = versionOf(format);
  if (!/^2\.[0-9]+\n/.test(version)) {
    throw debError(
      context,
      'DEB_MALFORMED',
      `debian-binary is ${JSON.stringify(version)}, expected "2.0\\n"`,
    );
  }
  if (!control?.name.startsWith('control.tar')) {
    throw debError(
      context,
      'DEB_MALFORMED',
      `second ar member is ${control?.name ?? 'missing'}, expected control.tar*`,
    );
  }
  if (!data?.name.startsWith('data.tar')) {
    throw debError(
      context,
      'DEB_MALFORMED',
      `third ar member is ${data?.name ?? 'missing'}, expected data.tar*`,
    );
  }
  if (extra) {
    throw debError(context, 'DEB_MALFORMED', `unexpected ar member ${extra.name} after ${data.name}`);
  }
  return { control, data };
}

// ---------------------------------------------------------------------------------------------
// Decompression, bounded by maxTotalSize
// ---------------------------------------------------------------------------------------------

/** deb(5)'s member suffixes; dpkg also reads .bz2 and .lzma, which no current archive uses. */
function compressionOf(member: { name: string }, context: DebContext): Compression | 'none' {
  const suffix = member.name.replace(/^(control|data)\.tar/, '');
  switch (suffix) {
    case '':
      return 'none';
    case '.gz':
      return 'gzip';
    case '.xz':
      return 'xz';
    case '.zst':
      return 'zstd';
    case '.bz2':
    case '.lzma':
      throw debError(context, 'DEB_MALFORMED', `${member.name} uses a compression herd does not support`);
    default:
      throw debError(
        context,
        'DEB_MALFORMED',
        `unknown member ${member.name}, expected a .tar, .gz, .xz or .zst`,
      );
  }
}

/** How many bytes the member may decompress to: the control.tar is read whole, so it gets less. */
function sizeLimitOf(member: Pick<DebMember, 'name'>, context: DebContext): number {
  return member.name.startsWith('control.tar') ? context.limits.maxControlSize : context.limits.maxTotalSize;
}

/** A plain tar member is held to the same limit as a decompressed one. */
function checkPlainSize(member: Pick<DebMember, 'name'>, size: number, context: DebContext): void {
  const limit = sizeLimitOf(member, context);
  if (size > limit) {
    throw debError(
      context,
      'DEB_TOO_LARGE',
      `${member.name} is ${size} bytes, over the limit of ${limit} bytes`,
    );
  }
}

/** The decoder's errors, said about this .deb: a bomb is DECOMPRESSED_TOO_LARGE, bad data DEB_MALFORMED. */
function asDebError(error: unknown, context: DebContext): unknown {
  if (!(error instanceof OciError)) return error;
  const code = error.code === 'DECOMPRESSED_TOO_LARGE' ? 'DECOMPRESSED_TOO_LARGE' : 'DEB_MALFORMED';
  return debError(context, code, error.message, error);
}

async function decompressMember(member: DebMember, context: DebContext): Promise<Buffer> {
  if (member.compression === 'none') {
    checkPlainSize(member, member.bytes.length, context);
    return member.bytes;
  }
  try {
    return await decompressToBuffer(member.bytes, {
      compression: member.compression,
      name: member.name,
      maxBytes: sizeLimitOf(member, context),
    });
  } catch (error) {
    throw asDebError(error, context);
  }
}

/**
 * One member's tar, chunk by chunk, for a caller that writes it somewhere rather than holding it
 * (the build's unpacked cache). Within maxTotalSize; failures are DebianErrors naming the .deb.
 */
export async function* debMemberChunks(
  member: DebMember | DebFileMember,
  options: ReadDebOptions,
): AsyncGenerator<Buffer> {
  const context: DebContext = { name: options.name, limits: { ...defaultDebLimits, ...options.limits } };
  const inMemory = 'bytes' in member;
  if (member.compression === 'none') {
    checkPlainSize(member, inMemory ? member.bytes.length : member.size, context);
    if (inMemory) yield member.bytes;
    else yield* fileRange(member, context);
    return;
  }
  const stored = inMemory ? member.bytes : fileRange(member, context);
  try {
    yield* decompressChunks(stored, {
      compression: member.compression,
      name: member.name,
      maxBytes: sizeLimitOf(member, context),
    });
  } catch (error) {
    throw asDebError(error, context);
  }
}

/** A member's bytes as stored, read from its file in 256 KiB chunks. */
async function* fileRange(member: DebFileMember, context: DebContext): AsyncGenerator<Buffer> {
  if (member.size === 0) return;
  const stream = member.file.createReadStream({
    start: member.offset,
    end: member.offset + member.size - 1,
    highWaterMark: 256 * 1024,
    autoClose: false,
  });
  let read = 0;
  for await (const chunk of stream) {
    read += (chunk as Buffer).length;
    yield chunk as Buffer;
  }
  // A file cut short after its headers were read (it shrank): the member is incomplete.
  if (read !== member.size) {
    throw debError(
      context,
      'DEB_MALFORMED',
      `${member.name}: got ${read} of its ${member.size} bytes from the file`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// The tar members
// ---------------------------------------------------------------------------------------------

function tarEntriesOf(tar: Buffer, where: { member: string; context: DebContext }): TarReadEntry[] {
  try {
    return readTar(tar, where.context.limits);
  } catch (error) {
    if (!(error instanceof OciError)) throw error;
    const code = error.code === 'TAR_TOO_LARGE' ? 'DEB_TOO_LARGE' : 'DEB_MALFORMED';
    throw debError(where.context, code, `${where.member}: ${error.message}`, error);
  }
}

const controlFileNames = ['control', 'md5sums', 'conffiles', 'preinst', 'postinst'] as const;

/** Only the files herd uses; maintainer scripts and triggers are never run, so never read. */
function readControlMember(entries: TarReadEntry[], context: DebContext): Omit<DebContents, 'files'> {
  const texts = new Map<string, string>();
  for (const entry of entries) {
    const normalized = normalizeArchivePath(entry.path);
    if (normalized.kind !== 'ok' || !(controlFileNames as readonly string[]).includes(normalized.path)) {
      continue;
    }
    if (entry.type !== 'file' || !entry.data) {
      throw debError(
        context,
        'DEB_MALFORMED',
        `control.tar entry ${entry.path} is a ${entry.type}, expected a file`,
      );
    }
    texts.set(normalized.path, entry.data.toString('utf8'));
  }
  const control = texts.get('control');
  if (control === undefined) throw debError(context, 'DEB_MALFORMED', 'control.tar has no control file');
  const contents: Omit<DebContents, 'files'> = { control };
  const md5sums = texts.get('md5sums');
  const conffiles = texts.get('conffiles');
  if (md5sums !== undefined) contents.md5sums = md5sums;
  if (conffiles !== undefined) contents.conffiles = conffiles;
  // Never run: read so that the build can do declaratively what they would have done.
  const preinst = texts.get('preinst');
  const postinst = texts.get('postinst');
  if (preinst !== undefined) contents.preinst = preinst;
  if (postinst !== undefined) contents.postinst = postinst;
  return contents;
}

/**
 * Checks each data.tar entry as dpkg would before it touches the disk, and stricter: herd's image
 * may hold only files, directories and links that stay inside the root.
 */
function readDataFiles(entries: TarReadEntry[], context: DebContext): DebFile[] {
  const files = new DataFiles(context);
  for (const entry of entries) files.add(entry, { data: entry.data ?? Buffer.alloc(0) });
  return files.files;
}

/** What a data.tar entry is, for the checks: readTar's entries and the stream's alike. */
type DataEntry = Pick<
  TarReadEntry,
  'path' | 'type' | 'mode' | 'uid' | 'gid' | 'size' | 'linkname' | 'typeflag'
>;

/** A regular file's bytes: held, or where they are in the tar and their hash. */
type DataContent = { data: Buffer } | { offset: number; sha256: string };

/** The data.tar's files in order, each checked as it is added (paths, types, links). */
class DataFiles {
  readonly files: DebFile[] = [];
  private readonly regularFiles = new Map<string, DebFile>();
  private readonly symlinks = new Set<string>();

  constructor(private readonly context: DebContext) {}

  /** Throws DEB_UNSAFE_PATH or DEB_UNSAFE_ENTRY for an entry herd would not put in an image. */
  add(entry: DataEntry, content: DataContent | undefined): void {
    const { context, files, regularFiles, symlinks } = this;
    const refuse = (code: DebianErrorCode, why: string) =>
      debError(context, code, `data.tar entry ${entry.path} ${why}`);
    const normalized = normalizeArchivePath(entry.path);
    if (normalized.kind === 'rejected') {
      if (normalized.reason === 'empty' && entry.type === 'dir') return; // the root, `./`
      throw refuse('DEB_UNSAFE_PATH', rejectionReason(normalized));
    }
    const path = normalized.path;
    const throughLink = symlinks.size > 0 ? symlinkAncestor(path, symlinks) : undefined;
    if (throughLink !== undefined) {
      throw refuse('DEB_UNSAFE_ENTRY', `lies under ${throughLink}, a symlink in the same package`);
    }
    const base = { path, mode: entry.mode, uid: entry.uid, gid: entry.gid };
    if (entry.type !== 'symlink') symlinks.delete(path);
    if (entry.type !== 'file' && entry.type !== 'hardlink') regularFiles.delete(path);
    switch (entry.type) {
      case 'dir':
        files.push({ ...base, type: 'dir', size: 0 });
        break;
      case 'file': {
        const file: DebFile = {
          ...base,
          type: 'file',
          size: entry.size,
          ...(content ?? { data: Buffer.alloc(0) }),
        };
        files.push(file);
        regularFiles.set(path, file);
        break;
      }
      case 'symlink': {
        const target = entry.linkname ?? '';
        if (target === '' || target.includes('\0')) {
          throw refuse('DEB_UNSAFE_ENTRY', 'is a symlink with an empty target');
        }
        if (symlinkEscapes(path, target)) {
          throw refuse('DEB_UNSAFE_ENTRY', `is a symlink to ${target}, which climbs above the root`);
        }
        files.push({ ...base, type: 'symlink', size: 0, linkname: target });
        symlinks.add(path);
        break;
      }
      case 'hardlink': {
        const target = normalizeArchivePath(entry.linkname ?? '');
        const targetFile = target.kind === 'ok' ? regularFiles.get(target.path) : undefined;
        if (target.kind !== 'ok' || !targetFile) {
          const why = `is a hardlink to ${entry.linkname}, expected a regular file earlier in the package`;
          throw refuse('DEB_UNSAFE_ENTRY', why);
        }
        const link: DebFile = { ...base, type: 'hardlink', size: targetFile.size, linkname: target.path };
        if (targetFile.data) link.data = targetFile.data;
        if (targetFile.offset !== undefined) link.offset = targetFile.offset;
        if (targetFile.sha256 !== undefined) link.sha256 = targetFile.sha256;
        files.push(link);
        regularFiles.set(path, link);
        break;
      }
      case 'char':
      case 'block':
      case 'fifo':
      case 'unknown':
        throw refuse(
          'DEB_UNSAFE_ENTRY',
          `is a ${entry.type} entry (typeflag ${JSON.stringify(entry.typeflag)}), expected a file, directory or link`,
        );
    }
  }
}

/**
 * The data.tar read as a stream, as readDebTars reads it whole, with the same checks and codes:
 * no file's bytes are held. Each regular file is recorded by where its bytes are in the tar and
 * their sha256, so that the build reads them from the tar on disk and checks them as it does.
 */
export async function readDataTarStream(
  tar: AsyncIterable<Buffer>,
  options: ReadDebOptions & { member: string },
): Promise<DebFile[]> {
  const context: DebContext = { name: options.name, limits: { ...defaultDebLimits, ...options.limits } };
  const files = new DataFiles(context);
  try {
    const items = readTarStream(tar, { maxEntries: context.limits.maxEntries, unsafePaths: 'yield' });
    for await (const { entry, content, rawPath, dataOffset, typeflag } of items) {
      const raw = { ...entry, path: rawPath, typeflag };
      if (entry.type !== 'file') {
        files.add(raw, undefined);
        continue;
      }
      if (entry.size > context.limits.maxEntrySize) {
        throw debError(
          context,
          'DEB_TOO_LARGE',
          `${options.member}: tar entry ${rawPath} is ${entry.size} bytes, over the limit of ${context.limits.maxEntrySize} bytes`,
        );
      }
      // Checked before its bytes are read: an unsafe path stops the package at once.
      files.add(raw, { offset: dataOffset, sha256: '' });
      const hash = createHash('sha256');
      for await (const chunk of content) hash.update(chunk);
      const file = files.files[files.files.length - 1] as DebFile;
      file.sha256 = hash.digest('hex');
    }
  } catch (error) {
    if (error instanceof DebianError || !(error instanceof OciError)) throw error;
    if (error.code === 'DECOMPRESSED_TOO_LARGE') throw asDebError(error, context);
    const code = error.code === 'TAR_TOO_LARGE' ? 'DEB_TOO_LARGE' : 'DEB_MALFORMED';
    throw debError(context, code, `${options.member}: ${error.message}`, error);
  }
  return files.files;
}

/** The first ancestor of `path` that the package itself made a symlink, if any. */
function symlinkAncestor(path: string, symlinks: Set<string>): string | undefined {
  for (let slash = path.indexOf('/'); slash >= 0; slash = path.indexOf('/', slash + 1)) {
    const ancestor = path.slice(0, slash);
    if (symlinks.has(ancestor)) return ancestor;
  }
  return undefined;
}
