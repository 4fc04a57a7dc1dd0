import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import type { Engine, InstanceSpec } from '../engines/engine.js';
import { MemoryEngine } from '../engines/memory/memory-engine.js';
import type { TarEntry } from '../oci/tar.js';
import { maxDebtPasses, WritableWatch } from './writable-watch.js';

const digest = `sha256:${'a'.repeat(64)}` as const;
const spec: InstanceSpec = {
  service: 'web',
  revision: 'r1',
  digest,
  imageRef: `127.0.0.1:5001/web@${digest}`,
  user: { uid: 65532, gid: 65532 },
  env: {},
  writable: ['/tmp'],
  resources: { memoryBytes: 64 << 20, nanoCpus: 500_000_000, pids: 64 },
  stopGraceSeconds: 5,
};
const fiftyMegabytes = Buffer.alloc(50 * 1024 * 1024, 0x61);

function file(path: string, data: Buffer, mode = 0o644): TarEntry {
  return { path, type: 'file', mode, uid: 65532, gid: 65532, size: data.length, mtime: 1_700_000_000, data };
}

/** Each `readPath` of the engine, with the bytes its reader actually pulled from the stream. */
interface Read {
  path: string;
  bytes: number;
}

/** The memory engine, with every `readPath` counted; `listPath` removed to stand for an engine that cannot list. */
function countingEngine(
  engine: MemoryEngine,
  options: { canList: boolean },
): { engine: Engine; reads: Read[] } {
  const reads: Read[] = [];
  const counted: Engine = Object.create(engine);
  counted.readPath = async (id, path, readOptions) => {
    const read = { path, bytes: 0 };
    reads.push(read);
    const stream = await engine.readPath(id, path, readOptions);
    stream.on('data', (chunk: Buffer) => {
      read.bytes += chunk.length;
    });
    return stream;
  };
  if (!options.canList) counted.listPath = undefined;
  return { engine: counted, reads };
}

