/**
 * lock and build against a real, signed apt repository that the test creates and serves on
 * 127.0.0.1 (dpkg-deb builds the packages, OpenPGP signs InRelease).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { artifactTypes } from '../src/builder/build-image.js';
import type { FileManifest } from '../src/builder/file-manifest.js';
import { comparePaths } from '../src/builder/image-tree.js';
import { writeLock } from '../src/builder/lock-file.js';
import { silentProgress } from '../src/builder/progress.js';
import type { ImageConfig } from '../src/oci/types.js';
import { createAptRepo, type FixturePackage, type FixtureRepo } from './fixtures/apt-repo.js';
import { buildDeb, dirEntry, fileEntry } from './fixtures/deb-builder.js';
import {
  buildLocked,
  freshHome,
  type LockedBuild,
  lockAndBuild,
  lockSpec,
  writeSpecDir,
} from './support/build-harness.js';
import { flattenLayers } from './support/layers.js';

const packages: FixturePackage[] = [
  {
    name: 'base-files',
    version: '12.4',
    preDepends: 'awk',
    files: [
      {
        path: 'usr/lib/os-release',
        content: 'PRETTY_NAME="Test GNU/Linux 12"\nID=debian\nVERSION_ID="12"\n',
      },
      { path: 'etc/os-release', symlink: '../usr/lib/os-release' },
    ],
  },
  {
    name: 'libc-fake',
    version: '2.36-9',
    source: 'glibc',
    files: [
      { path: 'lib/x86_64-linux-gnu/libc.so.6', content: 'libc' },
      { path: 'lib64/ld-linux-x86-64.so.2', symlink: '/lib/x86_64-linux-gnu/ld.so' },
    ],
  },
  {
    name: 'libgreet1',
    version: '1.0-1',
    depends: 'libc-fake',
    files: [{ path: 'usr/lib/x86_64-linux-gnu/libgreet.so.1', content: 'v1.0' }],
  },
  {
    name: 'libgreet1',
    version: '1.1-1',
    depends: 'libc-fake',
    suite: 'test-security',
    files: [{ path: 'usr/lib/x86_64-linux-gnu/libgreet.so.1', content: 'v1.1' }],
  },
  {
    name: 'tiny-mta',
    version: '1.0',
    provides: 'mail-transport-agent',
    files: [{ path: 'usr/sbin/sendmail', content: '#!/bin/false\n', mode: 0o755 }],
  },
  {
    name: 'hello-bin',
    version: '2.0-1',
    preDepends: 'libc-fake',
    depends: 'libgreet1 (>= 1.1) | libgreet-alt, mail-transport-agent',
    // No interpreter line: the build's entrypoint check would refuse a #! naming what the image lacks.
    files: [{ path: 'bin/hello', content: 'hello\n', mode: 0o755 }],
  },
  {
    name: 'conflicty',
    version: '1.0',
    conflicts: 'hello-bin',
    files: [{ path: 'usr/bin/conflicty', content: 'x' }],
  },
];

function specText(repo: FixtureRepo, options: { packages?: string[]; uri?: string } = {}): string {
  return `apiVersion: herd/v1
service: greeter
version: "1.0"
image:
  suite: bookworm
  suites: [test, test-security]
  repositories:
    - uri: ${options.uri ?? repo.uri}
      suites: [test, test-security]
      keyring: ${repo.keyringPath}
  packages: [${(options.packages ?? ['hello-bin']).join(', ')}]
files:
  - src: app.txt
    dst: /app/app.txt
run:
  workdir: /app
  entrypoint: [/usr/bin/hello]
env:
  GREETING: hi
  API_TOKEN:
    secret: true
    required: true
ports: [8080]
health:
  http:
    path: /healthz
    port: 8080
`;
}

const suites = [{ name: 'test' }, { name: 'test-security' }];

describe('herd build against a signed local repository', () => {
  let repo: FixtureRepo;
  let built: LockedBuild;
  let specDir: string;

  before(async () => {
    repo = await createAptRepo({ dir: await freshHome('herd-repo-'), suites, packages });
    specDir = await writeSpecDir({ 'app.txt': 'app data\n' });
    await writeFile(join(specDir, 'herd.yaml'), specText(repo));
    built = await lockAndBuild(specDir);
  });

  after(async () => {
    await repo?.close();
  });

  it('locks the highest version across suites and follows alternatives and virtual packages', () => {
    const versions = Object.fromEntries(built.lock.packages.map((p) => [p.name, `${p.version}@${p.suite}`]));

    assert.deepEqual(versions, {
      'base-files': '12.4@test',
      'hello-bin': '2.0-1@test',
      'libc-fake': '2.36-9@test',
      libgreet1: '1.1-1@test-security',
      'tiny-mta': '1.0@test',
    });
    assert.equal(built.lock.packages.find((p) => p.name === 'libc-fake')?.source, 'glibc');
    assert.equal(built.lock.packages.find((p) => p.name === 'base-files')?.reason, 'implicit');
  });

  it('gives the same manifest digest in two fresh HERD_HOMEs', async () => {
    const again = await lockAndBuild(specDir, { home: await freshHome() });

    assert.equal(again.image.digest, built.image.digest);
  });

  it('writes a status.d entry and md5sums for every locked package', async () => {
    const files = await flattenLayers(built.store, built.image.digest);

    for (const pkg of built.lock.packages) {
      assert.ok(files.has(`/var/lib/dpkg/status.d/${pkg.name}`), `status.d entry for ${pkg.name}`);
    }
    assert.ok(files.has('/var/lib/dpkg/status.d/hello-bin.md5sums'));
  });

  it('attaches a file manifest that matches the layers exactly', async () => {
    const files = await flattenLayers(built.store, built.image.digest);
    const [referrer] = await built.store.referrers(built.image.digest, {
      artifactType: artifactTypes.fileManifest,
    });
    assert.ok(referrer, 'file manifest referrer');
    const artifact = await built.store.getManifest(referrer.digest);
    const manifest = await built.store.getJson<FileManifest>(artifact.layers[0]!.digest);

    assert.deepEqual(
      manifest.entries,
      [...files.values()].sort((a, b) => comparePaths(a.path, b.path)),
    );
  });

  it('attaches SPDX and CycloneDX SBOMs and SLSA provenance', async () => {
    for (const type of [artifactTypes.spdx, artifactTypes.cyclonedx, artifactTypes.provenance]) {
      assert.equal((await built.store.referrers(built.image.digest, { artifactType: type })).length, 1, type);
    }
  });

  it('merges /usr, keeps copyright files and leaves out docs and man pages', async () => {
    const files = await flattenLayers(built.store, built.image.digest);

    assert.equal(files.get('/bin')?.target, 'usr/bin');
    assert.equal(files.get('/lib64')?.target, 'usr/lib64');
    assert.equal(files.get('/usr/bin/hello')?.mode, 0o755);
    assert.ok(files.has('/usr/share/doc/hello-bin/copyright'));
    assert.ok(![...files.keys()].some((p) => p.startsWith('/usr/share/man/man1/')));
    assert.ok(![...files.keys()].some((p) => p.endsWith('changelog.Debian.gz')));
  });

  it('writes accounts for root and nonroot and runs as 65532 by default', async () => {
    const manifest = await built.store.getManifest(built.image.digest);
    const config = await built.store.getJson<ImageConfig>(manifest.config.digest);
    const files = await flattenLayers(built.store, built.image.digest);

    assert.equal(config.config.User, '65532:65532');
    assert.ok(files.has('/etc/passwd'));
    assert.ok(config.config.Env?.includes('GREETING=hi'));
    assert.ok(!config.config.Env?.some((e) => e.startsWith('API_TOKEN')));
    assert.equal(config.config.Labels?.['org.opencontainers.image.title'], 'greeter');
  });

  it('puts the app files in the last layer, so an app change reuses every package layer', async () => {
    await writeFile(join(specDir, 'app.txt'), 'changed\n');
    const changed = await lockAndBuild(specDir);
    await writeFile(join(specDir, 'app.txt'), 'app data\n');
    const before = (await built.store.getManifest(built.image.digest)).layers.map((l) => l.digest);
    const afterChange = (await changed.store.getManifest(changed.image.digest)).layers.map((l) => l.digest);

    assert.deepEqual(afterChange.slice(0, -1), before.slice(0, -1));
    assert.notEqual(afterChange.at(-1), before.at(-1));
  });

  it('gives the same digest again from warm caches, and recompresses when a layer mapping is wrong', async () => {
    const layers = join(built.home, 'cache', 'layers');
    const [mapping] = await readdir(layers);
    await writeFile(
      join(layers, mapping!),
      'sha256:0000000000000000000000000000000000000000000000000000000000000000\n',
    );

    const warm = await lockAndBuild(specDir, { home: built.home });

    assert.equal(warm.image.digest, built.image.digest);
  });

  it('unpacks the verified .deb again when an unpacked tar and the hash beside it were both edited', async () => {
    const home = await freshHome();
    const first = await lockAndBuild(specDir, { home });
    const pkg = first.lock.packages.find((p) => p.name === 'hello-bin')!;
    const base = join(home, 'cache', 'unpacked', pkg.sha256);
    const original = await readFile(`${base}.data.tar`);
    // The attacker's edit: other bytes for /bin/hello, and the record's size and sha256 redone to match.
    const planted = Buffer.from(original.toString('latin1').replace('hello\n', 'pwned\n'), 'latin1');
    assert.ok(!planted.equals(original), 'the planted tar differs');
    await writeFile(`${base}.data.tar`, planted);
    const record = JSON.parse(await readFile(`${base}.json`, 'utf8'));
    record.data = {
      ...record.data,
      size: planted.length,
      sha256: createHash('sha256').update(planted).digest('hex'),
    };
    await writeFile(`${base}.json`, JSON.stringify(record));
    const warnings: string[] = [];
    const progress = { ...silentProgress, warn: (message: string) => warnings.push(message) };

    const again = await buildLocked({ loaded: first.loaded, lock: first.lock }, { home, progress });

    assert.equal(again.image.digest, first.image.digest);
    assert.ok(
      (await readFile(`${base}.data.tar`)).equals(original),
      'the cache holds the unpacked .deb again',
    );
    // The fixture's /usr/bin/hello is not a real program, which the entrypoint check warns about too.
    const cacheWarnings = warnings.filter((warning) => warning.includes('unpacked cache'));
    assert.equal(cacheWarnings.length, 1, warnings.join('\n'));
    assert.match(
      cacheWarnings[0] ?? '',
      /hello-bin_2\.0-1\.deb: the unpacked cache entry .* is not trusted \(its record does not carry herd's seal\)/,
    );
  });

  it('does not take a sealed entry of one package for another', async () => {
    const home = await freshHome();
    const first = await lockAndBuild(specDir, { home });
    const [hello, tiny] = ['hello-bin', 'tiny-mta'].map(
      (name) => first.lock.packages.find((p) => p.name === name)!,
    );
    const unpacked = join(home, 'cache', 'unpacked');
    for (const suffix of ['.json', '.control.tar', '.data.tar']) {
      await writeFile(
        join(unpacked, `${hello!.sha256}${suffix}`),
        await readFile(join(unpacked, `${tiny!.sha256}${suffix}`)),
      );
    }
    const warnings: string[] = [];
    const progress = { ...silentProgress, warn: (message: string) => warnings.push(message) };

    const again = await buildLocked({ loaded: first.loaded, lock: first.lock }, { home, progress });

    assert.equal(again.image.digest, first.image.digest);
    assert.match(warnings.join('\n'), new RegExp(`its record is about \\.deb sha256:${tiny!.sha256}`));
  });

  it('refuses a .deb whose control file says another version than the lock', async () => {
    const home = await freshHome();
    const { loaded, lock } = await lockSpec(specDir);
    const edited = {
      ...lock,
      packages: lock.packages.map((p) => (p.name === 'hello-bin' ? { ...p, version: '2.0-9' } : p)),
    };
    await writeLock(join(specDir, 'herd.lock'), edited);

    try {
      await assert.rejects(
        buildLocked({ loaded, lock: edited }, { home }),
        (error: { code?: string; message?: string }) => {
          assert.equal(error.code, 'DEB_CONTROL_MISMATCH', error.message);
          assert.match(
            error.message ?? '',
            /hello-bin_2\.0-9\.deb: its control file says Version "2\.0-1", herd\.lock says "2\.0-9"/,
          );
          return true;
        },
      );
      const index = JSON.parse(await readFile(join(home, 'store', 'index.json'), 'utf8'));
      assert.deepEqual(index.manifests, []);
    } finally {
      await writeLock(join(specDir, 'herd.lock'), lock);
    }
  });

  it('refuses a tampered deb in the cache and adds nothing to the store', async () => {
    const [pkg] = built.lock.packages;
    await writeFile(built.debCache.pathOf(pkg!.sha256), 'tampered');
    const indexBefore = await readFile(join(built.store.root, 'index.json'), 'utf8');

    await assert.rejects(
      lockAndBuild(specDir, { home: join(built.store.root, '..') }),
      (error: { code?: string }) => error.code === 'DEB_MISMATCH',
    );
    assert.equal(await readFile(join(built.store.root, 'index.json'), 'utf8'), indexBefore);
  });

  it('refuses an unknown package', async () => {
    const dir = await writeSpecDir({
      'app.txt': 'x',
      'herd.yaml': specText(repo, { packages: ['no-such-package'] }),
    });

    await assert.rejects(lockSpec(dir), (error: { code?: string }) => error.code === 'PACKAGE_UNKNOWN');
  });

  it('refuses conflicting packages', async () => {
    const dir = await writeSpecDir({
      'app.txt': 'x',
      'herd.yaml': specText(repo, { packages: ['hello-bin', 'conflicty'] }),
    });

    await assert.rejects(lockSpec(dir), (error: { code?: string }) => error.code === 'PACKAGE_CONFLICT');
  });

  it('lock --check exits 1 and lists the newer version when the archive moves on', async () => {
    const dir = await freshHome('herd-moving-repo-');
    const moving = await createAptRepo({
      dir,
      suites,
      packages: packages.filter((p) => p.name !== 'conflicty'),
    });
    const spec = await writeSpecDir({
      'app.txt': 'x',
      'herd.yaml': specText(moving, { uri: `file://${dir}/` }),
    });
    const { lock } = await lockSpec(spec);
    await writeLock(join(spec, 'herd.lock'), lock);
    await moving.close();
    const newer = packages
      .filter((p) => p.name !== 'conflicty')
      .map((p) => (p.name === 'hello-bin' ? { ...p, version: '2.1-1' } : p));
    await rm(join(dir, 'dists'), { recursive: true });
    await (await createAptRepo({ dir, suites, packages: newer })).close();

    const result = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', 'lock', spec, '--check'],
      // A HERD_HOME of its own: the check remembers Release dates, and must not do so in ./.herd.
      { encoding: 'utf8', env: { ...process.env, HERD_HOME: await freshHome() } },
    );

    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stdout, /hello-bin 2\.0-1 -> 2\.1-1/);
  });
});

describe('herd lock fails closed on a repository it cannot trust', () => {
  const cases = [
    {
      name: 'an InRelease signed by a key outside the keyring',
      options: { signWith: 'other-key' as const },
      code: 'SIGNATURE_INVALID',
    },
    { name: 'an unsigned InRelease', options: { signWith: 'none' as const }, code: 'SIGNATURE_MISSING' },
    {
      name: 'a Packages index that does not match Release',
      options: { tamperPackagesIndex: true },
      code: 'DIGEST_MISMATCH',
    },
  ];
  for (const testCase of cases) {
    it(`refuses ${testCase.name}`, async () => {
      const repo = await createAptRepo({
        dir: await freshHome('herd-repo-'),
        suites,
        packages,
        ...testCase.options,
      });
      const dir = await writeSpecDir({ 'app.txt': 'x', 'herd.yaml': specText(repo) });
      try {
        await assert.rejects(lockSpec(dir), (error: { code?: string; message?: string }) => {
          assert.equal(error.code, testCase.code, error.message);
          assert.match(error.message ?? '', /test/);
          return true;
        });
        assert.deepEqual(await readdir(dir), ['app.txt', 'herd.yaml']);
      } finally {
        await repo.close();
      }
    });
  }

  it('refuses a signed package whose .deb says it is another package', async () => {
    const rawDeb = await buildDeb({
      control: 'Package: tiny-mta\nVersion: 1.0\nArchitecture: amd64\nDescription: not hello-bin\n',
      files: [dirEntry('./usr/'), fileEntry('./usr/sendmail', 'x')],
    });
    const repo = await createAptRepo({
      dir: await freshHome('herd-repo-'),
      suites,
      packages: [
        ...packages.filter((p) => p.name !== 'hello-bin'),
        { name: 'hello-bin', version: '2.0-1', rawDeb },
      ],
    });
    const dir = await writeSpecDir({
      'app.txt': 'x',
      'herd.yaml': specText(repo, { packages: ['hello-bin'] }),
    });
    try {
      await assert.rejects(lockAndBuild(dir), (error: { code?: string; message?: string }) => {
        assert.equal(error.code, 'DEB_CONTROL_MISMATCH', error.message);
        assert.match(
          error.message ?? '',
          /hello-bin_2\.0-1\.deb: its control file says Package "tiny-mta", herd\.lock says "hello-bin"; Version "1\.0", herd\.lock says "2\.0-1"/,
        );
        return true;
      });
    } finally {
      await repo.close();
    }
  });

  it('refuses a deb whose data holds ../ paths and adds nothing to the store', async () => {
    const rawDeb = await buildDeb({
      control: 'Package: hello-bin\nVersion: 2.0-1\nArchitecture: amd64\nDescription: evil\n',
      files: [dirEntry('./usr/'), fileEntry('./usr/../../etc/cron.d/evil', '* * * * * root sh\n')],
    });
    const evil: FixturePackage = { name: 'hello-bin', version: '2.0-1', rawDeb };
    const repo = await createAptRepo({
      dir: await freshHome('herd-repo-'),
      suites,
      packages: [...packages.filter((p) => p.name !== 'hello-bin'), evil],
    });
    const dir = await writeSpecDir({
      'app.txt': 'x',
      'herd.yaml': specText(repo, { packages: ['hello-bin'] }),
    });
    const home = await freshHome();
    try {
      await assert.rejects(
        lockAndBuild(dir, { home }),
        (error: { code?: string }) => error.code === 'DEB_UNSAFE_PATH',
      );
      const index = JSON.parse(await readFile(join(home, 'store', 'index.json'), 'utf8'));
      assert.deepEqual(index.manifests, []);
    } finally {
      await repo.close();
    }
  });
});
