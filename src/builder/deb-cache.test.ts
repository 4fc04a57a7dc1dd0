import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { buildDeb, fileEntry } from '../../test/fixtures/deb-builder.js';
import { UnpackedDebCache } from './deb-cache.js';
import type { LockedPackage } from './lock-file.js';

const name = 'fixture_1.0_amd64.deb';

async function fixture() {
  const home = await mkdtemp(join(tmpdir(), 'herd-unpacked-'));
  const deb = await buildDeb({ files: [fileEntry('./usr/bin/tool', '#!/bin/sh\necho ok\n', 0o755)] });
  const pkg: LockedPackage = {
    name: 'fixture',
    version: '1.0',
    architecture: 'amd64',
    source: 'fixture',
    sourceVersion: '1.0',
    suite: 'test',
    filename: 'pool/main/f/fixture/fixture_1.0_amd64.deb',
    size: deb.length,
    sha256: createHash('sha256').update(deb).digest('hex'),
    reason: 'requested',
  };
  const open = () =>
    new UnpackedDebCache(join(home, 'cache', 'unpacked'), { sealKey: join(home, 'keys', 'seal') });
  const base = join(home, 'cache', 'unpacked', pkg.sha256);
  return { home, deb, pkg, open, base };
}

/** The attack: other bytes in data.tar, and the record beside it redone to match them. */
async function plantData(base: string, planted: Buffer): Promise<void> {
  await writeFile(`${base}.data.tar`, planted);
  const record = JSON.parse(await readFile(`${base}.json`, 'utf8'));
  record.data = {
    ...record.data,
    size: planted.length,
    sha256: createHash('sha256').update(planted).digest('hex'),
  };
  await writeFile(`${base}.json`, JSON.stringify(record));
}

describe('UnpackedDebCache', () => {
  it('gives back what it unpacked, from a new process, once the seal verifies', async () => {
    const { deb, pkg, open } = await fixture();
    const unpacked = await open().unpack(pkg, deb, { name });

    const found = await open().get(pkg, { name });

    assert.equal(found.kind, 'hit');
    assert.deepEqual(found.kind === 'hit' && found.unpacked, unpacked);
    assert.equal(found.kind === 'hit' && found.unpacked.dataMember, 'data.tar.xz');
  });

  it('keeps no file bytes in memory: each file is an offset in data.tar and its sha256', async () => {
    const { deb, pkg, open } = await fixture();

    const unpacked = await open().unpack(pkg, deb, { name });

    const tool = unpacked.files.find((file) => file.path === 'usr/bin/tool');
    const tar = await readFile(unpacked.dataTar);
    const content = '#!/bin/sh\necho ok\n';
    assert.equal(tool?.data, undefined);
    assert.equal(tar.toString('utf8', tool?.offset, (tool?.offset ?? 0) + content.length), content);
    assert.equal(tool?.sha256, createHash('sha256').update(content).digest('hex'));
  });

  it('does not trust a tar whose record was redone to match it', async () => {
    const { deb, pkg, open, base } = await fixture();
    const unpacked = await open().unpack(pkg, deb, { name });
    const tar = await readFile(unpacked.dataTar);
    await plantData(base, Buffer.from(tar.toString('latin1').replace('echo ok', 'echo no'), 'latin1'));

    const found = await open().get(pkg, { name });

    assert.deepEqual(found, { kind: 'untrusted', reason: "its record does not carry herd's seal" });
  });

  it('does not trust a tar edited under an intact record, and does not read a swapped-in larger file', async () => {
    const { deb, pkg, open, base } = await fixture();
    await open().unpack(pkg, deb, { name });
    const data = await readFile(`${base}.data.tar`);
    data[600] = (data[600] ?? 0) ^ 1;
    await writeFile(`${base}.data.tar`, data);
    const edited = await open().get(pkg, { name });
    await truncate(`${base}.data.tar`, 10 * 1024 ** 3);

    const swapped = await open().get(pkg, { name });

    assert.equal(edited.kind, 'untrusted');
    assert.match(
      edited.kind === 'untrusted' ? edited.reason : '',
      /its data\.tar has sha256:[0-9a-f]{64}, sealed as/,
    );
    assert.equal(swapped.kind, 'untrusted');
    assert.match(
      swapped.kind === 'untrusted' ? swapped.reason : '',
      /its data\.tar is 10737418240 bytes, sealed as \d+/,
    );
  });

  it('does not trust a cache sealed under another key, as a copied or restored cache is', async () => {
    const { home, deb, pkg, open } = await fixture();
    await open().unpack(pkg, deb, { name });
    await rm(join(home, 'keys'), { recursive: true });

    const found = await open().get(pkg, { name });

    assert.equal(found.kind, 'untrusted');
  });

  it('takes an unsealed record (as herd wrote them before) for no entry at all', async () => {
    const { pkg, open, base, home } = await fixture();
    await mkdir(join(home, 'cache', 'unpacked'), { recursive: true });
    await writeFile(
      `${base}.json`,
      JSON.stringify({ controlMember: 'control.tar.xz', dataMember: 'data.tar.xz' }),
    );

    const found = await open().get(pkg, { name });

    assert.deepEqual(found, { kind: 'miss' });
  });

  it('stops a data member past the limit and leaves no file behind', async () => {
    const { pkg, open, home } = await fixture();
    const bomb = await buildDeb({ files: [fileEntry('./zeros', Buffer.alloc(3_000_000))] });

    await assert.rejects(
      open().unpack(pkg, bomb, { name: 'bomb.deb', limits: { maxTotalSize: 1_000_000 } }),
      {
        code: 'DECOMPRESSED_TOO_LARGE',
        message: /^bomb\.deb: data\.tar\.xz decompresses past its limit of 1000000 bytes/,
      },
    );
    const left = await readdir(join(home, 'cache', 'unpacked'));
    assert.deepEqual(
      left.filter((name) => !name.endsWith('.control.tar')),
      [],
    );
  });
});
