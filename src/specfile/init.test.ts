import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SpecError } from './errors.js';
import { scaffoldSpec, writeSpecScaffold } from './init.js';
import { loadSpec, parseSpecText } from './load.js';

describe('scaffoldSpec', () => {
  it('gives a spec that parses with ca-certificates when no packages are named', () => {
    const text = scaffoldSpec({ service: 'billing' });

    const spec = parseSpecText(text, 'herd.yaml');

    assert.equal(spec.service, 'billing');
    assert.deepEqual(spec.image.packages, ['ca-certificates']);
    assert.deepEqual(spec.run.user, { name: 'nonroot', uid: 65532, gid: 65532 });
  });

  it('lists the given packages, versions and suites included', () => {
    const packages = ['nodejs', 'tzdata=1:2024a-0+deb12u1', 'curl/bookworm-updates'];

    const spec = parseSpecText(scaffoldSpec({ service: 'web', packages }), 'herd.yaml');

    assert.deepEqual(spec.image.packages, packages);
  });

  it('shows watch, accept and policy examples that parse once uncommented', () => {
    const text = scaffoldSpec({ service: 'web' }).replace('ports: []', 'ports: [8080]');
    const start = text.indexOf('# watch:');
    const uncommented = text
      .slice(start)
      .split('\n')
      .map((line) => (/^# (watch|accept|policy):|^# {3}/.test(line) ? line.slice(2) : line))
      .join('\n');

    const spec = parseSpecText(text.slice(0, start) + uncommented, 'herd.yaml');

    assert.equal(spec.watch.maxImageAgeSeconds, 30 * 86_400);
    assert.deepEqual(
      spec.accept.map((check) => check.kind),
      ['http', 'healthy'],
    );
    assert.deepEqual(spec.policy.window, { days: ['sat', 'sun'], from: '02:00', to: '06:00' });
  });

  it('rejects a service name that is not a DNS label', () => {
    assert.throws(
      () => scaffoldSpec({ service: 'My_Service' }),
      (error: unknown) => error instanceof SpecError && error.code === 'SPEC_INVALID',
    );
  });

  it('rejects a package name that would not load', () => {
    assert.throws(
      () => scaffoldSpec({ service: 'web', packages: ['node js'] }),
      (error: unknown) => error instanceof SpecError && error.code === 'SPEC_INVALID',
    );
  });
});

describe('writeSpecScaffold', () => {
  let root = '';

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'herd-init-'));
  });

  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('writes a herd.yaml that loadSpec loads cleanly, creating the folder', async () => {
    const dir = join(root, 'new', 'billing');

    const path = await writeSpecScaffold(dir, { service: 'billing', packages: ['nodejs'] });
    const loaded = await loadSpec(dir);

    assert.equal(path, join(dir, 'herd.yaml'));
    assert.equal(loaded.spec.service, 'billing');
    assert.deepEqual(await readdir(dir), ['herd.yaml']);
  });

  it('refuses to overwrite an existing herd.yaml and leaves it as it was', async () => {
    const dir = join(root, 'existing');
    await writeSpecScaffold(dir, { service: 'first' });
    await writeFile(join(dir, 'herd.yaml'), 'hand-edited\n');

    await assert.rejects(writeSpecScaffold(dir, { service: 'second' }), (error: unknown) => {
      assert.ok(error instanceof SpecError);
      assert.equal(error.code, 'SPEC_EXISTS');
      return true;
    });
    assert.equal(await readFile(join(dir, 'herd.yaml'), 'utf8'), 'hand-edited\n');
    assert.deepEqual(await readdir(dir), ['herd.yaml']);
  });
});
