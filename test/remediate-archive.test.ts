/**
 * The update monitor against the Debian archive configured on this host (the spec names no
 * repositories, so herd reads the host's apt sources, verified against their keyring): a fresh
 * `herd lock` of a small spec, then one package set back to an older version in herd.lock, as if
 * the deployed image had been built before the archive's last update of it. `herd lock --check`
 * and the monitor's `checkForUpdates` must both list that package with the archive's real current
 * version as the new one, from the suite that serves it, and with the CVE the (test) tracker data
 * says the older version has. No engine is needed: the deployed image is only named.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import type { Lock } from '../src/builder/lock-file.js';
import { Catalog } from '../src/catalog/catalog.js';
import { openSpec } from '../src/cli/spec-context.js';
import { systemClock } from '../src/common/clock.js';
import { herdHome } from '../src/herd-home.js';
import { Journal } from '../src/journal/journal.js';
import { LayoutStore } from '../src/oci/layout-store.js';
import type { Digest } from '../src/oci/types.js';
import { checkForUpdates, loadVulnDataIfAny } from '../src/pipeline/check-updates.js';
import { openStateDb } from '../src/state/open-state-db.js';
import { freshHome, writeSpecDir } from './support/build-harness.js';
import { runHerdAsync } from './support/cli.js';
import { writeTrackerJson } from './support/tracker-json.js';

/** libc6 is updated in stable point releases and security updates more than most packages. */
const target = 'libc6';

/**
 * An older version of `version`: the release's own version when this one is a stable update
 * (`2.36-9+deb12u10` → `2.36-9`, which the archive served before), else one just below it.
 */
function olderVersion(version: string): string {
  const release = version.replace(/\+deb\d+u\d+$/, '');
  return release !== version ? release : `${version}~older`;
}

describe('update findings for an older lock, against the host archive', () => {
  let home: string;
  let dir: string;
  let fresh: Lock;
  let older: string;

  before(async () => {
    home = await freshHome();
    dir = await writeSpecDir({
      'herd.yaml': `apiVersion: herd/v1\nservice: archive-probe\nimage:\n  suite: bookworm\n  packages: [${target}]\nrun:\n  entrypoint: [/usr/bin/true]\n`,
    });
    const lock = await runHerdAsync(['lock', dir], { home });
    assert.equal(lock.status, 0, `herd lock against the host archive:\n${lock.err}`);
    fresh = JSON.parse(await readFile(join(dir, 'herd.lock'), 'utf8')) as Lock;
    const current = fresh.packages.find((pkg) => pkg.name === target);
    assert.ok(
      current,
      `the fresh lock has no ${target}: ${fresh.packages.map((pkg) => pkg.name).join(', ')}`,
    );
    older = olderVersion(current.version);
    const outdated: Lock = {
      ...fresh,
      packages: fresh.packages.map((pkg) =>
        pkg.name === target
          ? { ...pkg, version: older, sourceVersion: olderVersion(pkg.sourceVersion) }
          : pkg,
      ),
    };
    await writeFile(join(dir, 'herd.lock'), `${JSON.stringify(outdated, null, 2)}\n`);
  });

  it('herd lock --check lists the package with the archive’s current version', async () => {
    const current = fresh.packages.find((pkg) => pkg.name === target)!;

    const check = await runHerdAsync(['lock', dir, '--check'], { home });
    console.log(
      `# ${target}: lock set back to ${older}, the archive serves ${current.version} (${current.suite})`,
    );

    assert.equal(check.status, 1, `herd lock --check exit ${check.status}:\n${check.out}${check.err}`);
    assert.ok(
      check.out.includes(`~ ${target} ${older} -> ${current.version} (${current.suite})`),
      `herd lock --check printed:\n${check.out}`,
    );
    assert.match(check.out, /is out of date: 1 package change\(s\)/);
  });

  it('the monitor finds a package update from the older version to the real current one, with the CVE it fixes', async () => {
    const current = fresh.packages.find((pkg) => pkg.name === target)!;
    const data = await writeTrackerJson([
      {
        cve: 'CVE-2026-0001',
        source: current.source,
        codename: 'bookworm',
        fixedVersion: current.sourceVersion,
        urgency: 'high',
      },
    ]);
    const update = await runHerdAsync(['vulndb', 'update', '--from', data], { home });
    assert.equal(update.status, 0, update.err);
    const paths = herdHome({ HERD_HOME: home });
    const store = new LayoutStore(paths.store);
    await store.init();
    const db = openStateDb(paths.stateDb);
    const deployed = {
      service: 'archive-probe',
      digest: `sha256:${'ab'.repeat(32)}` as Digest,
      createdAt: new Date().toISOString(),
    };

    let check: Awaited<ReturnType<typeof checkForUpdates>>;
    try {
      const vulnDb = await loadVulnDataIfAny(paths);
      assert.ok(vulnDb, 'the vulnerability data loaded');
      check = await checkForUpdates(
        await openSpec(dir),
        {
          store,
          state: { catalog: new Catalog(new Journal(db, { clock: systemClock })) },
          home: paths,
          db,
          vulnDb,
          now: new Date(),
        },
        { deployed },
      );
    } finally {
      db.close();
    }

    const shown = JSON.stringify(check, null, 2);
    assert.equal(check.lock, 'outdated', shown);
    const finding = check.findings.find((one) => one.kind === 'package-update');
    assert.ok(finding, shown);
    assert.deepEqual(
      finding.packages.map(({ name, from, to, suite, cvesFixed }) => ({ name, from, to, suite, cvesFixed })),
      [
        {
          name: target,
          from: older,
          to: current.version,
          suite: current.suite,
          cvesFixed: ['CVE-2026-0001'],
        },
      ],
      shown,
    );
    assert.equal(finding.digest, deployed.digest);
    assert.equal(finding.actionable, true);
    assert.equal(finding.security, true);
    assert.equal(finding.urgency, 'high');
    assert.deepEqual(finding.cvesFixed, ['CVE-2026-0001']);
    assert.ok(finding.summary.includes(`${target} ${older} → ${current.version}`), finding.summary);
    // First visible: the Date of the signed Release of the suite that serves the new version.
    const releaseDate = fresh.suites.find((suite) => suite.suite === current.suite)?.date;
    assert.ok(releaseDate, `the fresh lock records no Release date for ${current.suite}`);
    assert.equal(finding.packages[0]?.visibleAt, new Date(releaseDate).toISOString());
    assert.equal(finding.visibleAt, finding.packages[0]?.visibleAt);
    assert.deepEqual(
      check.fresh?.packages,
      fresh.packages,
      'the fresh resolution is the lock herd just took',
    );
  });
});
