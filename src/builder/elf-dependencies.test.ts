import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ElfFormatError, readElfDependencies } from './elf-dependencies.js';

/** binutils' readelf is the oracle: what it says a real binary of this machine needs. */
function readelf(path: string) {
  const run = (flag: string) => {
    const result = spawnSync('readelf', ['-W', flag, path], { encoding: 'utf8' });
    assert.equal(
      result.status,
      0,
      `readelf is needed for this test (apt-get install binutils): ${result.stderr}`,
    );
    return result.stdout;
  };
  const dynamic = run('-d');
  return {
    interpreter: /Requesting program interpreter: ([^\]]+)\]/.exec(run('-l'))?.[1],
    needed: [...dynamic.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]),
    runpath:
      /\((?:RUNPATH|RPATH)\)\s+Library r(?:un)?path: \[([^\]]+)\]/.exec(dynamic)?.[1]?.split(':') ?? [],
  };
}

describe('readElfDependencies', () => {
  const binaries = ['/usr/bin/ls', '/usr/bin/true', '/usr/bin/gcc', '/usr/lib/x86_64-linux-gnu/libc.so.6'];
  for (const path of binaries) {
    it(`reads what readelf reads from ${path}`, () => {
      const expected = readelf(path);
      const read = readElfDependencies(readFileSync(path));

      assert.equal(read.interpreter, expected.interpreter);
      assert.deepEqual(read.needed, expected.needed);
      assert.deepEqual(read.runpath, expected.runpath);
      assert.ok(path.endsWith('.so.6') || read.needed.includes('libc.so.6'), 'a dynamic program needs libc');
    });
  }

  it('reads a static program as needing nothing', () => {
    // ldconfig is shipped static by libc-bin on Debian.
    const read = readElfDependencies(readFileSync('/usr/sbin/ldconfig'));

    assert.equal(read.interpreter, undefined);
    assert.deepEqual(read.needed, []);
  });

  it('refuses bytes that are not ELF, and a truncated ELF file, with what it read', () => {
    const ls = readFileSync('/usr/bin/ls');

    assert.throws(() => readElfDependencies(Buffer.from('#!/bin/sh\n')), ElfFormatError);
    assert.throws(
      () => readElfDependencies(ls.subarray(0, 100)),
      /truncated: a field at byte \d+ runs past the file's 100 bytes/,
    );
    const badClass = Buffer.from(ls);
    badClass[4] = 9;
    assert.throws(() => readElfDependencies(badClass), /ELF class 9: expected 1 or 2/);
  });
});
