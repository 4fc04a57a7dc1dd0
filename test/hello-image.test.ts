/**
 * examples/hello against the Debian archive configured on this host: build it twice in fresh
 * HERD_HOMEs, check the store with skopeo and oci-image-tool, export it, load it into podman and
 * serve GET / from a read-only, non-root container running on runc.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { artifactTypes } from '../src/builder/build-image.js';
import type { FileManifest } from '../src/builder/file-manifest.js';
import { comparePaths } from '../src/builder/image-tree.js';
import type { Lock } from '../src/builder/lock-file.js';
import { LayoutStore } from '../src/oci/layout-store.js';
import type { Digest } from '../src/oci/types.js';
import { projectRoot, runHerd } from './support/cli.js';
import { freePort } from './support/free-port.js';
import { flattenLayers } from './support/layers.js';
import { requireTool, type TestPodman, testPodman } from './support/podman.js';

const root = projectRoot;

function herd(args: string[], home: string): string {
  const result = runHerd(args, { home });
  assert.equal(result.status, 0, `herd ${args.join(' ')} failed:\n${result.err}`);
  return result.out;
}

function digestIn(stdout: string): string {
  const match = /digest\s+(sha256:[0-9a-f]{64})/.exec(stdout);
  assert.ok(match, `no digest in:\n${stdout}`);
  return match[1] as string;
}

async function fetchText(url: string, attempts = 50): Promise<string> {
  for (let i = 0; ; i++) {
    try {
      const response = await fetch(url);
      return await response.text();
    } catch (error) {
      if (i >= attempts) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/**
 * A copy of the store's layout with index.json cut down to its images. oci-image-tool (1.0)
 * cannot pick a name out of an index.json whose other entries sit side by side: its ref filter
 * (image/descriptor.go, findDescriptor) skips the entry after each one it drops. herd keeps its
 * referrers in index.json as OCI 1.1 layouts do (so umoci gc and skopeo keep them), so the image
 * itself is validated through this view.
 */
async function imageEntriesOnly(store: string, parent: string): Promise<string> {
  const view = await mkdtemp(join(parent, 'layout-view-'));
  const index = JSON.parse(await readFile(join(store, 'index.json'), 'utf8')) as {
    manifests: { artifactType?: string }[];
  };
  await writeFile(
    join(view, 'index.json'),
    JSON.stringify({ ...index, manifests: index.manifests.filter((entry) => !entry.artifactType) }),
  );
  await cp(join(store, 'oci-layout'), join(view, 'oci-layout'));
  // oci-image-tool wants blobs/ to be a folder, not a link to one.
  await cp(join(store, 'blobs'), join(view, 'blobs'), { recursive: true });
  return view;
}

