import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ResolveOptions, resolvePackages } from './resolve.js';
import type { PackageRecord } from './types.js';

const amd64: ResolveOptions = { architecture: 'amd64', recommends: false };

/** A Packages record with everything a test does not care about filled in. */
function pkg(name: string, version: string, fields: Partial<PackageRecord> = {}): PackageRecord {
  const suite = fields.suite ?? 'bookworm';
  return {
    name,
    version,
    architecture: 'amd64',
    source: name,
    sourceVersion: version,
    depends: '',
    preDepends: '',
    recommends: '',
    provides: '',
    conflicts: '',
    breaks: '',
    essential: false,
    filename: `pool/main/${name}_${version}.deb`,
    size: 1,
    sha256: '0'.repeat(64),
    repository: 'http://mirror.example/debian/',
    ...fields,
    suite,
  };
}

function selected(universe: PackageRecord[], requests: string[], options: ResolveOptions = amd64): string[] {
  return resolvePackages(universe, requests, options).packages.map((p) => `${p.name}=${p.version}`);
}

describe('resolvePackages', () => {
  describe('closure', () => {
    it('selects the requested packages and their dependencies, sorted by name, with reasons', () => {
      const universe = [
        pkg('curl', '7.88', { depends: 'libcurl4 (= 7.88), libc6' }),
        pkg('libcurl4', '7.88', { depends: 'libc6 (>= 2.34)' }),
        pkg('libc6', '2.36', { preDepends: 'libgcc-s1' }),
        pkg('libgcc-s1', '12.2'),
        pkg('unrelated', '1.0'),
      ];

      const resolution = resolvePackages(universe, ['curl'], amd64);

      assert.deepEqual(
        resolution.packages.map((p) => p.name),
        ['curl', 'libc6', 'libcurl4', 'libgcc-s1'],
      );
      assert.deepEqual(
        [...resolution.reasons],
        [
          ['curl', 'requested'],
          ['libc6', 'depends of curl'],
          ['libcurl4', 'depends of curl'],
          ['libgcc-s1', 'pre-depends of libc6'],
        ],
      );
    });

    it('leaves out Essential and Priority: required packages that nothing depends on', () => {
      const universe = [
        pkg('app', '1', { depends: 'libc6' }),
        pkg('libc6', '2.36'),
        pkg('bash', '5.2', { essential: true, priority: 'required' }),
        pkg('coreutils', '9.1', { essential: true, priority: 'required' }),
        pkg('mawk', '1.3', { priority: 'required' }),
      ];

      assert.deepEqual(selected(universe, ['app']), ['app=1', 'libc6=2.36']);
    });

    it('follows Recommends only when asked to, and skips a Recommends nothing satisfies', () => {
      const universe = [pkg('app', '1', { recommends: 'helper, missing' }), pkg('helper', '1')];

      assert.deepEqual(selected(universe, ['app']), ['app=1']);
      assert.deepEqual(selected(universe, ['app'], { ...amd64, recommends: true }), ['app=1', 'helper=1']);
    });
  });

  describe('candidates', () => {
    it('takes the highest version across suites', () => {
      const universe = [
        pkg('libssl3', '3.0.11-1~deb12u1', { suite: 'bookworm' }),
        pkg('libssl3', '3.0.11-1~deb12u2', { suite: 'bookworm-security' }),
        pkg('libssl3', '3.0.9-1', { suite: 'bookworm-updates' }),
      ];

      const [record] = resolvePackages(universe, ['libssl3'], amd64).packages;

      assert.equal(record?.version, '3.0.11-1~deb12u2');
      assert.equal(record?.suite, 'bookworm-security');
    });

    it('breaks a version tie in favour of the first suite, in universe order or the given order', () => {
      const universe = [
        pkg('tzdata', '2024a', { suite: 'bookworm-updates' }),
        pkg('tzdata', '2024a', { suite: 'bookworm' }),
      ];

      const byUniverse = resolvePackages(universe, ['tzdata'], amd64).packages[0];
      const byOption = resolvePackages(universe, ['tzdata'], {
        ...amd64,
        suites: ['bookworm', 'bookworm-updates'],
      }).packages[0];

      assert.equal(byUniverse?.suite, 'bookworm-updates');
      assert.equal(byOption?.suite, 'bookworm');
    });

    it('considers only the target architecture and all', () => {
      const universe = [
        pkg('tool', '2.0', { architecture: 'arm64' }),
        pkg('tool', '1.0', { depends: 'data' }),
        pkg('data', '1.0', { architecture: 'all' }),
        pkg('arm-only', '1.0', { architecture: 'arm64' }),
      ];

      assert.deepEqual(selected(universe, ['tool']), ['data=1.0', 'tool=1.0']);
      assert.throws(() => resolvePackages(universe, ['arm-only'], amd64), {
        code: 'PACKAGE_UNKNOWN',
        message: /arm-only.*only for arm64/,
      });
    });

    it('pins a version with name=version and a suite with name/suite, for dependents too', () => {
      const universe = [
        pkg('app', '1', { depends: 'lib' }),
        pkg('lib', '2.0', { suite: 'bookworm-backports' }),
        pkg('lib', '1.0', { suite: 'bookworm' }),
      ];

      assert.deepEqual(selected(universe, ['app', 'lib=1.0']), ['app=1', 'lib=1.0']);
      assert.deepEqual(selected(universe, ['app', 'lib/bookworm']), ['app=1', 'lib=1.0']);
      assert.deepEqual(selected(universe, ['app']), ['app=1', 'lib=2.0']);
    });

    it('fails with PACKAGE_UNKNOWN naming a requested package, version or suite that does not exist', () => {
      const universe = [pkg('lib', '1.0')];

      assert.throws(() => resolvePackages(universe, ['nosuch'], amd64), {
        code: 'PACKAGE_UNKNOWN',
        message: /nosuch/,
      });
      assert.throws(() => resolvePackages(universe, ['lib=9'], amd64), {
        code: 'PACKAGE_UNKNOWN',
        message: /lib=9.*1\.0/,
      });
      assert.throws(() => resolvePackages(universe, ['lib/sid'], amd64), {
        code: 'PACKAGE_UNKNOWN',
        message: /lib\/sid/,
      });
      assert.throws(() => resolvePackages(universe, ['not a name'], amd64), { code: 'PACKAGE_UNKNOWN' });
    });
  });

  describe('alternatives', () => {
    it('takes the first alternative when none is selected yet', () => {
      const universe = [pkg('app', '1', { depends: 'mawk | gawk' }), pkg('mawk', '1'), pkg('gawk', '5')];

      assert.deepEqual(selected(universe, ['app']), ['app=1', 'mawk=1']);
    });

    it('prefers an alternative that is already selected', () => {
      const universe = [pkg('app', '1', { depends: 'mawk | gawk' }), pkg('mawk', '1'), pkg('gawk', '5')];

      assert.deepEqual(selected(universe, ['app', 'gawk']), ['app=1', 'gawk=5']);
      assert.deepEqual(selected(universe, ['gawk', 'app']), ['app=1', 'gawk=5']);
    });

    it('skips an alternative that does not exist or whose version does not match', () => {
      const universe = [
        pkg('app', '1', { depends: 'missing | old (>= 2) | good' }),
        pkg('old', '1'),
        pkg('good', '1'),
      ];

      assert.deepEqual(selected(universe, ['app']), ['app=1', 'good=1']);
    });

    it('backs out of an alternative whose own dependencies cannot be met', () => {
      const universe = [
        pkg('app', '1', { depends: 'first | second' }),
        pkg('first', '1', { depends: 'gone' }),
        pkg('second', '1'),
      ];

      assert.deepEqual(selected(universe, ['app']), ['app=1', 'second=1']);
    });

    it('backs out of an alternative that conflicts with a requested package', () => {
      const universe = [
        pkg('app', '1', { depends: 'first | second' }),
        pkg('first', '1', { conflicts: 'other' }),
        pkg('second', '1'),
        pkg('other', '1'),
      ];

      assert.deepEqual(selected(universe, ['app', 'other']), ['app=1', 'other=1', 'second=1']);
    });

    it('drops alternatives restricted to other architectures', () => {
      const universe = [
        pkg('app', '1', { depends: 'i386-only [i386] | generic, never [!amd64]' }),
        pkg('i386-only', '1'),
        pkg('generic', '1'),
        pkg('never', '1'),
      ];

      assert.deepEqual(selected(universe, ['app']), ['app=1', 'generic=1']);
    });

    it('gives up quickly with the first failure when no combination of alternatives works', () => {
      const groups = Array.from({ length: 24 }, (_, i) => `a${i} | b${i}`);
      const universe = [
        pkg('app', '1', { depends: [...groups, 'gone'].join(', ') }),
        ...groups.flatMap((_, i) => [pkg(`a${i}`, '1'), pkg(`b${i}`, '1')]),
      ];
      const started = performance.now();

      assert.throws(() => resolvePackages(universe, ['app'], amd64), {
        code: 'DEPENDENCY_UNSATISFIABLE',
        message: /"gone"/,
      });
      assert.ok(performance.now() - started < 3000);
    });
  });

  describe('virtual packages', () => {
    it('prefers a real package of the name over its providers', () => {
      const universe = [
        pkg('app', '1', { depends: 'awk' }),
        pkg('awk', '1'),
        pkg('a-awk', '1', { provides: 'awk' }),
      ];

      assert.deepEqual(selected(universe, ['app']), ['app=1', 'awk=1']);
    });

    it('takes the provider whose name sorts first, and records the virtual name in the reason', () => {
      const universe = [
        pkg('app', '1', { preDepends: 'awk' }),
        pkg('mawk', '1', { provides: 'awk' }),
        pkg('gawk', '1', { provides: 'awk' }),
      ];

      const resolution = resolvePackages(universe, ['app'], amd64);

      assert.deepEqual(
        resolution.packages.map((p) => p.name),
        ['app', 'gawk'],
      );
      assert.equal(resolution.reasons.get('gawk'), 'pre-depends of app via awk');
    });

    it('prefers a provider that is already selected', () => {
      const universe = [
        pkg('app', '1', { depends: 'awk' }),
        pkg('mawk', '1', { provides: 'awk' }),
        pkg('gawk', '1', { provides: 'awk' }),
      ];

      assert.deepEqual(selected(universe, ['app', 'mawk']), ['app=1', 'mawk=1']);
    });

    it('satisfies a versioned dependency only through a versioned Provides that matches', () => {
      const universe = [
        pkg('app', '1', { depends: 'libfoo (>= 2)' }),
        pkg('unversioned', '9', { provides: 'libfoo' }),
        pkg('too-old', '9', { provides: 'libfoo (= 1)' }),
        pkg('zz-right', '1', { provides: 'libfoo (= 2.1)' }),
      ];

      assert.deepEqual(selected(universe, ['app']), ['app=1', 'zz-right=1']);
      assert.throws(() => resolvePackages(universe.slice(0, 3), ['app'], amd64), {
        code: 'DEPENDENCY_UNSATISFIABLE',
      });
    });

    it('resolves a requested virtual name to a provider', () => {
      const universe = [pkg('mawk', '1', { provides: 'awk' })];

      const resolution = resolvePackages(universe, ['awk'], amd64);

      assert.deepEqual([...resolution.reasons], [['mawk', 'requested via awk']]);
    });
  });

  describe('architecture qualifiers', () => {
    it('lets :any be satisfied only by Multi-Arch: allowed or foreign packages', () => {
      const universe = [
        pkg('app', '1', { depends: 'python3:any, perl:any' }),
        pkg('python3', '3.11', { multiArch: 'allowed' }),
        pkg('perl', '5.36', { multiArch: 'foreign' }),
        pkg('strict', '1', { depends: 'libc6:any' }),
        pkg('libc6', '2.36', { multiArch: 'same' }),
      ];

      assert.deepEqual(selected(universe, ['app']), ['app=1', 'perl=5.36', 'python3=3.11']);
      assert.throws(() => resolvePackages(universe, ['strict'], amd64), {
        code: 'DEPENDENCY_UNSATISFIABLE',
        message: /Multi-Arch: same/,
      });
    });

    it('lets :native and the target architecture name be satisfied by native and all packages', () => {
      const universe = [
        pkg('app', '1', { depends: 'tool:native, data:amd64' }),
        pkg('tool', '1'),
        pkg('data', '1', { architecture: 'all' }),
      ];

      assert.deepEqual(selected(universe, ['app']), ['app=1', 'data=1', 'tool=1']);
    });
  });

  describe('failures', () => {
    it('fails with DEPENDENCY_UNSATISFIABLE naming the package, the relation and the chain', () => {
      const universe = [
        pkg('app', '1', { depends: 'libcurl4' }),
        pkg('libcurl4', '7.88', { depends: 'libssl3 (>= 3.1)' }),
        pkg('libssl3', '3.0.11'),
      ];

      assert.throws(
        () => resolvePackages(universe, ['app'], amd64),
        (error: Error & { code?: string }) => {
          assert.equal(error.code, 'DEPENDENCY_UNSATISFIABLE');
          assert.match(error.message, /^libcurl4 7\.88 depends on "libssl3 \(>= 3\.1\)"/);
          assert.match(error.message, /libssl3 3\.0\.11/);
          assert.match(error.message, /chain: app \(requested\) → libcurl4$/);
          return true;
        },
      );
    });

    it('fails with PACKAGE_CONFLICT naming both packages when two requests conflict', () => {
      const universe = [pkg('mawk', '1', { conflicts: 'gawk' }), pkg('gawk', '5')];

      assert.throws(() => resolvePackages(universe, ['mawk', 'gawk'], amd64), {
        code: 'PACKAGE_CONFLICT',
        message: /mawk 1 conflicts with gawk 5/,
      });
    });

    it('fails with PACKAGE_CONFLICT when a dependency breaks a selected version', () => {
      const universe = [
        pkg('app', '1', { depends: 'newlib' }),
        pkg('newlib', '2', { breaks: 'oldtool (<< 2)' }),
        pkg('oldtool', '1'),
      ];

      assert.throws(() => resolvePackages(universe, ['app', 'oldtool'], amd64), {
        code: 'PACKAGE_CONFLICT',
        message: /newlib 2 breaks oldtool 1.*app \(requested\) → newlib/,
      });
      assert.deepEqual(selected([...universe, pkg('oldtool', '2')], ['app', 'oldtool']), [
        'app=1',
        'newlib=2',
        'oldtool=2',
      ]);
    });

    it('fails with PACKAGE_CONFLICT when two providers of a conflicted virtual name meet', () => {
      const universe = [
        pkg('exim4', '4', { provides: 'mail-transport-agent', conflicts: 'mail-transport-agent' }),
        pkg('postfix', '3', { provides: 'mail-transport-agent', conflicts: 'mail-transport-agent' }),
      ];

      assert.deepEqual(selected(universe, ['exim4']), ['exim4=4']);
      assert.throws(() => resolvePackages(universe, ['exim4', 'postfix'], amd64), {
        code: 'PACKAGE_CONFLICT',
      });
    });

    it('ignores Conflicts restricted to other architectures', () => {
      const universe = [pkg('a', '1', { conflicts: 'b [i386]' }), pkg('b', '1')];

      assert.deepEqual(selected(universe, ['a', 'b']), ['a=1', 'b=1']);
    });
  });

  describe('determinism', () => {
    it('gives the same packages and reasons whatever the order of the universe and the requests', () => {
      const universe = [
        pkg('app', '1', {
          depends: 'awk, libc6 (>= 2.30), tzdata | tzdata-legacy',
          recommends: 'ca-certificates',
        }),
        pkg('tool', '2', { depends: 'awk | busybox, libc6' }),
        pkg('mawk', '1.3', { provides: 'awk', depends: 'libc6' }),
        pkg('gawk', '5.2', { provides: 'awk', depends: 'libc6, libmpfr6' }),
        pkg('libmpfr6', '4.2'),
        pkg('libc6', '2.36', { suite: 'bookworm' }),
        pkg('libc6', '2.36', { suite: 'bookworm-updates', filename: 'pool/updates/libc6.deb' }),
        pkg('libc6', '2.31', { suite: 'bullseye' }),
        pkg('tzdata', '2024a', { architecture: 'all' }),
        pkg('tzdata-legacy', '2024a', { architecture: 'all' }),
        pkg('ca-certificates', '2023', { architecture: 'all', depends: 'openssl' }),
        pkg('openssl', '3.0'),
        pkg('busybox', '1.35'),
      ];
      const options = { ...amd64, recommends: true, suites: ['bookworm', 'bookworm-updates', 'bullseye'] };
      const snapshot = (input: PackageRecord[], requests: string[]) => {
        const resolution = resolvePackages(input, requests, options);
        return {
          packages: resolution.packages.map((p) => `${p.name}=${p.version}@${p.suite}`),
          reasons: [...resolution.reasons],
        };
      };
      const expected = snapshot(universe, ['app', 'tool']);
      const random = seededRandom(7);

      const runs = Array.from({ length: 50 }, () =>
        snapshot(shuffle(universe, random), shuffle(['app', 'tool'], random)),
      );

      for (const run of runs) assert.deepEqual(run, expected);
      assert.deepEqual(expected.packages, [
        'app=1@bookworm',
        'ca-certificates=2023@bookworm',
        'gawk=5.2@bookworm',
        'libc6=2.36@bookworm',
        'libmpfr6=4.2@bookworm',
        'openssl=3.0@bookworm',
        'tool=2@bookworm',
        'tzdata=2024a@bookworm',
      ]);
    });
  });

  describe('installed packages', () => {
    const base = (name: string, version: string, fields: Partial<PackageRecord> = {}) =>
      pkg(name, version, { suite: 'installed', filename: '', sha256: '', ...fields });

    it('lets installed packages satisfy dependencies without adding them again', () => {
      const universe = [pkg('app', '1', { depends: 'libc6 (>= 2.30)' }), pkg('libc6', '2.36')];

      const resolution = resolvePackages(universe, ['app', 'libc6'], {
        ...amd64,
        installed: [base('libc6', '2.36')],
      });

      assert.deepEqual(
        resolution.packages.map((p) => p.name),
        ['app'],
      );
      assert.deepEqual([...resolution.reasons], [['app', 'requested']]);
      assert.deepEqual(resolution.held, []);
    });

    it('keeps an installed package at its version when the archive has a newer one, and reports it held', () => {
      const universe = [pkg('app', '1', { depends: 'libc6' }), pkg('libc6', '2.36-9+deb12u4')];

      const resolution = resolvePackages(universe, ['app'], {
        ...amd64,
        installed: [base('libc6', '2.36-9')],
      });

      assert.deepEqual(selectedOf(resolution), ['app=1']);
      assert.deepEqual(
        resolution.held.map((h) => `${h.installed.name} ${h.installed.version} < ${h.available.version}`),
        ['libc6 2.36-9 < 2.36-9+deb12u4'],
      );
    });

    it('refuses a dependency that only a newer version than the installed one satisfies', () => {
      const universe = [pkg('app', '1', { depends: 'libc6 (>= 2.37)' }), pkg('libc6', '2.37')];

      assert.throws(
        () => resolvePackages(universe, ['app'], { ...amd64, installed: [base('libc6', '2.36')] }),
        (error: { code?: string; message?: string }) => {
          assert.equal(error.code, 'DEPENDENCY_UNSATISFIABLE');
          assert.match(error.message ?? '', /libc6 2\.36 is installed in the base image/);
          return true;
        },
      );
    });

    it('refuses a pin that the installed version does not meet, and accepts one that it does', () => {
      const universe = [pkg('libc6', '2.36'), pkg('libc6', '2.37', { suite: 'trixie' })];
      const options = { ...amd64, installed: [base('libc6', '2.36')] };

      assert.throws(() => resolvePackages(universe, ['libc6=2.37'], options), { code: 'PACKAGE_CONFLICT' });
      assert.throws(() => resolvePackages(universe, ['libc6/trixie'], options), { code: 'PACKAGE_CONFLICT' });
      assert.deepEqual(selected(universe, ['libc6=2.36'], options), []);
      assert.deepEqual(selected(universe, ['libc6/bookworm'], options), []);
    });

    it('lets an installed package answer a virtual name and a requested one', () => {
      const universe = [pkg('app', '1', { depends: 'awk' }), pkg('gawk', '5.2', { provides: 'awk' })];

      const resolution = resolvePackages(universe, ['app', 'awk'], {
        ...amd64,
        installed: [base('mawk', '1.3', { provides: 'awk' })],
      });

      assert.deepEqual(selectedOf(resolution), ['app=1']);
    });

    it('refuses a new package that conflicts with an installed one, naming the base', () => {
      const universe = [pkg('postfix', '3.7', { conflicts: 'mail-transport-agent' })];

      assert.throws(
        () =>
          resolvePackages(universe, ['postfix'], {
            ...amd64,
            installed: [base('exim4', '4.96', { provides: 'mail-transport-agent' })],
          }),
        (error: { code?: string; message?: string }) => {
          assert.equal(error.code, 'PACKAGE_CONFLICT');
          assert.match(error.message ?? '', /exim4 \(installed in the base image\)/);
          return true;
        },
      );
    });

    it('does not follow the dependencies of installed packages', () => {
      const universe = [pkg('app', '1'), pkg('libfoo', '1')];

      const resolution = resolvePackages(universe, ['app'], {
        ...amd64,
        installed: [base('tool', '1', { depends: 'libfoo, not-in-the-archive' })],
      });

      assert.deepEqual(selectedOf(resolution), ['app=1']);
    });
  });
});

function selectedOf(resolution: { packages: PackageRecord[] }): string[] {
  return resolution.packages.map((p) => `${p.name}=${p.version}`);
}

function shuffle<T>(items: readonly T[], random: () => number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}

/** mulberry32: a fixed seed keeps a failing order reproducible. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
