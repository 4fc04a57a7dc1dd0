import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { type TrackerFix, trackerJson } from '../../test/support/tracker-json.js';
import type { FakeClock } from '../common/clock.test-support.js';
import { vulnDbPath } from '../gate/vulns/load.js';
import { type SupplyChainHome, supplyChainHome } from './supply-chain.test-support.js';
import { sourceForLog, VulnDataRefresh, vulnDataRefreshDue } from './vulndb-refresh.js';
import { updateVulnerabilityData } from './vulndb-update.js';

const interval = 300;
const at = Date.UTC(2026, 0, 1, 12);

describe('vulnDataRefreshDue', () => {
  const due = (fetchedAt: string | undefined, lastAttemptAt: number | undefined, now = at) =>
    vulnDataRefreshDue({ fetchedAt, lastAttemptAt, now, intervalSeconds: interval }).due;

  it('is due when there is no data yet', () => {
    assert.equal(due(undefined, undefined), true);
  });

  it('is due once the data was fetched an interval ago or more, not before', () => {
    assert.equal(due(new Date(at - interval * 1000).toISOString(), undefined), true);
    assert.equal(due(new Date(at - interval * 1000 + 1).toISOString(), undefined), false);
  });

  it('is never due twice within an interval, whichever fleet asks and whatever the last attempt gave', () => {
    const stale = new Date(at - 10 * interval * 1000).toISOString();

    assert.equal(due(stale, at - interval * 1000 + 1), false);
    assert.equal(due(undefined, at - 1000), false);
    assert.equal(due(stale, at - interval * 1000), true);
  });

  it('is due when the data says it was fetched after now, or when its time does not read', () => {
    assert.equal(due(new Date(at + 60_000).toISOString(), undefined), true);
    assert.equal(due('yesterday', undefined), true);
  });
});

describe('VulnDataRefresh', () => {
  let home: SupplyChainHome;
  let clock: FakeClock;
  let server: Server;
  let url: string;
  /** What the server answers next, and how many requests it had. */
  let serving: { status: number; fixes: TrackerFix[] };
  let requests = 0;
  const infos: string[] = [];
  const warnings: { meta: Record<string, unknown>; message: string }[] = [];
  const fix = (cve: string): TrackerFix => ({
    cve,
    source: 'tiny-bin',
    codename: 'bookworm',
    fixedVersion: '1.1',
    urgency: 'high',
  });

  before(async () => {
    server = createServer((_request, response) => {
      requests++;
      response.writeHead(serving.status, { 'content-type': 'application/json' });
      response.end(
        serving.status === 200 ? JSON.stringify(trackerJson(serving.fixes)) : 'down for maintenance',
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/tracker/data/json?token=s3cret`;
  });

  after(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  beforeEach(async () => {
    await home?.close();
    home = await supplyChainHome();
    clock = home.parts.clock as FakeClock;
    serving = { status: 200, fixes: [fix('CVE-2026-0001')] };
    requests = 0;
    infos.length = 0;
    warnings.length = 0;
  });

  after(async () => {
    await home?.close();
  });

  function refresher() {
    return new VulnDataRefresh({
      home: home.home,
      state: home.state,
      clock,
      log: {
        info: (_meta, message) => infos.push(message),
        warn: (meta, message) => warnings.push({ meta, message }),
      },
      from: url,
    });
  }

  it('refreshes stale data from the source before a check and journals vulndb-update', async () => {
    await updateVulnerabilityData(home.parts, { from: url });
    serving.fixes = [fix('CVE-2026-0001'), fix('CVE-2026-0002')];
    clock.advance(interval * 1000);

    const data = await refresher().current({ intervalSeconds: interval });

    assert.equal(requests, 2);
    assert.equal(data?.meta.records, 2);
    assert.equal(data?.meta.fetchedAt, new Date(clock.now()).toISOString());
    assert.equal(home.entries('vulndb-update').length, 2);
    assert.deepEqual(infos, ['refreshed the vulnerability data before an update check']);
  });

  it('fetches the first data when there is none', async () => {
    const data = await refresher().current({ intervalSeconds: interval });

    assert.equal(data?.meta.records, 1);
    assert.equal(requests, 1);
  });

  it('leaves data younger than the interval alone', async () => {
    await updateVulnerabilityData(home.parts, { from: url });
    clock.advance(interval * 1000 - 1000);

    const data = await refresher().current({ intervalSeconds: interval });

    assert.equal(requests, 1);
    assert.equal(data?.meta.records, 1);
    assert.equal(home.entries('vulndb-update').length, 1);
  });

  it('refreshes once per interval across fleets, however short their own intervals', async () => {
    const refresh = refresher();
    await refresh.current({ intervalSeconds: interval });
    clock.advance(10_000);

    await refresh.current({ intervalSeconds: 5 });
    await refresh.current({ intervalSeconds: interval });

    assert.equal(requests, 2);
  });

  it('keeps the old data when the source fails, warns without the token, and the check goes on', async () => {
    await updateVulnerabilityData(home.parts, { from: url });
    const before = await readFile(vulnDbPath(home.home));
    serving.status = 503;
    clock.advance(interval * 1000);
    const refresh = refresher();

    const data = await refresh.current({ intervalSeconds: interval });
    const again = await refresh.current({ intervalSeconds: interval });

    assert.equal(data?.meta.records, 1);
    assert.equal(again?.meta.records, 1);
    assert.deepEqual(await readFile(vulnDbPath(home.home)), before);
    assert.equal(requests, 2, 'a failing source is asked once per interval, not on every check');
    assert.equal(home.entries('vulndb-update').length, 1);
    assert.equal(warnings.length, 1);
    assert.equal(
      warnings[0]?.message,
      'the vulnerability data could not be refreshed; the check goes on with the data herd has',
    );
    assert.equal(warnings[0]?.meta.code, 'VULNDB_FETCH_FAILED');
    assert.doesNotMatch(JSON.stringify(warnings[0]?.meta), /s3cret/);
    assert.match(String(warnings[0]?.meta.err), /HTTP 503/);
  });

  it('keeps the old data when the source serves something that is not tracker JSON', async () => {
    await updateVulnerabilityData(home.parts, { from: url });
    serving.fixes = [];
    clock.advance(interval * 1000);

    const data = await refresher().current({ intervalSeconds: interval });

    assert.equal(data?.meta.records, 1);
    assert.equal(warnings[0]?.meta.code, 'VULNDB_EMPTY');
  });

  it('replaces a damaged cache from the source, and reports the damage when the source fails too', async () => {
    await mkdir(dirname(vulnDbPath(home.home)), { recursive: true });
    await writeFile(vulnDbPath(home.home), 'not a cache\n');
    serving.status = 503;

    await assert.rejects(refresher().current({ intervalSeconds: interval }), {
      code: 'VULNDB_CACHE_INVALID',
    });
    serving.status = 200;
    const repaired = await refresher().current({ intervalSeconds: interval });

    assert.equal(repaired?.meta.records, 1);
  });
});

describe('sourceForLog', () => {
  it('drops the user, password, query and fragment of a URL, and shows a file as it is', () => {
    assert.equal(
      sourceForLog('https://bot:pw@vulns.example/data/json?token=abc#x'),
      'https://vulns.example/data/json',
    );
    assert.equal(sourceForLog('/srv/herd/tracker.json'), '/srv/herd/tracker.json');
  });
});
