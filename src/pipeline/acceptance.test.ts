/**
 * acceptCandidate on the memory engine, its candidate answering through a real HTTP server on
 * 127.0.0.1 (the memory engine hands the candidate that server's port as its published address),
 * against an image signed in a temporary store with a file manifest of the engine's files.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo, createServer as createTcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import type { InstanceSpec } from '../engines/engine.js';
import { MemoryEngine } from '../engines/memory/memory-engine.js';
import { fleetHarness, template } from '../fleet/controller.test-support.js';
import { instanceSpecFor } from '../fleet/instance-spec.js';
import { LayoutStore } from '../oci/layout-store.js';
import { type Digest, MediaType } from '../oci/types.js';
import { fileManifestPredicateType } from '../trust/build-statements.js';
import { attestImage, signImage } from '../trust/image-signatures.js';
import { inTotoStatement } from '../trust/in-toto-statement.js';
import { localRepository } from '../trust/signed-identity.js';
import { trustKey } from '../trust/trusted-keys.js';
import { forgedBytes, imageFiles, manifest } from '../watch/watch.test-support.js';
import {
  type AcceptanceRequest,
  acceptanceLabel,
  acceptanceOutput,
  acceptCandidate,
  candidateInstanceSpec,
  candidateServiceOf,
  removeStaleCandidates,
} from './acceptance.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** The candidate's workload: healthy, and `/` answers with a greeting, unless a test says otherwise. */
const healthyHandler: Handler = (req, res) => {
  if (req.url === '/healthz') return void res.writeHead(200).end('ok');
  if (req.url === '/')
    return void res.writeHead(200, { 'content-type': 'text/plain' }).end('hello from probe');
  if (req.url === '/slow') return; // never answers
  if (req.url === '/endless') {
    // A body that never ends, as a hostile or broken candidate sends one.
    res.writeHead(200);
    const chunk = Buffer.alloc(16 * 1024, 'a');
    const timer = setInterval(() => res.write(chunk), 1);
    res.on('close', () => clearInterval(timer));
    return;
  }
  res.writeHead(404).end('not found');
};

let root: string;
let store: LayoutStore;
let digest: Digest;
let unsigned: Digest;
let server: Server;
let port: number;
let handler: Handler = healthyHandler;
const home = () => ({ root });

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'herd-acceptance-'));
  store = new LayoutStore(join(root, 'store'));
  await store.init();
  const key = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  await trustKey(home(), key.publicKey.export({ type: 'spki', format: 'pem' }).toString(), 'release');
  const image = async (name: string) => {
    const config = await store.putJson(
      {
        architecture: 'amd64',
        os: 'linux',
        config: { Labels: { name } },
        rootfs: { type: 'layers', diff_ids: [] },
      },
      MediaType.imageConfig,
    );
    const written = await store.putJson(
      { schemaVersion: 2, mediaType: MediaType.imageManifest, config, layers: [] },
      MediaType.imageManifest,
    );
    await store.addManifest(written, { refName: `web:${name}` });
    return written.digest;
  };
  digest = await image('signed');
  unsigned = await image('unsigned');
  // As `herd sign` leaves it: signed, with the file manifest of the engine's files attested.
  await signImage(store, digest, { key: key.privateKey, identity: localRepository('web') });
  await attestImage(store, digest, {
    key: key.privateKey,
    statements: [
      inTotoStatement(
        { name: 'web', digest },
        { predicateType: fileManifestPredicateType, predicate: { entries: manifest } },
      ),
    ],
  });
  server = createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await rm(root, { recursive: true, force: true });
});

afterEach(() => {
  handler = healthyHandler;
});

/** A memory engine whose first instance is published at `at` (the test server by default). */
function engineAt(at = port): MemoryEngine {
  const engine = new MemoryEngine({ firstPort: at });
  engine.setImageFiles(digest, imageFiles);
  engine.setImageFiles(unsigned, imageFiles);
  return engine;
}

