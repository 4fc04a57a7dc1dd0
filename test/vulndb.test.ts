/**
 * The vulnerability database end to end with real parts: tracker-format data served gzipped by a
 * real HTTP server and fetched with Node's own fetch, then matched against the packages really
 * installed on this Debian host (/var/lib/dpkg/status), by source package and codename.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { field, parseControlParagraphs } from '../src/debian/control.js';
import {
  type InstalledPackage,
  loadVulnDb,
  matchVulnerabilities,
  staleness,
  updateVulnDb,
  vulnDbPath,
} from '../src/gate/vulns/index.js';
import { herdHome } from '../src/herd-home.js';

/** What dpkg says is installed here, with each binary's source package and source version. */
function hostPackages(): InstalledPackage[] {
  const status = readFileSync('/var/lib/dpkg/status', 'utf8');
  return parseControlParagraphs(status)
    .filter((stanza) => field(stanza, 'Status')?.endsWith(' installed'))
    .map((stanza) => {
      const name = field(stanza, 'Package') ?? '';
      const version = field(stanza, 'Version') ?? '';
      const source = /^(\S+)(?:\s+\((.+)\))?/.exec(field(stanza, 'Source') ?? '');
      return { name, version, source: source?.[1] ?? name, sourceVersion: source?.[2] ?? version };
    });
}

function hostCodename(): string {
  const osRelease = readFileSync('/etc/os-release', 'utf8');
  const codename = /^VERSION_CODENAME=(.+)$/m.exec(osRelease)?.[1]?.replace(/"/g, '');
  assert.ok(codename, '/etc/os-release names no VERSION_CODENAME; this test needs a Debian release host');
  return codename;
}

describe('herd vulndb against a real HTTP server and the packages of this host', () => {
  const codename = hostCodename();
  const installed = hostPackages();
  // Three real source packages of this host whose binaries share one source version.
  const versionsOf = new Map<string, Set<string>>();
  for (const pkg of installed)
    versionsOf.set(pkg.source, (versionsOf.get(pkg.source) ?? new Set()).add(pkg.sourceVersion));
  const sources = [...versionsOf]
    .filter(([, versions]) => versions.size === 1)
    .map(([source, versions]): [string, string] => [source, [...versions][0]!])
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .slice(0, 3);
  const tracker = Object.fromEntries(
    sources.map(([source, version], index) => [
      source,
      {
        [`CVE-2099-${1000 + index * 10}`]: {
          description: `A fix newer than the ${source} installed here`,
          releases: {
            [codename]: {
              status: 'resolved',
              repositories: { [codename]: version, [`${codename}-security`]: `${version}+herd1` },
              fixed_version: `${version}+herd1`,
              urgency: 'high',
            },
          },
        },
        [`CVE-2099-${1001 + index * 10}`]: {
          description: 'Fixed in exactly the installed version',
          releases: { [codename]: { status: 'resolved', fixed_version: version, urgency: 'medium' } },
        },
        [`CVE-2099-${1002 + index * 10}`]: {
          description: 'Postponed',
          releases: {
            [codename]: { status: 'open', urgency: 'low*', nodsa: 'Minor issue', nodsa_reason: 'postponed' },
          },
        },
        [`CVE-2099-${1003 + index * 10}`]: {
          description: 'Not looked at yet',
          releases: { [codename]: { status: 'undetermined', urgency: 'not yet assigned' } },
        },
      },
    ]),
  );
  const body = gzipSync(JSON.stringify(tracker));

  let work: string;
  let server: Server;
  let base: string;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'herd-vulndb-it-'));
    server = createServer((request, response) => {
      if (request.url === '/data/json') {
        response.writeHead(200, {
          'content-type': 'application/octet-stream',
          'last-modified': 'Sun, 01 Jun 2025 06:00:00 GMT',
        });
        // Written in pieces, so the client really streams.
        for (let i = 0; i < body.length; i += 512) response.write(body.subarray(i, i + 512));
        response.end();
      } else if (request.url === '/broken') {
        response.writeHead(200, { 'content-length': String(body.length) });
        response.write(body.subarray(0, Math.floor(body.length / 2)));
        setTimeout(() => response.socket?.destroy(), 20);
      } else {
        response.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    await new Promise((resolve) => server.close(resolve));
    await rm(work, { recursive: true, force: true });
  });

  it('matches the installed packages by source and codename, in dpkg order', async () => {
    const home = herdHome({ HERD_HOME: join(work, 'home') });
    assert.equal(sources.length, 3, 'this host has fewer than three installed source packages');

    const update = await updateVulnDb(home, {
      now: new Date('2025-06-02T06:00:00Z'),
      env: { HERD_VULNDB_URL: `${base}/data/json` },
    });
    const db = await loadVulnDb(home);
    const findings = matchVulnerabilities(installed, db, { suite: codename });

    assert.equal(update.meta.source, `${base}/data/json`);
    assert.equal(update.meta.dataDate, '2025-06-01T06:00:00.000Z');
    assert.deepEqual(update.meta.skipped, { 'not-affected': 0, undetermined: 3, 'other-suite': 0 });
    assert.deepEqual(
      findings.map((finding) => [
        finding.source,
        finding.cve,
        finding.status,
        finding.fixedVersion ?? finding.reason,
      ]),
      sources.flatMap(([source, version], index) => [
        [source, `CVE-2099-${1000 + index * 10}`, 'fixed-available', `${version}+herd1`],
        [source, `CVE-2099-${1002 + index * 10}`, 'will-not-fix', 'postponed'],
      ]),
    );
    for (const finding of findings) {
      const binaries = installed.filter((pkg) => pkg.source === finding.source).map((pkg) => pkg.name);
      assert.deepEqual(finding.packages, [...new Set(binaries)].sort());
    }
    assert.equal(staleness(db, { now: new Date('2025-06-02T06:00:00Z'), maxAgeDays: 7 }).kind, 'fresh');
  });

  it('keeps the previous cache when the download breaks off halfway', async () => {
    const home = herdHome({ HERD_HOME: join(work, 'broken') });
    await updateVulnDb(home, { from: `${base}/data/json`, now: new Date() });
    const before = await readFile(vulnDbPath(home));

    await assert.rejects(updateVulnDb(home, { from: `${base}/broken`, now: new Date() }), {
      code: 'VULNDB_FETCH_FAILED',
      message: new RegExp(`download of ${base}/broken failed`),
    });
    await assert.rejects(updateVulnDb(home, { from: `${base}/missing`, now: new Date() }), {
      code: 'VULNDB_FETCH_FAILED',
      message: /HTTP 404/,
    });
    assert.deepEqual(await readFile(vulnDbPath(home)), before);
  });
});
