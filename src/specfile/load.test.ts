import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SpecError } from './errors.js';
import { loadSpec, parseSpecText } from './load.js';

function rejectionOf(lines: string[]): SpecError {
  try {
    parseSpecText([...lines, ''].join('\n'), 'herd.yaml');
  } catch (error) {
    if (error instanceof SpecError) return error;
    throw error;
  }
  return assert.fail('expected the spec to be rejected');
}

/** `line:col message`, the part of each problem a test pins down. */
function located(error: SpecError): string[] {
  return error.problems.map((problem) => `${problem.line}:${problem.col} ${problem.message}`);
}

describe('parseSpecText', () => {
  it('points at the value of a wrong list item', () => {
    const error = rejectionOf([
      'apiVersion: herd/v1',
      'service: hello',
      'image:',
      '  packages:',
      '  - nodejs',
      '  - curl',
      '  - 42',
    ]);

    assert.equal(error.code, 'SPEC_INVALID');
    assert.deepEqual(located(error), [
      '7:5 image.packages[2]: expected a package name (name, name=version or name/suite), got 42',
    ]);
    assert.equal(
      error.message,
      'herd.yaml:7:5: image.packages[2]: expected a package name (name, name=version or name/suite), got 42',
    );
  });

  it('points at the key of an unknown field and suggests the nearest known one', () => {
    const error = rejectionOf([
      'apiVersion: herd/v1',
      'service: hello',
      'imgae: {}',
      'image:',
      '  pakages: [nodejs]',
      '  packages: [nodejs]',
      '  colour: blue',
    ]);

    assert.equal(error.code, 'SPEC_INVALID');
    assert.deepEqual(located(error), [
      '3:1 unknown field "imgae" (did you mean "image"?)',
      '5:3 image: unknown field "pakages" (did you mean "packages"?)',
      '7:3 image: unknown field "colour" (known fields: from, distribution, suite, suites, components, architecture, repositories, packages, recommends, exclude, excludeDefaults, keep, strip)',
    ]);
  });

  it('names the new name of image.release, which a previous herd read as the main suite', () => {
    const error = rejectionOf([
      'apiVersion: herd/v1',
      'service: hello',
      'image:',
      '  release: trixie',
      '  packages: [nodejs]',
    ]);

    assert.equal(error.code, 'SPEC_INVALID');
    assert.deepEqual(located(error), [
      '4:3 image: unknown field "release": the main suite is called "suite" now',
    ]);
  });

  it('points at the key that holds a mapping missing a required field', () => {
    const error = rejectionOf([
      '# a comment first',
      'apiVersion: herd/v1',
      'image:',
      '  suite: bookworm',
      'files:',
      '  - src: server.js',
      '    mode: 0644',
    ]);

    assert.deepEqual(located(error), [
      '2:1 missing required field "service"',
      '3:1 image: missing required field "packages"',
      '6:5 files[0]: missing required field "dst"',
    ]);
    assert.deepEqual(
      error.problems.map((problem) => problem.path),
      [[], ['image'], ['files', 0]],
    );
  });

  it('points at the key when the value is empty', () => {
    const error = rejectionOf(['apiVersion: herd/v1', 'service:', 'image: { packages: [nodejs] }']);

    assert.deepEqual(located(error), [
      '2:1 service: expected a service name of lowercase letters, digits and "-", at most 63 long, starting and ending with a letter or digit, got an empty value',
    ]);
  });

  it('points at the key of a block mapping of the wrong shape', () => {
    const error = rejectionOf([
      'apiVersion: herd/v1',
      'service: hello',
      'image: { packages: [nodejs] }',
      'health:',
      '  http: { path: /healthz, port: 8080 }',
      '  tcp: { port: 8080 }',
    ]);

    assert.deepEqual(located(error), ['4:1 health: expected exactly one of http or tcp, got both']);
  });

  it('points at the health port when it is not a declared port', () => {
    const error = rejectionOf([
      'apiVersion: herd/v1',
      'service: hello',
      'image: { packages: [nodejs] }',
      'ports: [8080]',
      'health:',
      '  http:',
      '    path: /healthz',
      '    port: 9090',
    ]);

    assert.deepEqual(located(error), [
      '8:11 health.http.port: expected one of the declared tcp ports (8080/tcp), got 9090',
    ]);
  });

  it('points at the default of a secret that has one', () => {
    const error = rejectionOf([
      'apiVersion: herd/v1',
      'service: hello',
      'image: { packages: [nodejs] }',
      'env:',
      '  DATABASE_URL:',
      '    secret: true',
      '    default: postgres://app@db/app',
    ]);

    assert.equal(error.code, 'SPEC_INVALID');
    assert.deepEqual(
      error.problems.map((problem) => [problem.line, problem.col, problem.path]),
      [[7, 14, ['env', 'DATABASE_URL', 'default']]],
    );
  });

  it('points at a src that reaches out of the spec folder', () => {
    const error = rejectionOf([
      'apiVersion: herd/v1',
      'service: hello',
      'image: { packages: [nodejs] }',
      'files:',
      '  - src: ../../etc/shadow',
      '    dst: /app/shadow',
    ]);

    assert.deepEqual(located(error), [
      `5:10 files[0].src: expected a path inside the spec's folder, got "../../etc/shadow"; ".." is not allowed`,
    ]);
  });

  it('reports every problem in one error, sorted by line', () => {
    const error = rejectionOf([
      'apiVersion: herd/v2',
      'service: Hello',
      'image:',
      '  packages: [nodejs]',
      '  recommends: yes',
      'ports: ["80/sctp"]',
      'run: { user: app }',
    ]);

    assert.deepEqual(
      error.problems.map((problem) => problem.line),
      [1, 2, 5, 6, 7],
    );
    assert.equal(error.message.split('\n').length, 5);
    assert.ok(error.message.split('\n').every((line) => /^herd\.yaml:\d+:\d+: /.test(line)));
  });

  it('reports a YAML syntax error at its line and column', () => {
    const error = rejectionOf([
      'apiVersion: herd/v1',
      'service: hello',
      'image:',
      '  packages: [nodejs',
      'run: {}',
    ]);

    assert.equal(error.code, 'SPEC_SYNTAX');
    assert.equal(error.problems[0]?.line, 5);
    assert.equal(error.problems[0]?.col, 1);
    assert.match(error.message, /^herd\.yaml:5:1: invalid YAML: /);
  });

  it('reports a duplicate key as a syntax error at the second key', () => {
    const error = rejectionOf(['apiVersion: herd/v1', 'service: hello', 'service: world']);

    assert.equal(error.code, 'SPEC_SYNTAX');
    assert.deepEqual([error.problems[0]?.line, error.problems[0]?.col], [3, 1]);
  });

  it('reports an alias without an anchor as a syntax error at the alias', () => {
    const error = rejectionOf(['apiVersion: herd/v1', 'service: hello', 'image: { packages: *pkgs }']);

    assert.equal(error.code, 'SPEC_SYNTAX');
    assert.deepEqual([error.problems[0]?.line, error.problems[0]?.col], [3, 20]);
  });

  it('follows anchors and aliases', () => {
    const spec = parseSpecText(
      'apiVersion: herd/v1\nservice: hello\nimage: { packages: [nodejs] }\nenv: { A: &greeting hi, B: *greeting }\n',
      'herd.yaml',
    );

    assert.equal(spec.env.B?.default, 'hi');
  });

  it('rejects an empty file and a file that is not a mapping', () => {
    const empty = rejectionOf([]);
    const list = rejectionOf(['- nodejs']);

    assert.deepEqual(located(empty), ['1:1 expected a mapping of herd.yaml fields, got an empty value']);
    assert.deepEqual(located(list), ['1:1 expected a mapping of herd.yaml fields, got a list']);
  });
});