describe('WritableWatch on the memory engine', () => {
  let memory: MemoryEngine;
  let id: string;

  beforeEach(async () => {
    memory = new MemoryEngine();
    await memory.ensureImage(spec);
    id = (await memory.create(spec)).id;
    memory.plantFile(id, { path: 'tmp', type: 'dir', mode: 0o1777, uid: 0, gid: 0, size: 0, mtime: 0 });
  });

  it('reads the first bytes of a 50 MB file once, not at every pass, and never the rest of it', async () => {
    memory.plantFile(id, file('tmp/big.dat', fiftyMegabytes));
    const { engine, reads } = countingEngine(memory, { canList: true });
    const watch = new WritableWatch({ engine });

    const passes = [];
    for (let pass = 0; pass < 5; pass++) passes.push(await watch.check(id, ['/tmp']));

    assert.deepEqual(
      passes.map((pass) => pass.looks),
      [['/tmp/big.dat'], [], [], [], []],
    );
    assert.deepEqual(
      reads.map((read) => read.path),
      ['/tmp/big.dat'],
    );
    assert.ok(reads[0]!.bytes <= 128 * 1024, `the look pulled ${reads[0]!.bytes} bytes`);
    assert.ok(passes.every((pass) => pass.listed && pass.findings.length === 0));
    assert.ok(
      passes.slice(1).every((pass) => pass.spentBytes <= 4 * 1024),
      'later passes only list',
    );
  });

  it('looks again at a file that changed, and finds a program written over data', async () => {
    memory.plantFile(id, file('tmp/cache.bin', Buffer.from('plain data')));
    const watch = new WritableWatch({ engine: memory });
    const first = await watch.check(id, ['/tmp']);

    const program = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]), Buffer.alloc(57)]);
    program.writeUInt16LE(2, 16);
    memory.plantFile(id, file('tmp/cache.bin', program));
    const second = await watch.check(id, ['/tmp']);

    assert.deepEqual(first.looks, ['/tmp/cache.bin']);
    assert.deepEqual(first.findings, []);
    assert.deepEqual(
      second.findings.map((finding) => [finding.path, finding.reason]),
      [['/tmp/cache.bin', 'ELF program in writable /tmp']],
    );
  });

  it('carries content looks over the budget to the next passes, in the order the files appeared, skipping none', async () => {
    const paths = Array.from({ length: 10 }, (_, index) => `/tmp/part-${index}`);
    for (const [index, path] of paths.entries()) {
      // The ninth is a script without its execute bit: only its content gives it away.
      const data = index === 8 ? Buffer.from('#!/bin/sh\nmine\n') : Buffer.alloc(100 * 1024, 0x62);
      memory.plantFile(id, file(path, data));
    }
    const { engine, reads } = countingEngine(memory, { canList: true });
    // Room for about three looks of one 64 KiB chunk each, after the listing.
    const watch = new WritableWatch({ engine, budgetBytes: 200 * 1024 });

    const passes = [];
    for (let pass = 0; pass < 4; pass++) passes.push(await watch.check(id, ['/tmp']));

    assert.deepEqual(
      passes.map((pass) => pass.looks),
      // The script is small, so its look leaves room for the last file in the same pass.
      [paths.slice(0, 3), paths.slice(3, 6), paths.slice(6, 10), []],
    );
    assert.deepEqual(
      passes.map((pass) => pass.pending),
      [7, 4, 0, 0],
    );
    assert.deepEqual(
      passes.map((pass) => pass.findings.map((finding) => `${finding.path}: ${finding.reason}`)),
      [[], [], ['/tmp/part-8: script (#!) in writable /tmp'], []],
    );
    assert.ok(passes.every((pass) => pass.spentBytes <= 200 * 1024 + 64 * 1024 + 512));
    assert.equal(new Set(reads.map((read) => read.path)).size, reads.length, 'no file was read twice');
  });

  it('finds a new executable in the pass that first lists it, while content looks still wait', async () => {
    for (let index = 0; index < 20; index++) {
      memory.plantFile(id, file(`tmp/part-${index}`, Buffer.alloc(100 * 1024)));
    }
    const watch = new WritableWatch({ engine: memory, budgetBytes: 200 * 1024 });
    const before = await watch.check(id, ['/tmp']);

    memory.plantFile(id, file('tmp/miner', Buffer.from('\x7fELF…'), 0o755));
    const after = await watch.check(id, ['/tmp']);

    assert.deepEqual(before.findings, []);
    assert.ok(before.pending > 10, `${before.pending} files wait for their look`);
    assert.deepEqual(
      after.findings.map((finding) => [finding.path, finding.reason]),
      [['/tmp/miner', 'executable in writable /tmp']],
    );
  });

  it('forgets a file that is gone before its turn, and looks at no other file twice', async () => {
    memory.plantFile(id, file('tmp/a', Buffer.alloc(100 * 1024)));
    memory.plantFile(id, file('tmp/b', Buffer.alloc(100 * 1024)));
    memory.plantFile(id, file('tmp/c', Buffer.alloc(100 * 1024)));
    const { engine, reads } = countingEngine(memory, { canList: true });
    const watch = new WritableWatch({ engine, budgetBytes: 64 * 1024 });
    await watch.check(id, ['/tmp']);

    memory.plantChange(id, { path: '/tmp/b', kind: 'deleted' });
    await watch.check(id, ['/tmp']);
    const last = await watch.check(id, ['/tmp']);

    assert.deepEqual(
      reads.map((read) => read.path),
      ['/tmp/a', '/tmp/c'],
    );
    assert.equal(last.pending, 0);
  });

  it('lists through the archive when the engine cannot list, and puts off a costly listing for at most a few passes', async () => {
    memory.plantFile(id, file('tmp/big.dat', fiftyMegabytes));
    const { engine, reads } = countingEngine(memory, { canList: false });
    const watch = new WritableWatch({ engine, budgetBytes: 4 * 1024 * 1024 });

    const first = await watch.check(id, ['/tmp']);
    memory.plantFile(id, file('tmp/miner', Buffer.from('#!/bin/sh\n'), 0o755));
    const passes = [first];
    while (passes.length < maxDebtPasses + 3 && passes.at(-1)!.findings.length === 0) {
      passes.push(await watch.check(id, ['/tmp']));
    }

    assert.ok(
      first.spentBytes >= fiftyMegabytes.length,
      `the archive listing cost ${first.spentBytes} bytes`,
    );
    assert.deepEqual(
      passes.map((pass) => pass.listed),
      [true, ...Array.from({ length: maxDebtPasses }, () => false), true],
    );
    assert.deepEqual(
      passes.at(-1)!.findings.map((finding) => finding.reason),
      ['executable in writable /tmp'],
    );
    assert.equal(reads.filter((read) => read.path === '/tmp').length, 2, 'two listings in twelve passes');
  });

  it('still looks at new files when listing thousands of small files costs the whole budget', async () => {
    // An intruder's cover: 5,000 one-byte files (well under the entry cap) make every listing cost
    // more than a pass's budget; a script without its execute bit is then found only by a look.
    for (let index = 0; index < 5000; index++) memory.plantFile(id, file(`tmp/f-${index}`, Buffer.from('x')));
    const watch = new WritableWatch({ engine: memory });
    for (let pass = 0; pass < 3; pass++) await watch.check(id, ['/tmp']);

    memory.plantFile(id, file('tmp/stage', Buffer.from('#!/bin/sh\nmine\n')));
    const found: string[] = [];
    for (let pass = 0; pass < 15 && found.length === 0; pass++) {
      const { findings } = await watch.check(id, ['/tmp']);
      found.push(...findings.map((finding) => `${finding.path}: ${finding.reason}`));
    }

    assert.deepEqual(found, ['/tmp/stage: script (#!) in writable /tmp']);
  });

  it('finds a script without its execute bit renamed after it was written, and one written beside a file rewritten at every pass', async () => {
    memory.plantFile(id, file('tmp/log', Buffer.alloc(100 * 1024, 0x61)));
    const watch = new WritableWatch({ engine: memory, budgetBytes: 200 * 1024 });
    await watch.check(id, ['/tmp']);

    const found: string[] = [];
    for (let pass = 0; pass < 4; pass++) {
      // The log changes every 100 ms: it is new to every pass.
      memory.plantFile(id, {
        ...file('tmp/log', Buffer.alloc(100 * 1024, 0x61 + pass)),
        mtime: 1_700_000_001 + pass,
      });
      if (pass === 0) memory.plantFile(id, file('tmp/.x', Buffer.from('#!/bin/sh\nmine\n')));
      if (pass === 1) {
        memory.plantChange(id, { path: '/tmp/.x', kind: 'deleted' });
        memory.plantFile(id, file('tmp/stage', Buffer.from('#!/bin/sh\nmine\n')));
      }
      const { findings } = await watch.check(id, ['/tmp']);
      found.push(...findings.map((finding) => `${pass}: ${finding.path}`));
    }

    assert.deepEqual(found, ['0: /tmp/.x', '1: /tmp/stage']);
  });

  it('through the archive, finds data rewritten as a #! script of the same size with its mtime put back', async () => {
    // The archive knows no inode or ctime: size, mode and mtime are all an intruder must keep.
    const data = Buffer.alloc(64, 0x61);
    const script = Buffer.concat([Buffer.from('#!/bin/sh\nmine\n'), Buffer.alloc(64 - 15, 0x23)]);
    memory.plantFile(id, file('tmp/notes', data));
    const { engine } = countingEngine(memory, { canList: false });
    const watch = new WritableWatch({ engine });
    const first = await watch.check(id, ['/tmp']);

    memory.plantFile(id, file('tmp/notes', script));
    const second = await watch.check(id, ['/tmp']);

    assert.deepEqual(first.findings, []);
    assert.deepEqual(
      second.findings.map((finding) => [finding.path, finding.reason]),
      [['/tmp/notes', 'script (#!) in writable /tmp']],
    );
  });

  it('replaces an instance whose writable path holds more entries than herd watches', async () => {
    for (let index = 0; index < 6; index++) memory.plantFile(id, file(`tmp/f-${index}`, Buffer.from('x')));
    const watch = new WritableWatch({ engine: memory, maxEntries: 5 });

    const pass = await watch.check(id, ['/tmp']);

    assert.deepEqual(
      pass.findings.map((finding) => [finding.path, finding.reason]),
      [['/tmp', 'more than 5 entries in writable /tmp, more than herd watches']],
    );
  });

  it('finds nothing to judge under a writable path the instance does not have', async () => {
    const watch = new WritableWatch({ engine: memory });

    const pass = await watch.check(id, ['/var/cache/app']);

    assert.deepEqual(pass.findings, []);
    assert.equal(pass.listed, true);
  });
});
