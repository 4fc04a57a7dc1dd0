/**
 * Endless data from a signed repository (an attacker holding the archive key): a .deb whose
 * data.tar.xz is 1.5 GB of zeros, and a Packages.xz that is 1.5 GB of zeros. The real CLI
 * refuses each with a message naming the file and the cap, and its peak memory (the process and
 * its decoder, as /usr/bin/time measures it) stays under 300 MB; in process, the code is
 * DECOMPRESSED_TOO_LARGE. The bombs are made on the fly, streamed, never held uncompressed.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { access, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { defaultDebLimits } from '../src/debian/deb.js';
import { maxIndexBytes } from '../src/debian/suite-index.js';
import { createAptRepo, type FixturePackage, type FixtureRepo } from './fixtures/apt-repo.js';
import { zerosBomb } from './fixtures/compression-bombs.js';
import { arArchive, compress, fileEntry, fixtureTar } from './fixtures/deb-builder.js';
import { freshHome, lockAndBuild, lockSpec, writeSpecDir } from './support/build-harness.js';
import { projectRoot } from './support/cli.js';

const bombBytes = 1_500_000_000;
const maxPeakBytes = 300_000_000;
const timeCommand = '/usr/bin/time';

function specText(repo: FixtureRepo): string {
  return `apiVersion: herd/v1
service: bombed
image:
  suite: bookworm
  packages: [bomb]
  repositories:
    - uri: ${repo.uri}
      suites: [test]
      keyring: ${repo.keyringPath}
run:
  entrypoint: [/usr/bin/bomb]
`;
}

/** base-files is locked into every image; a plain one keeps the repository resolvable. */
const baseFiles: FixturePackage = {
  name: 'base-files',
  version: '12.4',
  files: [{ path: 'usr/lib/os-release', content: 'ID=debian\n' }],
};

/** A .deb with a real control member and `data` as its data.tar.xz. */
async function debWithData(data: Buffer): Promise<Buffer> {
  const control = 'Package: bomb\nVersion: 1.0\nArchitecture: amd64\nDescription: zeros\n';
  return arArchive([
    { name: 'debian-binary', data: Buffer.from('2.0\n') },
    { name: 'control.tar.xz', data: await compress(fixtureTar([fileEntry('./control', control)]), 'xz') },
    { name: 'data.tar.xz', data },
  ]);
}

interface MeasuredRun {
  status: number | null;
  stderr: string;
  /** Peak resident memory of herd or any process it ran, in bytes. */
  peakBytes: number;
}

/** The real CLI under /usr/bin/time, without blocking this process (its repository serves meanwhile). */
async function measuredHerd(args: string[], options: { home: string }): Promise<MeasuredRun> {
  await access(timeCommand).catch(() => {
    throw new Error(`${timeCommand} is missing: install Debian's time package (scripts/setup.sh does)`);
  });
  const child = spawn(
    timeCommand,
    [
      '-f',
      'peak-rss-kib %M',
      process.execPath,
      '--import',
      'tsx',
      join(projectRoot, 'src/cli/main.ts'),
      ...args,
    ],
    { cwd: projectRoot, env: { ...process.env, HERD_HOME: options.home } },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const status = await new Promise<number | null>((resolve) => child.once('close', resolve));
  const peak = /peak-rss-kib (\d+)/.exec(stderr)?.[1];
  assert.ok(peak, `no peak memory from ${timeCommand}:\n${stderr}`);
  return { status, stderr, peakBytes: Number(peak) * 1024 };
}

function assertDecompressedTooLarge(thrown: unknown, mentions: RegExp): true {
  const error = thrown as { code?: string; message?: string };
  assert.equal(error.code, 'DECOMPRESSED_TOO_LARGE', error.message);
  assert.match(error.message ?? '', mentions);
  return true;
}

describe('decompression bombs from a signed repository', () => {
  const repos: FixtureRepo[] = [];

  after(async () => {
    for (const repo of repos) await repo.close();
  });

  describe('a .deb whose data.tar.xz is 1.5 GB of zeros', () => {
    let specDir: string;
    const refusal = new RegExp(
      `bomb_1\\.0\\.deb: data\\.tar\\.xz decompresses past its limit of ${defaultDebLimits.maxTotalSize} bytes`,
    );

    before(async () => {
      const rawDeb = await debWithData(await zerosBomb('xz', bombBytes));
      const repo = await createAptRepo({
        dir: await freshHome('herd-bomb-repo-'),
        suites: [{ name: 'test' }],
        packages: [baseFiles, { name: 'bomb', version: '1.0', rawDeb }],
      });
      repos.push(repo);
      specDir = await writeSpecDir({ 'herd.yaml': specText(repo) });
    });

    it('is refused by herd build in under 300 MB, with nothing half-written', async (t) => {
      const home = await freshHome();

      const run = await measuredHerd(['build', specDir], { home });

      assert.equal(run.status, 2, run.stderr);
      assert.match(run.stderr, refusal);
      t.diagnostic(`peak memory of herd and its decoder: ${(run.peakBytes / 1e6).toFixed(0)} MB`);
      assert.ok(
        run.peakBytes < maxPeakBytes,
        `peak memory ${run.peakBytes} bytes, expected under ${maxPeakBytes}`,
      );
      const unpacked = await readdir(join(home, 'cache', 'unpacked')).catch(() => []);
      assert.deepEqual(
        unpacked.filter((name) => name.includes('.tmp-')),
        [],
        'no temporary file is left behind',
      );
      const index = JSON.parse(await readFile(join(home, 'store', 'index.json'), 'utf8'));
      assert.deepEqual(index.manifests, []);
    });

    it('is refused with DECOMPRESSED_TOO_LARGE', async () => {
      await assert.rejects(lockAndBuild(specDir), (error) => assertDecompressedTooLarge(error, refusal));
    });
  });

  describe('a signed Packages.xz that is 1.5 GB of zeros', () => {
    let specDir: string;
    const refusal = new RegExp(
      `dists/test/main/binary-amd64/Packages\\.xz decompresses past its limit of ${maxIndexBytes} bytes`,
    );

    before(async () => {
      const repo = await createAptRepo({
        dir: await freshHome('herd-bomb-repo-'),
        suites: [{ name: 'test', packagesXz: await zerosBomb('xz', bombBytes) }],
        packages: [baseFiles],
        // Only the bomb: herd takes a .gz first when the Release lists one.
        indexCompression: ['xz'],
      });
      repos.push(repo);
      specDir = await writeSpecDir({ 'herd.yaml': specText(repo) });
    });

    it('is refused by herd lock in under 300 MB, and no lock is written', async (t) => {
      const run = await measuredHerd(['lock', specDir], { home: await freshHome() });

      assert.equal(run.status, 2, run.stderr);
      assert.match(run.stderr, refusal);
      t.diagnostic(`peak memory of herd and its decoder: ${(run.peakBytes / 1e6).toFixed(0)} MB`);
      assert.ok(
        run.peakBytes < maxPeakBytes,
        `peak memory ${run.peakBytes} bytes, expected under ${maxPeakBytes}`,
      );
      assert.deepEqual(await readdir(specDir), ['herd.yaml']);
    });

    it('is refused with DECOMPRESSED_TOO_LARGE', async () => {
      await assert.rejects(lockSpec(specDir), (error) => assertDecompressedTooLarge(error, refusal));
    });
  });
});