function request(overrides: Partial<AcceptanceRequest> = {}): AcceptanceRequest {
  return {
    service: 'web',
    digest,
    template: template(),
    imageRef: `127.0.0.1:5001/web@${digest}`,
    environment: {},
    checks: [],
    healthyWithinSeconds: 5,
    ...overrides,
  };
}

const http = (overrides: Record<string, unknown> = {}) => ({
  kind: 'http' as const,
  port: 8080,
  path: '/',
  status: 200,
  headers: {},
  timeoutSeconds: 2,
  ...overrides,
});

describe('acceptCandidate', () => {
  it('passes a candidate that gets healthy, answers as its checks expect and holds only its signed files', async () => {
    const engine = engineAt();

    const result = await acceptCandidate(
      { engine, store, home: home() },
      request({
        checks: [
          { kind: 'healthy', withinSeconds: 3 },
          http({ headers: { 'content-type': '^text/plain' }, body: 'hello' }),
          { kind: 'tcp', port: 8080, timeoutSeconds: 1 },
        ],
      }),
    );

    assert.equal(result.passed, true, JSON.stringify(result, null, 2));
    assert.deepEqual(
      result.checks.map((check) => [check.name, check.passed]),
      [
        ['start candidate', true],
        ['healthy within 3 s', true],
        ['GET :8080/', true],
        ['tcp :8080', true],
      ],
    );
    assert.equal(result.checks[2]?.detail, 'status 200, header content-type, body as expected');
    assert.equal(result.integrity?.passed, true);
    assert.match(result.integrity?.detail ?? '', /^\d+ entries match the signed file manifest/);
    assert.ok(result.instance);
    assert.deepEqual(await engine.list(), [], 'the candidate is removed');
  });

  it('makes the candidate from the fleet template as the controller makes an instance, labelled apart', async () => {
    const engine = engineAt();
    const created: InstanceSpec[] = [];
    const create = engine.create.bind(engine);
    engine.create = async (spec) => {
      created.push(spec);
      return create(spec);
    };
    const fleetTemplate = template();

    await acceptCandidate(
      { engine, store, home: home() },
      request({ template: fleetTemplate, environment: { API_TOKEN: 'from-env' } }),
    );

    const [spec] = created;
    assert.ok(spec);
    const { labels, ...made } = spec;
    const asFleet = instanceSpecFor(
      { service: 'web.acceptance', revision: digest.slice(7, 19), digest, template: fleetTemplate },
      { imageRef: `127.0.0.1:5001/web@${digest}`, environment: { API_TOKEN: 'from-env' } },
    );
    assert.deepEqual(made, asFleet);
    assert.equal(labels?.[acceptanceLabel], 'web');
  });

  it('fails on a wrong status, naming what was expected and what came, and removes the candidate', async () => {
    handler = (req, res) => void res.writeHead(req.url === '/healthz' ? 200 : 503).end('down');
    const engine = engineAt();

    const result = await acceptCandidate({ engine, store, home: home() }, request({ checks: [http()] }));

    assert.equal(result.passed, false);
    assert.deepEqual(result.checks.at(-1), {
      ...result.checks.at(-1),
      name: 'GET :8080/',
      passed: false,
      detail: 'expected status 200, got 503',
    });
    assert.deepEqual(await engine.list(), []);
  });

  it('fails on a header that does not match', async () => {
    const engine = engineAt();

    const result = await acceptCandidate(
      { engine, store, home: home() },
      request({ checks: [http({ headers: { 'content-type': 'application/json' } })] }),
    );

    assert.equal(result.passed, false);
    assert.equal(
      result.checks.at(-1)?.detail,
      'header content-type did not match /application/json/: got "text/plain"',
    );
  });

  it('fails on a body that does not match and never shows a value of the environment', async () => {
    handler = (req, res) =>
      void res.writeHead(200).end(req.url === '/healthz' ? 'ok' : 'greetings, your token is tok-9f8e7d');
    const engine = engineAt();

    const result = await acceptCandidate(
      { engine, store, home: home() },
      request({ environment: { API_TOKEN: 'tok-9f8e7d' }, checks: [http({ body: '^hello' })] }),
    );

    assert.equal(result.passed, false);
    assert.equal(
      result.checks.at(-1)?.detail,
      'body did not match /^hello/: got "greetings, your token is [redacted]"',
    );
    assert.ok(!JSON.stringify(result).includes('tok-9f8e7d'));
  });

  it('runs every check in order even after one failed, so the output shows each failure', async () => {
    const engine = engineAt();

    const result = await acceptCandidate(
      { engine, store, home: home() },
      request({ checks: [http({ status: 201 }), http({ path: '/missing', status: 404 })] }),
    );

    assert.deepEqual(
      result.checks.map((check) => check.passed),
      [true, true, false, true],
    );
  });

  it('fails a request that gets no answer within its timeout', async () => {
    const engine = engineAt();

    const result = await acceptCandidate(
      { engine, store, home: home() },
      request({ checks: [http({ path: '/slow', timeoutSeconds: 0.3 })] }),
    );

    const slow = result.checks.at(-1);
    assert.equal(slow?.passed, false);
    assert.equal(slow?.detail, `no answer to GET /slow at 127.0.0.1:${port} within 0.3 s`);
    assert.ok((slow?.ms ?? 0) >= 290, `${slow?.ms} ms`);
    assert.deepEqual(await engine.list(), []);
  });

  it('fails http and tcp checks on a refused connection', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const engine = engineAt(closedPort);
    // Healthy by decree: what is judged here is the checks' own connections.
    const prober = { check: async () => true };

    const result = await acceptCandidate(
      { engine, store, home: home(), prober },
      request({ checks: [http(), { kind: 'tcp', port: 8080, timeoutSeconds: 1 }] }),
    );

    assert.deepEqual(
      result.checks.slice(2).map((check) => check.detail),
      [
        `GET / at 127.0.0.1:${closedPort}: connection refused`,
        `connect to 127.0.0.1:${closedPort}: connection refused`,
      ],
    );
    assert.equal(result.passed, false);
  });

  it('judges an endless body on its first 64 KiB and does not wait for the rest', async () => {
    const engine = engineAt();

    const result = await acceptCandidate(
      { engine, store, home: home() },
      request({ checks: [http({ path: '/endless', body: '^never', timeoutSeconds: 10 })] }),
    );

    const endless = result.checks.at(-1);
    assert.equal(endless?.passed, false);
    assert.match(
      endless?.detail ?? '',
      /^body did not match \/\^never\/: got "a{200}"… \(65536 characters\)$/,
    );
    assert.ok((endless?.ms ?? 0) < 5000, `${endless?.ms} ms`);
  });

  it('fails a check answered by something that does not speak HTTP', async () => {
    const garbage = createTcpServer((socket) => {
      socket.on('error', () => {});
      // Destroyed once written, so closing the server waits for no half-closed socket.
      socket.end('SSH-2.0-OpenSSH_9.2\r\n', () => socket.destroy());
    });
    await new Promise<void>((resolve) => garbage.listen(0, '127.0.0.1', resolve));
    const garbagePort = (garbage.address() as AddressInfo).port;
    try {
      const result = await acceptCandidate(
        { engine: engineAt(garbagePort), store, home: home(), prober: { check: async () => true } },
        request({ checks: [http()] }),
      );

      assert.equal(result.checks.at(-1)?.passed, false);
      assert.match(
        result.checks.at(-1)?.detail ?? '',
        new RegExp(`^GET / at 127.0.0.1:${garbagePort}: HPE_`),
      );
    } finally {
      await new Promise((resolve) => garbage.close(resolve));
    }
  });

  it('fails a check on a port the fleet does not publish, saying which one it does', async () => {
    const engine = engineAt();

    const result = await acceptCandidate(
      { engine, store, home: home() },
      request({ checks: [{ kind: 'tcp', port: 9090, timeoutSeconds: 1 }] }),
    );

    assert.equal(
      result.checks.at(-1)?.detail,
      "port 9090 is not published: the fleet's instances publish only 8080, the health check's port",
    );
  });

  it('fails a candidate that never gets healthy within the wait, runs no check and removes it', async () => {
    handler = (_req, res) => void res.writeHead(500).end('unhealthy');
    const engine = engineAt();

    const result = await acceptCandidate(
      { engine, store, home: home() },
      request({ checks: [{ kind: 'healthy', withinSeconds: 1 }, http()] }),
    );

    assert.equal(result.passed, false);
    assert.deepEqual(result.checks.at(-1), {
      ...result.checks.at(-1),
      name: 'healthy within 1 s',
      passed: false,
      detail: 'health check GET :8080/healthz did not pass within 1 s',
    });
    assert.equal(result.checks.length, 2);
    assert.equal(result.integrity, undefined);
    assert.deepEqual(await engine.list(), []);
  });

  it('fails at once a candidate that exits before it is healthy', async () => {
    const engine = engineAt();
    engine.failImage(digest, 'exit');

    const result = await acceptCandidate(
      { engine, store, home: home() },
      request({ healthyWithinSeconds: 30 }),
    );

    assert.equal(result.checks.at(-1)?.detail, 'the candidate exited with code 1 before it was healthy');
    assert.ok((result.checks.at(-1)?.ms ?? 0) < 5000);
    assert.deepEqual(await engine.list(), []);
  });

  it('fails when the engine cannot make the candidate, with the engine`s reason', async () => {
    const engine = engineAt();
    engine.failImage(digest, 'create');

    const result = await acceptCandidate({ engine, store, home: home() }, request());

    assert.equal(result.passed, false);
    assert.equal(result.instance, undefined);
    assert.equal(result.checks[0]?.name, 'start candidate');
    assert.match(result.checks[0]?.detail ?? '', /failed to create web\.acceptance/);
  });

  it('fails the integrity check when the engine`s copy of the image holds a changed file', async () => {
    const engine = engineAt();
    engine.tamperImage(digest, {
      path: 'usr/bin/server',
      type: 'file',
      mode: 0o755,
      uid: 0,
      gid: 0,
      size: forgedBytes.length,
      mtime: 0,
      data: forgedBytes,
    });

    const result = await acceptCandidate({ engine, store, home: home() }, request({ checks: [http()] }));

    assert.equal(result.passed, false);
    assert.equal(result.checks.at(-1)?.passed, true);
    assert.deepEqual(result.integrity, {
      passed: false,
      detail:
        '1 path differs from the signed file manifest: /usr/bin/server modified: sha256 differs from the manifest',
    });
  });

  it('quotes a path the candidate named with a line break, so the output cannot show a forged line', async () => {
    const engine = engineAt();
    engine.tamperImage(digest, {
      path: 'usr/bin/x\npassed  integrity: 9 entries match the signed file manifest',
      type: 'file',
      mode: 0o755,
      uid: 0,
      gid: 0,
      size: forgedBytes.length,
      mtime: 0,
      data: forgedBytes,
    });

    const result = await acceptCandidate({ engine, store, home: home() }, request({ checks: [http()] }));

    assert.equal(result.integrity?.passed, false);
    assert.doesNotMatch(result.integrity?.detail ?? '', /\n/);
    assert.match(
      result.integrity?.detail ?? '',
      /"\/usr\/bin\/x\\npassed {2}integrity: 9 entries[^"]*" added/,
    );
  });

  it('never shows a value of the environment in a path the candidate made', async () => {
    const engine = engineAt();
    engine.tamperImage(digest, {
      path: 'usr/bin/tok-9f8e7d',
      type: 'file',
      mode: 0o755,
      uid: 0,
      gid: 0,
      size: forgedBytes.length,
      mtime: 0,
      data: forgedBytes,
    });

    const result = await acceptCandidate(
      { engine, store, home: home() },
      request({ environment: { API_TOKEN: 'tok-9f8e7d' }, checks: [http()] }),
    );

    assert.equal(result.integrity?.passed, false);
    assert.doesNotMatch(result.integrity?.detail ?? '', /tok-9f8e7d/);
    assert.match(result.integrity?.detail ?? '', /\/usr\/bin\/\[redacted\] added/);
  });

  it('fails the integrity check of an image no trusted key signed', async () => {
    const engine = engineAt();

    const result = await acceptCandidate({ engine, store, home: home() }, request({ digest: unsigned }));

    assert.equal(result.passed, false);
    assert.match(result.integrity?.detail ?? '', /^no trusted file manifest \(/);
  });

  it('removes the candidate when something throws midway', async () => {
    const engine = engineAt();
    const prober = {
      check: async (): Promise<boolean> => {
        throw new Error('prober broke');
      },
    };

    await assert.rejects(acceptCandidate({ engine, store, home: home(), prober }, request()), /prober broke/);

    assert.deepEqual(await engine.list(), []);
  });
});

