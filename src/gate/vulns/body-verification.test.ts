import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type HerdHome, herdHome } from '../../herd-home.js';
import { CacheSeal } from '../../oci/index.js';
import { fileIdentity, verificationRecordPath } from './body-verification.js';
import { loadVerifiedVulnDb, vulnDbPath } from './load.js';
import { matchVulnerabilities } from './match.js';
import { updateVulnDb } from './update.js';

const now = new Date('2025-06-01T12:00:00Z');
/** Past the racy window: the file is old enough to be recorded. */
const later = () => Date.now() + 60_000;
/** A whole second, so that setting it again gives the same mtime to the nanosecond. */
const fixedTime = 1_700_000_000;

const trackerJson = JSON.stringify({
  openssl: {
    'CVE-2024-0001': {
      description: 'A flaw in openssl',
      releases: {
        bookworm: {
          status: 'resolved',
          repositories: { bookworm: '3.0.11-1~deb12u2' },
          fixed_version: '3.0.13-1~deb12u1',
          urgency: 'high',
        },
      },
    },
  },
  zlib: {
    'CVE-2024-0010': {
      description: 'Open in bookworm',
      releases: {
        bookworm: { status: 'open', repositories: { bookworm: '1:1.2.13.dfsg-1' }, urgency: 'low' },
      },
    },
  },
});

const openssl = [
  { name: 'libssl3', version: '3.0.11-1~deb12u2', source: 'openssl', sourceVersion: '3.0.11-1~deb12u2' },
];

let work: string;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'herd-vulndb-verified-'));
});

after(async () => {
  await rm(work, { recursive: true, force: true });
});

/** A home with the cache written, its times set to a whole second in the past. */
async function homeWithCache(name: string, tracker = trackerJson) {
  const root = join(work, name);
  await mkdir(root, { recursive: true });
  const home = herdHome({ HERD_HOME: root });
  const input = join(work, `${name}.json`);
  await writeFile(input, tracker);
  await updateVulnDb(home, { from: input, now });
  await utimes(vulnDbPath(home), fixedTime, fixedTime);
  return home;
}

/** The home's verification record, once a gate has made it: its JSON body. */
async function recordOf(home: HerdHome): Promise<Record<string, unknown> & { lines: string }> {
  const [, body] = (await readFile(verificationRecordPath(home), 'utf8')).split('\n', 2) as [string, string];
  return JSON.parse(body);
}

/** Writes `record` as the home's verification record, sealed with the home's own key. */
async function sealRecord(home: HerdHome, record: object): Promise<void> {
  const body = JSON.stringify(record);
  const seal = await CacheSeal.open(home.cacheSealKey);
  await writeFile(verificationRecordPath(home), `${seal.seal('vulndb-verified', body)}\n${body}`);
}

function fixedVersions(db: Awaited<ReturnType<typeof loadVerifiedVulnDb>>['db']): string[] {
  return matchVulnerabilities(openssl, db, { suite: 'bookworm' }).map((f) => `${f.cve} ${f.fixedVersion}`);
}

