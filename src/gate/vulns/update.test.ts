import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { herdHome } from '../../herd-home.js';
import { loadVulnDb, staleness, vulnDbPath } from './load.js';
import { matchVulnerabilities } from './match.js';
import { updateVulnDb } from './update.js';

const now = new Date('2025-06-01T12:00:00Z');

const trackerData = {
  openssl: {
    'CVE-2024-0001': {
      description: 'A flaw in openssl',
      scope: 'remote',
      releases: {
        bookworm: {
          status: 'resolved',
          repositories: { bookworm: '3.0.11-1~deb12u2', 'bookworm-security': '3.0.13-1~deb12u1' },
          fixed_version: '3.0.13-1~deb12u1',
          urgency: 'high',
        },
        trixie: {
          status: 'resolved',
          repositories: { trixie: '3.1.5-1' },
          fixed_version: '3.0.13-1',
          urgency: 'high',
        },
      },
    },
    'CVE-2024-0002': {
      description: 'Never affected',
      releases: { bookworm: { status: 'resolved', fixed_version: '0', urgency: 'unimportant' } },
    },
  },
  zlib: {
    'CVE-2024-0010': {
      description: 'Open in bookworm',
      releases: {
        bookworm: { status: 'open', repositories: { bookworm: '1:1.2.13.dfsg-1' }, urgency: 'low*' },
        trixie: { status: 'undetermined', urgency: 'not yet assigned' },
      },
    },
  },
};

const trackerJson = JSON.stringify(trackerData, null, 1);

let work: string;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'herd-vulndb-'));
});

after(async () => {
  await rm(work, { recursive: true, force: true });
});

async function freshHome(name: string) {
  const root = join(work, name);
  await mkdir(root, { recursive: true });
  return herdHome({ HERD_HOME: root });
}

async function writeInput(name: string, data: string | Uint8Array): Promise<string> {
  const path = join(work, name);
  await writeFile(path, data);
  return path;
}

/** A fetch that serves `body` in small chunks, as a slow server would. */
function fetchServing(body: Uint8Array, init: { status?: number; headers?: Record<string, string> } = {}) {
  const requested: string[] = [];
  const fetchFunction = async (url: string) => {
    requested.push(url);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < body.length; i += 7) controller.enqueue(body.subarray(i, i + 7));
        controller.close();
      },
    });
    return new Response(stream, { status: init.status ?? 200, headers: init.headers ?? {} });
  };
  return { fetchFunction, requested };
}

