/**
 * Pure: whether the first bytes of a file in a writable path are something staged to run. The
 * tmpfs is noexec, so an intruder does not need the execute bit: `sh /tmp/x` runs a script, and
 * an ELF program there waits to be copied where it can run. A shared library is left alone
 * (software unpacks its native libraries to /tmp, and noexec stops them loading anyway), and so is
 * every other kind of data: the workload's files are its own.
 */

/** Bytes a content look reads: the ELF header and, in any real program, its program headers. */
export const sniffBytes = 4096;

export function judgeWritableContent(head: Buffer, root: string): string | undefined {
  if (head.subarray(0, 2).toString('latin1') === '#!') return `script (#!) in writable ${root}`;
  if (head.subarray(0, 4).equals(elfMagic) && elfKind(head) === 'program') {
    return `ELF program in writable ${root}`;
  }
  return undefined;
}

const elfMagic = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);
const elfTypes = { executable: 2, shared: 3 } as const;
const programInterpreter = 3;

/**
 * `program`: an executable, a position-independent one (it names an interpreter), or a header
 * that does not parse or whose program headers lie beyond the bytes read. `other`: a shared
 * library, an object file, a core dump. ELF layout: the System V ABI, "ELF Header" and
 * "Program Header".
 */
function elfKind(head: Buffer): 'program' | 'other' {
  const wide = head[4] === 2;
  const little = head[5] === 1;
  if ((head[4] !== 1 && !wide) || (head[5] !== 1 && head[5] !== 2) || head.length < (wide ? 64 : 52)) {
    return 'program';
  }
  const half = (at: number) => (little ? head.readUInt16LE(at) : head.readUInt16BE(at));
  const word = (at: number) => (little ? head.readUInt32LE(at) : head.readUInt32BE(at));
  const type = half(16);
  if (type === elfTypes.executable) return 'program';
  if (type !== elfTypes.shared) return 'other';
  const phoff = wide ? Number(little ? head.readBigUInt64LE(32) : head.readBigUInt64BE(32)) : word(28);
  const phentsize = half(wide ? 54 : 42);
  const phnum = half(wide ? 56 : 44);
  if (phentsize < 4 || phoff + phentsize * phnum > head.length) return 'program';
  for (let index = 0; index < phnum; index++) {
    if (word(phoff + index * phentsize) === programInterpreter) return 'program';
  }
  return 'other';
}