describe('loadSpec', () => {
  let dir = '';
  const text = 'apiVersion: herd/v1\nservice: hello\nimage: { packages: [nodejs] }\n';

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'herd-spec-'));
    await writeFile(join(dir, 'herd.yaml'), text);
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loads herd.yaml from a folder with its absolute path, folder and digest', async () => {
    const loaded = await loadSpec(dir);

    assert.equal(loaded.spec.service, 'hello');
    assert.equal(loaded.path, resolve(dir, 'herd.yaml'));
    assert.equal(loaded.dir, resolve(dir));
    assert.equal(loaded.digest, `sha256:${createHash('sha256').update(text).digest('hex')}`);
  });

  it('loads a spec file given by its path', async () => {
    const loaded = await loadSpec(join(dir, 'herd.yaml'));

    assert.equal(loaded.path, resolve(dir, 'herd.yaml'));
  });

  it('fails with SPEC_NOT_FOUND naming the path it tried', async () => {
    const missing = join(dir, 'nowhere');

    await assert.rejects(loadSpec(missing), (error: unknown) => {
      assert.ok(error instanceof SpecError);
      assert.equal(error.code, 'SPEC_NOT_FOUND');
      assert.match(error.message, new RegExp(missing));
      return true;
    });
  });

  it('names the file as given in every problem', async () => {
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, 'apiVersion: herd/v1\nservice: hello\nimage: { packages: [] }\n');

    await assert.rejects(loadSpec(bad), (error: unknown) => {
      assert.ok(error instanceof SpecError);
      assert.equal(error.code, 'SPEC_INVALID');
      assert.equal(error.problems[0]?.file, bad);
      assert.ok(error.message.startsWith(`${bad}:3:20: `));
      return true;
    });
  });

  it('rejects a file that is not UTF-8 as a syntax error', async () => {
    const latin1 = join(dir, 'latin1.yaml');
    await writeFile(latin1, Buffer.from([0x73, 0x3a, 0x20, 0xe9, 0x0a]));

    await assert.rejects(
      loadSpec(latin1),
      (error: unknown) => error instanceof SpecError && error.code === 'SPEC_SYNTAX',
    );
  });

  it('loads the hello example', async () => {
    const example = fileURLToPath(new URL('../../examples/hello', import.meta.url));

    const loaded = await loadSpec(example);

    assert.equal(loaded.spec.service, 'hello');
    assert.deepEqual(loaded.spec.image.packages, ['nodejs']);
    assert.deepEqual(loaded.spec.files, [
      { src: 'server.js', dst: '/app/server.js', mode: 0o644, uid: 0, gid: 0 },
    ]);
    assert.deepEqual(loaded.spec.run.user, { name: 'nonroot', uid: 65532, gid: 65532 });
    assert.deepEqual(loaded.spec.health, {
      kind: 'http',
      path: '/healthz',
      port: 8080,
      intervalSeconds: 10,
      timeoutSeconds: 3,
      retries: 3,
    });
  });
});