describe('updateVulnDb', () => {
  it('loads gzip tracker JSON from a file into a cache that matching can read', async () => {
    const home = await freshHome('gzip-file');
    const from = await writeInput('tracker.json.gz', gzipSync(trackerJson));

    const update = await updateVulnDb(home, { from, now });
    const db = await loadVulnDb(home);
    const findings = matchVulnerabilities(
      [
        {
          name: 'libssl3',
          version: '3.0.11-1~deb12u2',
          source: 'openssl',
          sourceVersion: '3.0.11-1~deb12u2',
        },
      ],
      db,
      { suite: 'bookworm' },
    );

    assert.equal(update.path, vulnDbPath(home));
    assert.deepEqual(
      { ...update.meta, dataDate: undefined },
      {
        source: from,
        inputFormat: 'debian-tracker',
        fetchedAt: now.toISOString(),
        dataDate: undefined,
        suites: ['bookworm', 'trixie'],
        records: 3,
        vulnerabilities: 2,
        sourcePackages: 2,
        skipped: { 'not-affected': 1, undetermined: 1, 'other-suite': 0 },
      },
    );
    assert.deepEqual(db.meta, update.meta);
    assert.deepEqual(
      findings.map((finding) => [finding.cve, finding.status, finding.fixedVersion]),
      [['CVE-2024-0001', 'fixed-available', '3.0.13-1~deb12u1']],
    );
  });

  it('streams plain or gzip JSON from a URL and keeps Last-Modified as the data date', async () => {
    for (const body of [Buffer.from(trackerJson), gzipSync(trackerJson)]) {
      const home = await freshHome(`url-${body[0]}`);
      const { fetchFunction, requested } = fetchServing(body, {
        headers: { 'last-modified': 'Sat, 31 May 2025 08:00:00 GMT' },
      });

      const update = await updateVulnDb(home, {
        from: 'https://192.0.2.1/data/json',
        fetch: fetchFunction,
        now,
      });

      assert.deepEqual(requested, ['https://192.0.2.1/data/json']);
      assert.equal(update.meta.records, 3);
      assert.equal(update.meta.dataDate, '2025-05-31T08:00:00.000Z');
    }
  });

  it('keeps only the suites asked for, and says which ones the data has when one is missing', async () => {
    const home = await freshHome('suites');
    const from = await writeInput('suites.json', trackerJson);

    const update = await updateVulnDb(home, { from, now, suites: ['bookworm'] });

    assert.deepEqual(update.meta.suites, ['bookworm']);
    assert.equal(update.meta.skipped['other-suite'], 2);
    await assert.rejects(updateVulnDb(home, { from, now, suites: ['bookworm', 'buster'] }), {
      code: 'VULNDB_RELEASE_UNKNOWN',
      message: /has no data for buster; it has: bookworm, trixie/,
    });
  });

  it('takes the source from HERD_VULNDB_URL, and asks for --from when neither is given', async () => {
    const home = await freshHome('env');
    const from = await writeInput('env.json', trackerJson);

    const update = await updateVulnDb(home, { now, env: { HERD_VULNDB_URL: from } });

    assert.equal(update.meta.source, from);
    await assert.rejects(updateVulnDb(home, { now, env: {} }), {
      code: 'VULNDB_SOURCE_MISSING',
      message: /pass --from <url\|file> .* or set HERD_VULNDB_URL/,
    });
  });

  it('refuses malformed input with the file and byte offset, and leaves the previous cache intact', async () => {
    const home = await freshHome('malformed');
    await updateVulnDb(home, { from: await writeInput('good.json', trackerJson), now });
    const before = await readFile(vulnDbPath(home));
    const gzipped = gzipSync(trackerJson);
    const inputs: [string, string | Uint8Array, RegExp][] = [
      [
        'truncated.json.gz',
        gzipped.subarray(0, gzipped.length - 40),
        /truncated\.json\.gz is not valid gzip/,
      ],
      [
        'cut.json',
        trackerJson.slice(0, 200),
        /cut\.json: invalid JSON at byte \d+: the document ends early inside the value of "openssl"/,
      ],
      [
        'bad-token.json',
        '{"openssl": {"CVE-1": {"releases": nope}}}',
        /bad-token\.json: invalid JSON at byte \d+: invalid JSON in the value of "openssl"/,
      ],
      [
        'bad-status.json',
        JSON.stringify({ zlib: { 'CVE-9': { releases: { bookworm: { status: 'fixed' } } } } }),
        /bad-status\.json: source package "zlib" \(byte 8\), at CVE-9\.releases\.bookworm: status is "fixed"/,
      ],
      [
        'bad-shape.json',
        JSON.stringify({ zlib: { 'CVE-9': { releases: [] } } }),
        /bad-shape\.json: source package "zlib" \(byte 8\), at CVE-9\.releases/,
      ],
      [
        'bad-version.json',
        JSON.stringify({
          zlib: { 'CVE-9': { releases: { bookworm: { status: 'resolved', fixed_version: '1:' } } } },
        }),
        /at CVE-9\.releases\.bookworm: fixed_version invalid debian version "1:"/,
      ],
    ];

    for (const [name, data, message] of inputs) {
      const from = await writeInput(name, data);

      await assert.rejects(updateVulnDb(home, { from, now }), { code: 'VULNDB_MALFORMED', message }, name);
      assert.deepEqual(await readFile(vulnDbPath(home)), before, `${name} left the cache as it was`);
    }
  });

  it('refuses an input with no vulnerability rather than emptying the cache', async () => {
    const home = await freshHome('empty');
    const from = await writeInput('empty.json', '{}');

    await assert.rejects(updateVulnDb(home, { from, now }), { code: 'VULNDB_EMPTY' });
  });

  it('reports a failed download as VULNDB_FETCH_FAILED', async () => {
    const home = await freshHome('http-error');
    const { fetchFunction } = fetchServing(Buffer.from('gone'), { status: 404 });

    await assert.rejects(
      updateVulnDb(home, { from: 'https://192.0.2.1/data/json', fetch: fetchFunction, now }),
      {
        code: 'VULNDB_FETCH_FAILED',
        message: 'could not fetch https://192.0.2.1/data/json: HTTP 404',
      },
    );
  });

  it('writes the same bytes for the same input', async () => {
    const homeA = await freshHome('same-a');
    const homeB = await freshHome('same-b');
    const from = await writeInput('same.json', trackerJson);
    const reordered = await writeInput(
      'same-reordered.json',
      JSON.stringify({ zlib: trackerData.zlib, openssl: trackerData.openssl }),
    );

    await updateVulnDb(homeA, { from, now });
    await updateVulnDb(homeB, { from: reordered, now });
    const a = (await readFile(vulnDbPath(homeA), 'utf8')).split('\n').slice(1);
    const b = (await readFile(vulnDbPath(homeB), 'utf8')).split('\n').slice(1);

    assert.deepEqual(a, b);
  });

  it('reads a directory of OSV records, and a single array of them', async () => {
    const dir = join(work, 'osv');
    await mkdir(dir, { recursive: true });
    const record = {
      id: 'DEBIAN-CVE-2024-0100',
      upstream: ['CVE-2024-0100'],
      modified: '2025-05-30T00:00:00Z',
      details: 'A flaw in zlib',
      affected: [
        {
          package: { ecosystem: 'Debian:12', name: 'zlib' },
          ranges: [
            { type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '1:1.2.13.dfsg-1+deb12u1' }] },
          ],
          ecosystem_specific: { urgency: 'medium' },
        },
      ],
    };
    await writeFile(join(dir, 'DEBIAN-CVE-2024-0100.json'), JSON.stringify(record));
    await writeFile(join(dir, 'README.txt'), 'not a record');
    const array = await writeInput('osv-array.json', JSON.stringify([record]));

    for (const from of [dir, array]) {
      const home = await freshHome(`osv-${from === dir ? 'dir' : 'array'}`);

      const update = await updateVulnDb(home, { from, now });
      const findings = matchVulnerabilities(
        [{ name: 'zlib1g', version: '1:1.2.13.dfsg-1', source: 'zlib', sourceVersion: '1:1.2.13.dfsg-1' }],
        await loadVulnDb(home),
        { suite: 'bookworm' },
      );

      assert.equal(update.meta.inputFormat, 'osv');
      assert.equal(update.meta.dataDate, from === dir ? '2025-05-30T00:00:00.000Z' : update.meta.dataDate);
      assert.deepEqual(
        findings.map((finding) => [finding.cve, finding.status, finding.fixedVersion, finding.severity]),
        [['CVE-2024-0100', 'fixed-available', '1:1.2.13.dfsg-1+deb12u1', 'medium']],
      );
    }
  });
});

