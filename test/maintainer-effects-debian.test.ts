/**
 * What maintainer scripts would have done, done by the build, on real packages from the Debian
 * archive configured on this host (as examples/hello is built): gawk's postinst gives /usr/bin/awk,
 * nginx-common's gives www-data, /var/www/html and sites-enabled/default. And an entrypoint that is
 * not in the image fails the build, with no image left in the store.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { artifactTypes } from '../src/builder/build-image.js';
import { BuildError } from '../src/builder/errors.js';
import { formatLock } from '../src/builder/lock-file.js';
import { gateImage } from '../src/gate/evaluate-gate.js';
import { type ImageView, loadImageView } from '../src/gate/image-view.js';
import type { LayoutStore } from '../src/oci/layout-store.js';
import type { Digest } from '../src/oci/types.js';
import {
  freshHome,
  type LockedBuild,
  lockAndBuild,
  openHomeStore,
  writeSpecDir,
} from './support/build-harness.js';

const spec = (service: string, body: string) => `apiVersion: herd/v1
service: ${service}
image:
  suite: bookworm
${body}`;

function text(view: ImageView, path: string): string {
  const node = view.files.get(path);
  assert.ok(node?.type === 'file', `${path} is a file in the image`);
  return (node.data ?? Buffer.alloc(0)).toString('utf8');
}

function linkTarget(view: ImageView, path: string): string | undefined {
  return view.files.get(path)?.target;
}

async function provenanceOf(store: LayoutStore, digest: Digest) {
  const [referrer] = await store.referrers(digest, { artifactType: artifactTypes.provenance });
  assert.ok(referrer, 'the build attached its provenance');
  const manifest = await store.getManifest(referrer.digest);
  const document = await store.getJson<{
    predicate: { buildDefinition: { internalParameters: { maintainerScripts?: Record<string, unknown[]> } } };
  }>(manifest.layers[0]?.digest as Digest);
  const scripts = document.predicate.buildDefinition.internalParameters.maintainerScripts;
  assert.ok(scripts, 'the provenance records what herd did in place of the scripts');
  return scripts;
}

describe('maintainer scripts done declaratively, on Debian packages', () => {
  let home: string;

  before(async () => {
    home = await freshHome('herd-scripts-');
  });

  after(async () => {
    if (home) await rm(home, { recursive: true, force: true });
  });

  describe('gawk', () => {
    let built: LockedBuild;
    let view: ImageView;

    before(async () => {
      // The entrypoint is the alternative itself: the build's entrypoint check must find it too.
      const dir = await writeSpecDir({
        'herd.yaml': spec(
          'awk',
          '  packages: [gawk]\nrun:\n  entrypoint: [/usr/bin/awk, "BEGIN { print 1 }"]\n',
        ),
      });
      built = await lockAndBuild(dir, { home });
      view = await loadImageView(built.store, built.image.digest);
    });

    it('links /usr/bin/awk to gawk through /etc/alternatives, as update-alternatives does', () => {
      assert.equal(linkTarget(view, '/usr/bin/awk'), '/etc/alternatives/awk');
      assert.equal(linkTarget(view, '/etc/alternatives/awk'), '/usr/bin/gawk');
      assert.equal(view.files.get('/usr/bin/gawk')?.type, 'file');
    });

    it('records the alternative in the provenance', async () => {
      const scripts = await provenanceOf(built.store, built.image.digest);

      assert.deepEqual(
        (scripts.alternatives as { name: string; path: string; package: string }[]).find(
          (a) => a.name === 'awk',
        ),
        { name: 'awk', link: '/usr/bin/awk', path: '/usr/bin/gawk', priority: 10, package: 'gawk' },
      );
    });

    it('writes /etc/nsswitch.conf and /var/run as a link to /run, as base-files does', () => {
      assert.match(text(view, '/etc/nsswitch.conf'), /^passwd:\s+files$/m);
      assert.match(text(view, '/etc/nsswitch.conf'), /^hosts:\s+files dns$/m);
      assert.equal(linkTarget(view, '/var/run'), '/run');
      assert.equal(linkTarget(view, '/var/lock'), '/run/lock');
    });
  });

  describe('nginx-light', () => {
    let built: LockedBuild;
    let view: ImageView;

    before(async () => {
      const dir = await writeSpecDir({
        'herd.yaml': spec(
          'web',
          '  packages: [nginx-light]\nrun:\n  entrypoint: [/usr/sbin/nginx, -g, "daemon off;"]\n  writable: [/var/lib/nginx, /tmp]\n',
        ),
      });
      built = await lockAndBuild(dir, { home });
      view = await loadImageView(built.store, built.image.digest);
    });

    it("has www-data and adm with base-passwd's ids, as nginx-common's postinst expects", () => {
      assert.match(text(view, '/etc/passwd'), /^www-data:x:33:33:www-data:\/var\/www:\/usr\/sbin\/nologin$/m);
      assert.match(text(view, '/etc/group'), /^www-data:x:33:$/m);
      assert.match(text(view, '/etc/group'), /^adm:x:4:$/m);
    });

    it('has the folder and the link the postinst makes', () => {
      assert.equal(view.files.get('/var/www/html')?.type, 'dir');
      assert.equal(
        linkTarget(view, '/etc/nginx/sites-enabled/default'),
        '/etc/nginx/sites-available/default',
      );
    });

    it("ships the writable /var/lib/nginx as the run user's, mode 0700", () => {
      const dir = view.files.get('/var/lib/nginx');

      assert.equal(dir?.type, 'dir');
      assert.equal(dir?.uid, 65532);
      assert.equal(dir?.mode, 0o700);
    });

    it('lists the script lines herd did not reproduce, per package, in the provenance', async () => {
      const scripts = await provenanceOf(built.store, built.image.digest);
      const nginxCommon = (scripts.unreproduced as { package: string; lines: string[] }[]).find(
        (entry) => entry.package === 'nginx-common',
      );

      assert.ok(
        nginxCommon?.lines.some((line) => line.startsWith('cp /usr/share/nginx/html/index.html')),
        JSON.stringify(nginxCommon),
      );
    });

    it('is a gate warning (HERD-H015) at nginx-common, quoting the lines', async () => {
      const verdict = await gateImage(built.store, built.image.digest, {
        spec: built.loaded.spec,
        gate: built.loaded.spec.gate,
        lockFile: formatLock(built.lock),
        vulnerabilities: {
          findings: [],
          age: { days: 0, since: new Date().toISOString(), basis: 'data-date' },
        },
        now: new Date(),
      });
      const finding = verdict.findings.find(
        (f) => f.rule === 'HERD-H015' && f.kind === 'hardening' && f.location?.package === 'nginx-common',
      );

      assert.ok(finding, JSON.stringify(verdict.findings.map((f) => f.rule)));
      assert.equal(finding.level, 'warning');
      assert.equal(finding.fails, false);
      assert.match(finding.message, /nginx-common: herd did not reproduce \d+ maintainer script lines: /);
    });
  });

  describe('openjdk-17-jre-headless', () => {
    let view: ImageView;

    before(async () => {
      // The entrypoint check follows /usr/bin/java to the JDK and java's RPATH ($ORIGIN/../lib) to libjli.so.
      const dir = await writeSpecDir({
        'herd.yaml': spec(
          'java',
          '  packages: [openjdk-17-jre-headless]\nrun:\n  entrypoint: [/usr/bin/java, -version]\n',
        ),
      });
      const built = await lockAndBuild(dir, { home });
      view = await loadImageView(built.store, built.image.digest);
    });

    it('has /usr/bin/java through the alternative the postinst would install', () => {
      assert.equal(linkTarget(view, '/usr/bin/java'), '/etc/alternatives/java');
      assert.equal(linkTarget(view, '/etc/alternatives/java'), '/usr/lib/jvm/java-17-openjdk-amd64/bin/java');
    });

    it('has the Java CA store, a JKS store with the CA certificates', () => {
      const store = view.files.get('/etc/ssl/certs/java/cacerts');

      assert.equal(store?.type, 'file');
      assert.equal(store.data?.readUInt32BE(0), 0xfeedfeed);
      assert.ok((store.data?.readUInt32BE(8) ?? 0) > 100, 'more than a hundred CA certificates');
    });
  });

  it('fails the build of an image whose entrypoint is not in it, naming it, and stores no image', async () => {
    const buildHome = await freshHome('herd-scripts-missing-');
    try {
      const dir = await writeSpecDir({
        'herd.yaml': spec('missing', '  packages: [hello]\nrun:\n  entrypoint: [/usr/bin/hello-world]\n'),
      });

      await assert.rejects(lockAndBuild(dir, { home: buildHome }), (error: unknown) => {
        assert.ok(error instanceof BuildError, String(error));
        assert.equal(error.code, 'ENTRYPOINT_UNRUNNABLE');
        assert.match(
          error.message,
          /the image would not start, so none was built: the entrypoint \/usr\/bin\/hello-world is not in the image/,
        );
        return true;
      });
      const index = await (await openHomeStore(buildHome)).readIndex();
      assert.deepEqual(index.manifests, []);
    } finally {
      await rm(buildHome, { recursive: true, force: true });
    }
  });
});
