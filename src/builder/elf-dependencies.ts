/**
 * What the kernel and ld.so need to start an ELF program: its interpreter (PT_INTERP) and the
 * libraries its dynamic section names (DT_NEEDED), with its own search paths (DT_RUNPATH, else
 * DT_RPATH). Pure: reads the bytes, follows nothing.
 * Format: the System V gABI (https://refspecs.linuxfoundation.org/elf/gabi4+/contents.html).
 */

export interface ElfDependencies {
  /** `/lib64/ld-linux-x86-64.so.2`; absent for a static program. */
  interpreter?: string;
  /** DT_NEEDED sonames, in order. */
  needed: string[];
  /** DT_RUNPATH, or DT_RPATH when there is no RUNPATH, split on `:`; `$ORIGIN` left as is. */
  runpath: string[];
}

export class ElfFormatError extends Error {}

/**
 * Random access to a file's bytes: a Buffer, or a file on disk read page by page (file-content.ts),
 * so a 50 MB library is read for its headers and dynamic section, not whole.
 */
export interface ByteView {
  length: number;
  slice(start: number, end: number): Buffer;
}

function viewOf(data: Buffer | ByteView): ByteView {
  return Buffer.isBuffer(data)
    ? { length: data.length, slice: (start, end) => data.subarray(start, end) }
    : data;
}

const elfMagic = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);
const ptLoad = 1;
const ptDynamic = 2;
const ptInterp = 3;
const dtNull = 0;
const dtNeeded = 1;
const dtStrtab = 5;
const dtRpath = 15;
const dtRunpath = 29;

export function isElf(data: Buffer | ByteView): boolean {
  return data.length >= 4 && viewOf(data).slice(0, 4).equals(elfMagic);
}

/** Reads an ELF file's dependencies; throws ElfFormatError on anything truncated or inconsistent. */
export function readElfDependencies(bytes: Buffer | ByteView): ElfDependencies {
  const view = viewOf(bytes);
  if (!isElf(view)) throw new ElfFormatError('expected an ELF file (\\x7fELF), got other bytes');
  const ident = view.slice(0, 6);
  const wide = ident[4] === 2;
  if (ident[4] !== 1 && ident[4] !== 2) throw new ElfFormatError(`ELF class ${ident[4]}: expected 1 or 2`);
  const little = ident[5] === 1;
  if (ident[5] !== 1 && ident[5] !== 2)
    throw new ElfFormatError(`ELF data encoding ${ident[5]}: expected 1 or 2`);
  const reader = fieldReader(view, { wide, little });

  const phoff = reader.word(wide ? 0x20 : 0x1c);
  const phentsize = reader.u16(wide ? 0x36 : 0x2a);
  const phnum = reader.u16(wide ? 0x38 : 0x2c);
  const headers = [];
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    headers.push(
      wide
        ? {
            type: reader.u32(at),
            offset: reader.word(at + 0x08),
            vaddr: reader.word(at + 0x10),
            filesz: reader.word(at + 0x20),
          }
        : {
            type: reader.u32(at),
            offset: reader.word(at + 0x04),
            vaddr: reader.word(at + 0x08),
            filesz: reader.word(at + 0x10),
          },
    );
  }

  const result: ElfDependencies = { needed: [], runpath: [] };
  const interp = headers.find((h) => h.type === ptInterp);
  if (interp) result.interpreter = reader.cString(interp.offset, interp.offset + interp.filesz);

  const dynamic = headers.find((h) => h.type === ptDynamic);
  if (!dynamic) return result;
  const entrySize = wide ? 16 : 8;
  const entries: { tag: number; value: number }[] = [];
  for (let at = dynamic.offset; at + entrySize <= dynamic.offset + dynamic.filesz; at += entrySize) {
    const tag = reader.word(at);
    if (tag === dtNull) break;
    entries.push({ tag, value: reader.word(at + entrySize / 2) });
  }
  const strtab = entries.find((e) => e.tag === dtStrtab);
  if (!strtab) throw new ElfFormatError('the dynamic section has no string table (DT_STRTAB)');
  // DT_STRTAB is an address: the loadable segment that maps it gives its place in the file.
  const load = headers.find(
    (h) => h.type === ptLoad && strtab.value >= h.vaddr && strtab.value < h.vaddr + h.filesz,
  );
  if (!load)
    throw new ElfFormatError(`no loadable segment maps the string table at 0x${strtab.value.toString(16)}`);
  const strings = strtab.value - load.vaddr + load.offset;
  const text = (offset: number) => reader.cString(strings + offset, view.length);
  result.needed = entries.filter((e) => e.tag === dtNeeded).map((e) => text(e.value));
  const runpath = entries.find((e) => e.tag === dtRunpath) ?? entries.find((e) => e.tag === dtRpath);
  if (runpath) result.runpath = text(runpath.value).split(':').filter(Boolean);
  return result;
}

/** Longest string read: a soname or a run path, never near this. */
const maxStringBytes = 64 * 1024;

function fieldReader(data: ByteView, format: { wide: boolean; little: boolean }) {
  const check = (at: number, size: number) => {
    if (at < 0 || at + size > data.length) {
      throw new ElfFormatError(`truncated: a field at byte ${at} runs past the file's ${data.length} bytes`);
    }
    return data.slice(at, at + size);
  };
  const u16 = (at: number) => {
    const field = check(at, 2);
    return format.little ? field.readUInt16LE(0) : field.readUInt16BE(0);
  };
  const u32 = (at: number) => {
    const field = check(at, 4);
    return format.little ? field.readUInt32LE(0) : field.readUInt32BE(0);
  };
  const u64 = (at: number) => {
    const field = check(at, 8);
    const value = format.little ? field.readBigUInt64LE(0) : field.readBigUInt64BE(0);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new ElfFormatError(`a field at byte ${at} holds ${value}, beyond what a file this size can use`);
    }
    return Number(value);
  };
  return {
    u16,
    u32,
    /** An address, offset or size: 8 bytes in a 64-bit file, 4 in a 32-bit one. */
    word: (at: number) => (format.wide ? u64(at) : u32(at)),
    cString(start: number, end: number) {
      check(start, 1);
      const bytes = data.slice(start, Math.min(end + 1, data.length, start + maxStringBytes));
      const stop = bytes.indexOf(0);
      if (stop < 0) throw new ElfFormatError(`a string at byte ${start} has no terminating NUL`);
      return bytes.subarray(0, stop).toString('utf8');
    },
  };
}