describe('loadVulnDb', () => {
  it('says to run herd vulndb update when there is no cache yet', async () => {
    const home = await freshHome('no-cache');

    await assert.rejects(loadVulnDb(home), {
      code: 'VULNDB_MISSING',
      message: /run herd vulndb update --from/,
    });
  });

  it('refuses a cache whose body no longer matches its checksum', async () => {
    const home = await freshHome('tampered');
    await updateVulnDb(home, { from: await writeInput('tamper.json', trackerJson), now });
    const text = await readFile(vulnDbPath(home), 'utf8');
    await writeFile(vulnDbPath(home), text.replace('3.0.13-1~deb12u1', '3.0.10-1~deb12u1'));

    await assert.rejects(loadVulnDb(home), { code: 'VULNDB_CACHE_INVALID', message: /hashes to sha256:/ });
  });
});

describe('staleness', () => {
  const meta = {
    source: 'data.json',
    inputFormat: 'debian-tracker' as const,
    fetchedAt: '2025-06-01T00:00:00.000Z',
    dataDate: '2025-05-20T00:00:00.000Z',
    suites: ['bookworm'],
    records: 1,
    vulnerabilities: 1,
    sourcePackages: 1,
    skipped: { 'not-affected': 0, undetermined: 0, 'other-suite': 0 },
  };

  it("measures the age from the data's own date and warns past the limit", () => {
    const result = staleness({ meta }, { now: new Date('2025-06-01T00:00:00Z'), maxAgeDays: 7 });

    assert.equal(result.kind, 'stale');
    assert.equal(result.age.days, 12);
    assert.equal(result.age.basis, 'data-date');
    assert.match(
      result.kind === 'stale' ? result.message : '',
      /12\.0 days old .* older than the 7-day limit/,
    );
  });

  it('is fresh within the limit, measured from the fetch when the data has no date', () => {
    const { dataDate: _none, ...undated } = meta;

    const result = staleness({ meta: undated }, { now: new Date('2025-06-03T00:00:00Z'), maxAgeDays: 7 });

    assert.equal(result.kind, 'fresh');
    assert.equal(result.age.days, 2);
    assert.equal(result.age.basis, 'fetched-at');
  });
});