describe('examples/hello built from the host archive', () => {
  let work: string;
  let homeA: string;
  let digest: string;
  let podman: TestPodman;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'herd-hello-'));
    await cp(join(root, 'examples/hello'), join(work, 'hello'), { recursive: true });
    await rm(join(work, 'hello', 'herd.lock'), { force: true });
    homeA = join(work, 'home-a');
    digest = digestIn(herd(['build', join(work, 'hello')], homeA));
  });

  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('gives identical manifest digests in two fresh HERD_HOMEs', () => {
    const again = digestIn(herd(['build', join(work, 'hello')], join(work, 'home-b')));

    assert.equal(again, digest);
  });

  it('has a status.d entry for every locked package and a file manifest equal to its layers', async () => {
    const store = new LayoutStore(join(homeA, 'store'));
    const lock = JSON.parse(await readFile(join(work, 'hello', 'herd.lock'), 'utf8')) as Lock;
    const files = await flattenLayers(store, digest as Digest);
    const [referrer] = await store.referrers(digest as Digest, { artifactType: artifactTypes.fileManifest });
    const manifest = await store.getJson<FileManifest>(
      (await store.getManifest(referrer!.digest)).layers[0]!.digest,
    );

    for (const pkg of lock.packages) assert.ok(files.has(`/var/lib/dpkg/status.d/${pkg.name}`), pkg.name);
    assert.deepEqual(
      manifest.entries,
      [...files.values()].sort((a, b) => comparePaths(a.path, b.path)),
    );
    assert.ok(files.has('/etc/os-release'), 'os-release from base-files');
  });

  it('lists and inspects the image with herd image', () => {
    const list = herd(['image', 'ls'], homeA);
    const inspected = JSON.parse(herd(['image', 'inspect', 'hello:0.1.0'], homeA));

    assert.match(list, new RegExp(`hello:0\\.1\\.0\\s+${digest}`));
    assert.equal(inspected.digest, digest);
    assert.equal(inspected.config.config.User, '65532:65532');
    // SPDX, CycloneDX, provenance, the file manifest, the run template, and the verdict of the
    // gate herd build ran.
    assert.deepEqual(inspected.referrers.map((r: { artifactType?: string }) => r.artifactType).sort(), [
      'application/spdx+json',
      'application/vnd.cyclonedx+json',
      'application/vnd.herd.file-manifest.v1+json',
      'application/vnd.herd.gate-verdict.v1+json',
      'application/vnd.herd.run-template.v1+json',
      'application/vnd.in-toto+json',
    ]);
  });

  it("runs the README tour's image commands as written, with the names the build gives", async () => {
    const readme = await readFile(join(root, 'README.md'), 'utf8');
    const tour = /## A tour\n\n```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
    const commands = tour
      .split('\n')
      .map((line) => line.replace(/\s+#.*$/, '').trim())
      .filter((line) => line.startsWith('npm run herd -- image '))
      .map((line) => line.slice('npm run herd -- '.length).split(/\s+/));
    assert.ok(commands.length >= 3, `the tour's image commands: ${tour}`);

    for (const args of commands) {
      // The tour writes its output beside the user; here it goes into the test's folder.
      const output = args.indexOf('-o');
      if (output >= 0) args[output + 1] = join(work, args[output + 1] as string);
      const result = runHerd(args, { home: homeA });
      assert.equal(
        result.status,
        0,
        `herd ${args.join(' ')} (as the README tour writes it) failed:\n${result.err}`,
      );
    }
  });

  it('leaves a store that skopeo inspects and oci-image-tool validates', async () => {
    requireTool('skopeo', 'skopeo');
    requireTool('oci-image-tool', 'oci-image-tool');
    const store = join(homeA, 'store');
    const imagesOnly = await imageEntriesOnly(store, work);

    const inspect = spawnSync('skopeo', ['inspect', `oci:${store}:hello:0.1.0`], { encoding: 'utf8' });
    const validate = spawnSync(
      'oci-image-tool',
      ['validate', '--type', 'image', '--ref', 'name=hello:0.1.0', imagesOnly],
      {
        encoding: 'utf8',
      },
    );

    assert.equal(inspect.status, 0, inspect.stderr);
    assert.equal(JSON.parse(inspect.stdout).Digest, digest);
    assert.equal(validate.status, 0, validate.stderr);
    assert.match(validate.stdout + validate.stderr, /Validation succeeded/);
  });

  it('serves GET / from podman with a read-only root as uid 65532 on runc after export', async () => {
    podman = await testPodman();
    const archive = join(work, 'hello.tar');
    herd(['image', 'export', digest, '--format', 'docker-archive', '-o', archive], homeA);
    const load = podman.run(['load', '-i', archive]);
    assert.equal(load.status, 0, load.stderr);
    const port = await freePort();
    const name = `herd-hello-${port}`;

    const started = podman.run([
      'run',
      '-d',
      '--name',
      name,
      '--read-only',
      '--user',
      '65532',
      '--cap-drop',
      'ALL',
      '--security-opt',
      'no-new-privileges',
      '--network',
      'host',
      '-e',
      `PORT=${port}`,
      '-e',
      'GREETING=hello from the test',
      'localhost/hello:0.1.0',
    ]);
    try {
      assert.equal(started.status, 0, started.stderr);
      const runtime = podman.run(['inspect', '--format', '{{.OCIRuntime}}', name]).stdout.trim();

      assert.equal(await fetchText(`http://127.0.0.1:${port}/`), 'hello from the test\n');
      assert.equal(await fetchText(`http://127.0.0.1:${port}/healthz`), 'ok\n');
      assert.equal(runtime, 'runc');
    } finally {
      podman.run(['rm', '-f', '-t', '0', name]);
      await rm(podman.dir, { recursive: true, force: true }).catch(() => {});
    }
  });
});
