/**
 * A signed apt repository that changes while herd watches it, as Debian's archive does when a
 * security fix lands: served over HTTP on 127.0.0.1, and each `publish` signs a new InRelease with
 * the same key (the fixture's one key per process, test/fixtures/apt-repo.ts) and a newer Date.
 *
 * Each publication is built whole into its own folder (`snapshots/<n>/`) and the server switches
 * to it in one step, so a reader never gets an InRelease of one publication with the Packages of
 * another, except across the instant of the switch (as on a real mirror, between two requests).
 * The repository holds the newest version of each package only, as a suite does. Its one suite is
 * `stable` with codename `bookworm`, as Debian's Release files say, so the tracker's fixes for
 * bookworm apply to it.
 */

import { createReadStream } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve, sep } from 'node:path';
import { createAptRepo, type FixturePackage } from '../fixtures/apt-repo.js';
import { freshHome } from './build-harness.js';
import { compileProbeServer } from './probe-image.js';

/** What probe-server answers on GET / when no GREETING is set. */
export const probeDefaultAnswer = 'hello from probe';
/** What a broken build answers instead: the same length, so one string in the binary changes. */
export const probeBrokenAnswer = 'fails from probe';

export interface Publication {
  /** The InRelease Date, in whole seconds as the archive writes it: when the fix became public. */
  date: Date;
  /** When the server started serving it (at or after `date`: the snapshot is built in between). */
  servedAt: Date;
  packages: { name: string; version: string }[];
}

export interface PublishedRepo {
  /** `http://127.0.0.1:<port>/`. */
  uri: string;
  /** The binary keyring holding the one key every publication is signed with. */
  keyringPath: string;
  /** The publication being served. */
  current(): Publication;
  /**
   * Builds, signs and serves a new publication: these packages replace those of the same name.
   * The hostile options are what a mirror or an attacker in its place serves.
   */
  publish(packages: FixturePackage[], hostile?: HostilePublication): Promise<Publication>;
  /** GET requests served, by path, for tests that assert herd really read the repository. */
  requests(): Map<string, number>;
  close(): Promise<void>;
}

export interface HostilePublication {
  /** `other-key`: signed by a key outside the keyring, as someone without the archive's key would. */
  signWith?: 'other-key';
  /** A Date at or before an earlier publication's: a replayed or frozen Release (a rollback). */
  date?: Date;
}

const suite = { name: 'stable', codename: 'bookworm' };

/** Serves `packages` as a first publication. */
export async function publishedRepo(packages: FixturePackage[]): Promise<PublishedRepo> {
  const root = await freshHome('herd-published-');
  const served = new Map<string, FixturePackage>();
  const requests = new Map<string, number>();
  let generation = 0;
  let snapshot = '';
  let keyringPath = '';
  let latest: Publication | undefined;
  /** The newest Date published so far: the next honest publication is dated after it. */
  let newest = 0;

  const build = async (next: FixturePackage[], hostile: HostilePublication = {}): Promise<Publication> => {
    for (const pkg of next) served.set(pkg.name, pkg);
    const dir = join(root, 'snapshots', String(++generation));
    await mkdir(dir, { recursive: true });
    // RFC 2822 dates have whole seconds; the Release is dated when its building starts.
    const date = hostile.date ?? new Date(Math.floor(Date.now() / 1000) * 1000);
    if (!hostile.date && date.getTime() <= newest) {
      throw new Error(`publication ${generation} would be dated ${date.toISOString()}, not after the last`);
    }
    newest = Math.max(newest, date.getTime());
    const repo = await createAptRepo({
      dir,
      suites: [{ ...suite, date }],
      packages: [...served.values()],
      ...(hostile.signWith ? { signWith: hostile.signWith } : {}),
    });
    // createAptRepo serves what it built on its own port; this repository serves it on one port.
    await repo.close();
    keyringPath ||= repo.keyringPath;
    snapshot = dir;
    latest = {
      date,
      servedAt: new Date(),
      packages: [...served.values()].map((pkg) => ({ name: pkg.name, version: pkg.version })),
    };
    return latest;
  };

  await build(packages);
  const server = createServer((request, response) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    const from = snapshot;
    let path: string;
    let pathname: string;
    try {
      pathname = decodeURIComponent(new URL(request.url ?? '/', 'http://mirror.example').pathname);
      path = resolve(from, `.${pathname}`);
    } catch {
      response.writeHead(400).end();
      return;
    }
    requests.set(pathname, (requests.get(pathname) ?? 0) + 1);
    if (!path.startsWith(from + sep)) {
      response.writeHead(404).end();
      return;
    }
    stat(path).then(
      (info) => {
        if (!info.isFile()) {
          response.writeHead(404).end();
          return;
        }
        response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': info.size });
        if (request.method === 'HEAD') response.end();
        else createReadStream(path).pipe(response);
      },
      () => response.writeHead(404).end(),
    );
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    uri: `http://127.0.0.1:${port}/`,
    keyringPath,
    current: () => latest!,
    publish: async (next, hostile = {}) => {
      // A second publication in the same second would carry the same Date: wait for the next one.
      while (!hostile.date && Math.floor(Date.now() / 1000) * 1000 <= newest) {
        await new Promise((done) => setTimeout(done, 1000 - (Date.now() % 1000)));
      }
      return build(next, hostile);
    },
    requests: () => new Map(requests),
    close: () =>
      new Promise<void>((done, fail) => {
        server.close((error) => (error ? fail(error) : done()));
        server.closeAllConnections();
      }),
  };
}

/** Compiled once per process: each version ships the same program. */
let probeBinary: Promise<Buffer> | undefined;

/** The probe server at `version`; `broken` answers GET / with probeBrokenAnswer instead. */
export async function probeServerPackage(version: string, options: { broken?: boolean } = {}) {
  probeBinary ??= compileProbeServer();
  const binary = await probeBinary;
  return {
    name: 'probe-server',
    version,
    files: [
      {
        path: 'usr/bin/probe-server',
        content: options.broken ? replaceOnce(binary, probeDefaultAnswer, probeBrokenAnswer) : binary,
        mode: 0o755,
      },
    ],
  } satisfies FixturePackage;
}

/** The fixture's base-files, so the image has an os-release. */
export const baseFilesPackage: FixturePackage = {
  name: 'base-files',
  version: '12.4',
  files: [{ path: 'usr/lib/os-release', content: 'ID=debian\n' }],
};

function replaceOnce(binary: Buffer, from: string, to: string): Buffer {
  const at = binary.indexOf(from);
  if (at < 0 || binary.indexOf(from, at + 1) >= 0) {
    throw new Error(`the probe server binary holds "${from}" ${at < 0 ? 'nowhere' : 'more than once'}`);
  }
  const copy = Buffer.from(binary);
  copy.write(to, at, 'latin1');
  return copy;
}

/** A herd.yaml `image.repositories` entry for this repository, read over HTTP. */
export function repositoryYaml(repo: PublishedRepo): string {
  return `    - uri: ${repo.uri}\n      suites: [${suite.name}]\n      keyring: ${repo.keyringPath}\n`;
}