describe('the vulnerability cache verified once', () => {
  it('hashes the body once, then opens the same file through its sealed 0600 record', async () => {
    const home = await homeWithCache('once');

    const first = await loadVerifiedVulnDb(home, { nowMs: later() });
    const second = await loadVerifiedVulnDb(home, { nowMs: later() });

    assert.equal(first.verifiedBy, 'hash');
    assert.equal(second.verifiedBy, 'record');
    assert.equal((await stat(verificationRecordPath(home))).mode & 0o777, 0o600);
    assert.deepEqual(second.db.meta, first.db.meta);
    assert.deepEqual(fixedVersions(second.db), ['CVE-2024-0001 3.0.13-1~deb12u1']);
    assert.deepEqual(fixedVersions(second.db), fixedVersions(first.db));
    for (const source of ['openssl', 'zlib', 'not-in-the-data']) {
      assert.deepEqual(second.db.recordsFor(source, 'bookworm'), first.db.recordsFor(source, 'bookworm'));
    }
    assert.equal(second.db.recordsFor('zlib', 'bookworm').length, 1);
  });

  it('finds each source through the record as the hash does, names that begin or end another included', async () => {
    const names = ['ssl', 'openssl', 'openssl1.1', 'zlib', 'zlib-ng', 'a', 'glibc'];
    const tracker = Object.fromEntries(
      names.map((name, i) => [
        name,
        {
          [`CVE-2024-${1000 + i}`]: {
            description: `A flaw in ${name}`,
            releases: {
              bookworm: {
                status: 'resolved',
                repositories: { bookworm: '1.0-1' },
                fixed_version: `1.0-${i + 2}`,
                urgency: 'high',
              },
            },
          },
        },
      ]),
    );
    const home = await homeWithCache('many-names', JSON.stringify(tracker));

    const hashed = await loadVerifiedVulnDb(home, { nowMs: later() });
    const recorded = await loadVerifiedVulnDb(home, { nowMs: later() });

    assert.deepEqual([hashed.verifiedBy, recorded.verifiedBy], ['hash', 'record']);
    names.forEach((name, i) => {
      const records = recorded.db.recordsFor(name, 'bookworm');
      assert.deepEqual(records, hashed.db.recordsFor(name, 'bookworm'), name);
      assert.deepEqual(
        records.map((r) => `${r.source} ${r.id}`),
        [`${name} CVE-2024-${1000 + i}`],
      );
    });
    for (const absent of ['open', 'openssl1', 'zli', 'sl', 'b', '']) {
      assert.deepEqual(recorded.db.recordsFor(absent, 'bookworm'), [], absent);
    }
  });

  it('hashes again over a record of the version before, sealed with the home’s own key', async () => {
    const home = await homeWithCache('older-record');
    await loadVerifiedVulnDb(home, { nowMs: later() });
    const { lines: _lines, ...rest } = await recordOf(home);
    await sealRecord(home, { ...rest, version: 2, sources: 'openssl\nzlib', spans: [0, 1, 0, 1] });

    const { db, verifiedBy } = await loadVerifiedVulnDb(home, { nowMs: later() });

    assert.equal(verifiedBy, 'hash');
    assert.deepEqual(fixedVersions(db), ['CVE-2024-0001 3.0.13-1~deb12u1']);
  });

  it('refuses a line the record places outside the file, though the record is sealed with the home’s key', async () => {
    const home = await homeWithCache('range-outside');
    await loadVerifiedVulnDb(home, { nowMs: later() });
    const record = await recordOf(home);
    const size = (await stat(vulnDbPath(home))).size;
    const lines = record.lines.replace(/\nopenssl\t\d+\t\d+\n/, `\nopenssl\t${size - 2}\t${size + 4096}\n`);
    assert.notEqual(lines, record.lines);
    await sealRecord(home, { ...record, lines });

    const { db, verifiedBy } = await loadVerifiedVulnDb(home, { nowMs: later() });

    assert.equal(verifiedBy, 'record');
    assert.throws(() => db.recordsFor('openssl', 'bookworm'), {
      code: 'VULNDB_CACHE_INVALID',
      message: /vulndb\.verified gives openssl the bytes .* not within the body of/,
    });
    assert.equal(db.recordsFor('zlib', 'bookworm').length, 1);
  });

  it('records no file changed within the racy window, and hashes it every time', async () => {
    const home = await homeWithCache('racy');
    const { ctimeMs } = await stat(vulnDbPath(home));

    const first = await loadVerifiedVulnDb(home, { nowMs: ctimeMs + 100 });
    const second = await loadVerifiedVulnDb(home, { nowMs: ctimeMs + 100 });

    assert.deepEqual([first.verifiedBy, second.verifiedBy], ['hash', 'hash']);
    await assert.rejects(stat(verificationRecordPath(home)), { code: 'ENOENT' });
  });

  it('catches a body rewritten in place with its size and mtime restored: its ctime changed', async () => {
    const home = await homeWithCache('mtime-restored');
    await loadVerifiedVulnDb(home, { nowMs: later() });
    const before = await stat(vulnDbPath(home), { bigint: true });

    const text = await readFile(vulnDbPath(home), 'utf8');
    await writeFile(vulnDbPath(home), text.replace('3.0.13-1~deb12u1', '3.0.10-1~deb12u1'));
    await utimes(vulnDbPath(home), fixedTime, fixedTime);
    const afterTamper = await stat(vulnDbPath(home), { bigint: true });

    // The attacker's file looks the same to size and mtime; only the ctime tells it apart.
    assert.equal(afterTamper.size, before.size);
    assert.equal(afterTamper.mtimeNs, before.mtimeNs);
    assert.equal(afterTamper.ino, before.ino);
    assert.notEqual(afterTamper.ctimeNs, before.ctimeNs);
    await assert.rejects(loadVerifiedVulnDb(home, { nowMs: later() }), {
      code: 'VULNDB_CACHE_INVALID',
      message: /hashes to sha256:/,
    });
  });

  it('ignores a record naming the tampered file but sealed without the key, or with another home’s key', async () => {
    const home = await homeWithCache('forged-record');
    await loadVerifiedVulnDb(home, { nowMs: later() });
    const [, body] = (await readFile(verificationRecordPath(home), 'utf8')).split('\n', 2) as [
      string,
      string,
    ];

    const text = await readFile(vulnDbPath(home), 'utf8');
    await writeFile(vulnDbPath(home), text.replace('3.0.13-1~deb12u1', '3.0.10-1~deb12u1'));
    const forged = {
      ...JSON.parse(body),
      identity: fileIdentity(await stat(vulnDbPath(home), { bigint: true })),
    };
    const otherKey = await CacheSeal.open(join(work, 'other-home-key', 'cache-seal.key'));
    const forgedBody = JSON.stringify(forged);
    for (const seal of ['0'.repeat(64), otherKey.seal('vulndb-verified', forgedBody)]) {
      await writeFile(verificationRecordPath(home), `${seal}\n${forgedBody}`);
      await assert.rejects(loadVerifiedVulnDb(home, { nowMs: later() }), {
        code: 'VULNDB_CACHE_INVALID',
        message: /hashes to sha256:/,
      });
    }
  });

  it('fails a read from a file written to while it is used, rather than mixing two files', async () => {
    const home = await homeWithCache('written-during');
    await loadVerifiedVulnDb(home, { nowMs: later() });
    const { db, verifiedBy } = await loadVerifiedVulnDb(home, { nowMs: later() });
    assert.equal(verifiedBy, 'record');

    const text = await readFile(vulnDbPath(home), 'utf8');
    await writeFile(vulnDbPath(home), text.replace('3.0.13-1~deb12u1', '3.0.10-1~deb12u1'));

    assert.throws(() => db.recordsFor('openssl', 'bookworm'), {
      code: 'VULNDB_CACHE_INVALID',
      message: /was written to while it was being read/,
    });
  });

  it('keeps reading the file it verified when an update renames a new one over it', async () => {
    const home = await homeWithCache('renamed-over');
    await loadVerifiedVulnDb(home, { nowMs: later() });
    const { db, verifiedBy } = await loadVerifiedVulnDb(home, { nowMs: later() });
    assert.equal(verifiedBy, 'record');

    const input = join(work, 'renamed-over-2.json');
    await writeFile(input, trackerJson.replace('3.0.13-1~deb12u1', '3.0.14-1~deb12u1'));
    await updateVulnDb(home, { from: input, now });

    assert.deepEqual(fixedVersions(db), ['CVE-2024-0001 3.0.13-1~deb12u1']);
    const next = await loadVerifiedVulnDb(home, { nowMs: later() });
    assert.equal(next.verifiedBy, 'hash');
    assert.deepEqual(fixedVersions(next.db), ['CVE-2024-0001 3.0.14-1~deb12u1']);
  });
});
