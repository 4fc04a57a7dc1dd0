import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { judgeWritableContent } from './writable-content.js';

/** A little-endian ELF64 header with program headers of the given types right after it. */
function elf64(type: number, programTypes: number[]): Buffer {
  const header = Buffer.alloc(64 + programTypes.length * 56);
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]).copy(header);
  header.writeUInt16LE(type, 16);
  header.writeUInt16LE(62, 18);
  header.writeBigUInt64LE(64n, 32);
  header.writeUInt16LE(64, 52);
  header.writeUInt16LE(56, 54);
  header.writeUInt16LE(programTypes.length, 56);
  for (const [index, programType] of programTypes.entries())
    header.writeUInt32LE(programType, 64 + index * 56);
  return header;
}

const load = 1;
const dynamic = 2;
const interpreter = 3;

describe('judgeWritableContent', () => {
  it('finds a script by its #! line, whatever its mode says', () => {
    assert.equal(
      judgeWritableContent(Buffer.from('#!/bin/sh\necho mining\n'), '/tmp'),
      'script (#!) in writable /tmp',
    );
  });

  it('finds a static executable and a position-independent one that names an interpreter', () => {
    assert.equal(judgeWritableContent(elf64(2, [load]), '/tmp'), 'ELF program in writable /tmp');
    assert.equal(
      judgeWritableContent(elf64(3, [interpreter, load, dynamic]), '/var/cache/app'),
      'ELF program in writable /var/cache/app',
    );
  });

  it('leaves a shared library and an object file alone', () => {
    assert.equal(judgeWritableContent(elf64(3, [load, dynamic]), '/tmp'), undefined);
    assert.equal(judgeWritableContent(elf64(1, []), '/tmp'), undefined);
  });

  it('counts an ELF header it cannot read, or whose program headers lie beyond the bytes read, as a program', () => {
    assert.equal(
      judgeWritableContent(Buffer.from('\x7fELF pretend this is a miner', 'latin1'), '/tmp'),
      'ELF program in writable /tmp',
    );
    const far = elf64(3, [load]);
    far.writeBigUInt64LE(1n << 20n, 32);
    assert.equal(judgeWritableContent(far, '/tmp'), 'ELF program in writable /tmp');
    assert.equal(
      judgeWritableContent(elf64(3, [load]).subarray(0, 40), '/tmp'),
      'ELF program in writable /tmp',
    );
  });

  it('leaves data alone: text, zeros, a file that merely mentions #! later on', () => {
    for (const data of ['{"cache":true}\n', ' #!/bin/sh\n', '', '\x7fEL']) {
      assert.equal(
        judgeWritableContent(Buffer.from(data, 'latin1'), '/tmp'),
        undefined,
        JSON.stringify(data),
      );
    }
    assert.equal(judgeWritableContent(Buffer.alloc(4096), '/tmp'), undefined);
  });
});