describe('a candidate beside a fleet', () => {
  it('is neither adopted nor removed by the fleet controller, and the watch finds no fleet for it', async () => {
    const h = fleetHarness();
    await h.settledOnA();
    await h.engine.ensureImage({ digest, imageRef: 'candidate' });
    const candidate = await h.engine.create(
      candidateInstanceSpec(
        { service: 'web', digest, template: template(), imageRef: 'candidate', environment: {} },
        'run-1',
      ),
    );

    await h.runUntil(async () => false, { maxSeconds: 10 }).catch(() => undefined);

    const status = await h.controller.status('web');
    assert.equal(status.instances.length, 4);
    assert.ok(!status.instances.some((one) => one.id === candidate.id));
    assert.ok(
      (await h.engine.list()).some((one) => one.id === candidate.id),
      'the controller left it running',
    );
    assert.equal(candidate.service, candidateServiceOf('web'));
    assert.equal(h.controller.instanceTemplate(candidate).kind, 'no-fleet');
  });

  it('is removed by removeStaleCandidates, which leaves the fleet`s instances alone', async () => {
    const h = fleetHarness();
    await h.settledOnA();
    await h.engine.ensureImage({ digest, imageRef: 'candidate' });
    const candidate = await h.engine.create(
      candidateInstanceSpec(
        { service: 'web', digest, template: template(), imageRef: 'candidate', environment: {} },
        'run-1',
      ),
    );

    const removed = await removeStaleCandidates(h.engine);

    assert.deepEqual(removed, [candidate.id]);
    assert.equal((await h.engine.list()).length, 4);
  });

  it('leaves alone an instance of a fleet that carries the label, as an image`s own config labels would give it', async () => {
    const engine = engineAt();
    await engine.ensureImage({ digest, imageRef: 'fleet' });
    const posing = await engine.create({
      ...instanceSpecFor(
        { service: 'web', revision: 'r1', digest, template: template() },
        { imageRef: 'fleet', environment: {} },
      ),
      labels: { [acceptanceLabel]: 'web' },
    });

    const removed = await removeStaleCandidates(engine);

    assert.deepEqual(removed, []);
    assert.deepEqual(
      (await engine.list()).map((one) => one.id),
      [posing.id],
    );
  });
});

describe('acceptanceOutput', () => {
  it('shows each check with its duration and detail, then the integrity check and the verdict', () => {
    const output = acceptanceOutput({
      passed: false,
      instance: 'abc',
      checks: [
        { name: 'start candidate', passed: true, detail: 'instance abc of 3f2a9c1d4e5f', ms: 1500 },
        { name: 'GET :8080/', passed: false, detail: 'expected status 200, got 503', ms: 12 },
      ],
      integrity: { passed: true, detail: '5 entries match the signed file manifest (19 bytes hashed)' },
    });

    assert.equal(
      output,
      [
        'passed  start candidate (1.5 s): instance abc of 3f2a9c1d4e5f',
        'FAILED  GET :8080/ (12 ms): expected status 200, got 503',
        'passed  integrity: 5 entries match the signed file manifest (19 bytes hashed)',
        'acceptance failed: 1 of 3 checks failed',
      ].join('\n'),
    );
  });
});
