/**
 * Externalized logs end to end on the real engine: `herd up` of the probe fixture (probe-server,
 * compiled statically at test time, prints a line per request), with syslog (TCP) and OTLP/HTTP
 * forwarding to receivers in this test. Then, through the CLI:
 * - lines printed just before `podman rm -f` of an instance are still in `herd logs probe
 *   --instance <id>` after the instance is gone, labelled with its revision;
 * - `--grep` and `--since` narrow the answer;
 * - `herd logs --follow` prints a new line as it happens;
 * - the same lines reached the syslog and OTLP receivers, and no env value was stored or forwarded.
 * The repository is read through file:// because runHerd blocks this process.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { unwrap } from '../src/server/api-client.js';
import type { FixtureRepo } from './fixtures/apt-repo.js';
import { freshHome, writeSpecDir } from './support/build-harness.js';
import { runHerd } from './support/cli.js';
import { localApi } from './support/control-plane-api.js';
import {
  eventually,
  podmanOf,
  probeRepo,
  probeSpecText,
  type RunningHerd,
  startHerd,
  stopHerd,
  stopHerdPodman,
} from './support/herd-process.js';

const secret = `not-for-logs-${randomBytes(6).toString('hex')}`;

function specText(repo: FixtureRepo): string {
  return probeSpecText(repo, { size: 2, env: { GREETING: secret } });
}

/** A syslog receiver over TCP that splits the octet-counted stream (RFC 6587) into messages. */
async function syslogReceiver(): Promise<{ server: TcpServer; port: number; messages: () => string[] }> {
  const chunks: Buffer[] = [];
  const server = createTcpServer((socket) => socket.on('data', (chunk: Buffer) => chunks.push(chunk)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const messages = () => {
    const stream = Buffer.concat(chunks);
    const found: string[] = [];
    let at = 0;
    while (at < stream.length) {
      const space = stream.indexOf(0x20, at);
      if (space < 0) break;
      const length = Number(stream.toString('ascii', at, space));
      if (space + 1 + length > stream.length) break;
      found.push(stream.toString('utf8', space + 1, space + 1 + length));
      at = space + 1 + length;
    }
    return found;
  };
  return { server, port: (server.address() as { port: number }).port, messages };
}

/** An OTLP/HTTP logs receiver: every body posted to /v1/logs, as parsed JSON. */
async function otlpReceiver(): Promise<{ server: HttpServer; url: string; bodies: unknown[] }> {
  const bodies: unknown[] = [];
  const server = createHttpServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    if (request.url === '/v1/logs') bodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
    response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/v1/logs`;
  return { server, url, bodies };
}

interface Status {
  revision: string;
  instances: { id: string; revision: string; state: string; address?: { host: string; port: number } }[];
}

describe('externalized logs on podman through herd up', () => {
  let repo: FixtureRepo;
  let home: string;
  let up: RunningHerd | undefined;
  let frontDoor: string;
  let syslog: Awaited<ReturnType<typeof syslogReceiver>>;
  let otlp: Awaited<ReturnType<typeof otlpReceiver>>;
  const herd = (args: string[]) => runHerd(args, { home });
  const status = () => JSON.parse(herd(['status', 'probe', '--json']).out) as Status;

  before(async () => {
    syslog = await syslogReceiver();
    otlp = await otlpReceiver();
    repo = await probeRepo();
    home = await freshHome();
    const dir = await writeSpecDir({ 'herd.yaml': specText(repo) });
    up = startHerd(['up', dir], home, {
      HERD_LOG_SYSLOG: `tcp://127.0.0.1:${syslog.port}`,
      HERD_LOG_OTLP: otlp.url,
    });
    frontDoor = (await up.waitFor(/front door {2}(http:\/\/\S+)\//, 120_000))[1]!;
  });

  after(async () => {
    await stopHerd(up);
    if (home) await stopHerdPodman(home);
    await repo?.close();
    syslog?.server.close();
    otlp?.server.close();
  });

  it('keeps the lines of an instance removed with podman rm -f, queryable by instance', async () => {
    const before = status();
    const victim = before.instances.find((i) => i.state === 'running' && i.address)!;
    const marker = `/gone-${randomBytes(4).toString('hex')}`;
    // podman's log timestamps may have whole seconds only: a line printed now can be stamped earlier.
    const since = new Date(Math.floor(Date.now() / 1000) * 1000 - 1000).toISOString();
    for (let i = 0; i < 3; i++) {
      const answer = await fetch(`http://${victim.address!.host}:${victim.address!.port}${marker}`);
      assert.equal(answer.status, 404);
    }
    // probe-server prints after it has answered: give it a moment, then remove without a stop.
    await new Promise((resolve) => setTimeout(resolve, 300));

    (await podmanOf(home))(['rm', '-f', '-t', '0', victim.id]);
    await eventually('the instance to be gone', 10_000, () =>
      status().instances.some((i) => i.id === victim.id) ? undefined : true,
    );
    const logs = await eventually(
      'the removed instance’s lines',
      10_000,
      () => {
        const result = herd(['logs', 'probe', '--instance', victim.id]);
        return result.out.split('\n').filter((l) => l.includes(`GET ${marker} 404`)).length === 3
          ? result
          : undefined;
      },
      () => herd(['logs', 'probe', '--instance', victim.id]).out,
    );
    const grep = herd(['logs', 'probe', '--grep', `${marker} 404$`, '--since', since]);
    const later = herd([
      'logs',
      'probe',
      '--grep',
      marker,
      '--since',
      new Date(Date.now() + 60_000).toISOString(),
    ]);
    const api = await unwrap(
      localApi(home).fleets[':service'].logs.$get({
        param: { service: 'probe' },
        query: { instance: victim.id, grep: marker },
      }),
    );

    assert.equal(logs.status, 0, logs.err);
    assert.ok(logs.out.includes(`${victim.id.slice(0, 12)}   probe listening on :8080`), logs.out);
    assert.equal(grep.out.trim().split('\n').length, 3, `${grep.out}\n${grep.err}`);
    assert.equal(later.status, 0, later.err);
    assert.equal(later.out, '');
    assert.ok(
      grep.out
        .trim()
        .split('\n')
        .every((l) => l.includes(victim.id.slice(0, 12)) && l.endsWith(`GET ${marker} 404`)),
    );
    assert.deepEqual(
      api.lines.map((l) => [l.instance, l.revision, l.stream, l.text]),
      Array(3).fill([victim.id, victim.revision, 'stdout', `GET ${marker} 404`]),
    );
  });

  it('follows new lines as they are printed', async () => {
    const marker = `/follow-${randomBytes(4).toString('hex')}`;
    const follow = startHerd(['logs', 'probe', '--follow', '--tail', '1', '--grep', marker], home);
    try {
      await new Promise((resolve) => setTimeout(resolve, 1500));

      const answer = await fetch(`${frontDoor}${marker}`);
      const printed = await follow.waitFor(new RegExp(`GET ${marker} 404`), 10_000);

      assert.equal(answer.status, 404);
      assert.ok(printed);
    } finally {
      await stopHerd(follow);
    }
  });

  it('forwarded the same lines to syslog and OTLP, and stored or forwarded no env value', async () => {
    const marker = `/forward-${randomBytes(4).toString('hex')}`;

    await fetch(`${frontDoor}${marker}`);
    const message = await eventually('the syslog message', 10_000, () =>
      syslog.messages().find((m) => m.endsWith(`GET ${marker} 404`)),
    );
    const record = await eventually('the OTLP record', 10_000, () =>
      JSON.stringify(otlp.bodies).includes(`GET ${marker} 404`) ? true : undefined,
    );
    const stored = await Promise.all(
      (await readdir(join(home, 'logs', 'probe'))).map((name) =>
        readFile(join(home, 'logs', 'probe', name), 'utf8'),
      ),
    );

    assert.match(
      message,
      /^<14>1 \S+ \S+ probe \S+ stdout \[herd@32473 service="probe" instance="[0-9a-f]+" revision="\w+"\] /,
    );
    assert.ok(record);
    assert.ok(!syslog.messages().some((m) => m.includes(secret)));
    assert.ok(!JSON.stringify(otlp.bodies).includes(secret));
    assert.ok(!stored.some((text) => text.includes(secret)));
  });
});
