import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SpecError } from './errors.js';
import { defaultFleetSection } from './fleet-section.js';
import { parseSpecText } from './load.js';
import { defaultExclude, defaultKeep } from './schema.js';
import { defaultStrip } from './strip-groups.js';
import type { Spec } from './types.js';

const header = ['apiVersion: herd/v1', 'service: hello'];

/** A spec made of the header, a minimal image unless `lines` has one, and `lines`. */
function parse(...lines: string[]): Spec {
  const image = lines.some((line) => line.startsWith('image:')) ? [] : ['image: { packages: [nodejs] }'];
  return parseSpecText([...header, ...image, ...lines, ''].join('\n'), 'herd.yaml');
}

function rejection(...lines: string[]): SpecError {
  return rejectionOf(() => parse(...lines));
}

function rejectionOf(textOrParse: string | (() => unknown)): SpecError {
  try {
    if (typeof textOrParse === 'string') parseSpecText(textOrParse, 'herd.yaml');
    else textOrParse();
  } catch (error) {
    if (error instanceof SpecError) return error;
    throw error;
  }
  return assert.fail('expected the spec to be rejected');
}

function messagesOf(error: SpecError): string[] {
  return error.problems.map((problem) => problem.message);
}

describe('the herd.yaml v1 schema', () => {
  it('fills in every default for a minimal spec', () => {
    const spec = parse();

    assert.deepEqual(spec, {
      apiVersion: 'herd/v1',
      service: 'hello',
      image: {
        distribution: 'debian',
        suite: 'bookworm',
        suites: ['bookworm', 'bookworm-updates', 'bookworm-security'],
        components: ['main'],
        architecture: 'amd64',
        packages: ['nodejs'],
        recommends: false,
        exclude: [...defaultExclude],
        keep: [...defaultKeep],
        strip: [...defaultStrip],
      },
      files: [],
      gate: { profile: 'baseline', waivers: [], allowSetuid: [], vulndb: { maxAgeDays: 7 } },
      fleet: defaultFleetSection,
      run: {
        user: { name: 'nonroot', uid: 65532, gid: 65532 },
        workdir: '/',
        entrypoint: [],
        cmd: [],
        writable: ['/tmp'],
        writableRoot: false,
      },
      env: {},
      ports: [],
      watch: { updates: { intervalSeconds: 300 } },
      accept: [],
      policy: { trigger: 'any', minUrgency: 'unimportant', promote: 'auto', concurrency: 1 },
    });
  });

  it('leaves documentation out but keeps copyright files and glibc locale data by default', () => {
    const { image } = parse();

    assert.ok(image.exclude.includes('/usr/share/doc/**'));
    assert.ok(image.exclude.includes('/usr/share/locale/**'));
    assert.ok(!image.exclude.some((pattern) => pattern.startsWith('/usr/share/i18n')));
    assert.ok(!image.exclude.some((pattern) => pattern.startsWith('/usr/share/common-licenses')));
    assert.deepEqual(image.keep, ['/usr/share/doc/*/copyright']);
  });

  it('derives the suites from the main suite, with no -updates or -security for sid', () => {
    const trixie = parse('image: { suite: trixie, packages: [nodejs] }');
    const sid = parse('image: { suite: sid, packages: [nodejs] }');

    assert.deepEqual(trixie.image.suites, ['trixie', 'trixie-updates', 'trixie-security']);
    assert.deepEqual(sid.image.suites, ['sid']);
  });

  it('adds the given exclude and keep patterns to the defaults', () => {
    const { image } = parse(
      'image:',
      '  packages: [nodejs]',
      '  exclude: [/usr/share/zoneinfo/**]',
      '  keep: [/usr/share/zoneinfo/UTC]',
    );

    assert.deepEqual(image.exclude, [...defaultExclude, '/usr/share/zoneinfo/**']);
    assert.deepEqual(image.keep, [...defaultKeep, '/usr/share/zoneinfo/UTC']);
  });

  it('uses exactly the given exclude and keep patterns when excludeDefaults is false', () => {
    const { image } = parse(
      'image:',
      '  packages: [nodejs]',
      '  excludeDefaults: false',
      '  exclude: [/usr/share/man/**]',
    );

    assert.deepEqual(image.exclude, ['/usr/share/man/**']);
    assert.deepEqual(image.keep, []);
  });

  it('strips debug files, static libraries, headers and TypeScript declarations by default, not gconv', () => {
    const { image } = parse();

    assert.deepEqual(image.strip, ['debug', 'static', 'headers', 'typescript']);
  });

  it('reads strip as true (the default groups), false (none) or exactly the listed groups', () => {
    const strip = (value: string) => parse('image:', '  packages: [nodejs]', `  strip: ${value}`).image.strip;

    assert.deepEqual(strip('true'), [...defaultStrip]);
    assert.deepEqual(strip('false'), []);
    assert.deepEqual(strip('[debug]'), ['debug']);
    assert.deepEqual(strip('[headers, gconv]'), ['headers', 'gconv']);
    assert.deepEqual(strip('[]'), []);
  });

  it('strips nothing by default when excludeDefaults is false, and what strip says when it is given', () => {
    const bare = parse('image:', '  packages: [nodejs]', '  excludeDefaults: false');
    const named = parse('image:', '  packages: [nodejs]', '  excludeDefaults: false', '  strip: [debug]');

    assert.deepEqual(bare.image.strip, []);
    assert.deepEqual(named.image.strip, ['debug']);
  });

  it('rejects an unknown strip group at its index, naming the groups and the nearest one', () => {
    const error = rejection('image:', '  packages: [nodejs]', '  strip: [debug, hedaers]');

    assert.equal(error.code, 'SPEC_INVALID');
    assert.deepEqual(error.problems[0]?.path, ['image', 'strip', 1]);
    assert.equal(
      error.problems[0]?.message,
      'image.strip[1]: expected a strip group (debug, static, headers, typescript, gconv), got "hedaers" (did you mean "headers"?)',
    );
  });

  it('rejects a strip group listed twice, and a strip that is neither a flag nor groups', () => {
    const twice = rejection('image:', '  packages: [nodejs]', '  strip: [static, static]');
    const number = rejection('image:', '  packages: [nodejs]', '  strip: 1');
    const oneGroup = rejection('image:', '  packages: [nodejs]', '  strip: debug');

    assert.deepEqual(twice.problems[0]?.path, ['image', 'strip', 1]);
    assert.match(messagesOf(twice)[0] ?? '', /strip group "static" is listed twice \(also at \[0\]\)/);
    assert.deepEqual(number.problems[0]?.path, ['image', 'strip']);
    assert.equal(
      messagesOf(number)[0],
      'image.strip: expected true, false, or a list of strip groups (debug, static, headers, typescript, gconv), got 1',
    );
    assert.deepEqual(oneGroup.problems[0]?.path, ['image', 'strip']);
    assert.match(messagesOf(oneGroup)[0] ?? '', /got "debug"; write one group as a list: \[debug\]$/);
  });

  it('takes the suites from the named repositories when the spec names none', () => {
    const { image } = parse(
      'image:',
      '  packages: [nodejs]',
      '  repositories:',
      '    - { uri: "http://mirror.example/debian", suites: [bookworm, bookworm-updates], keyring: keys/debian.gpg }',
      '    - { uri: "http://security.mirror.example/debian-security", suites: [bookworm-security], keyring: keys/debian.gpg }',
    );

    assert.deepEqual(image.suites, ['bookworm', 'bookworm-updates', 'bookworm-security']);
    assert.deepEqual(image.repositories?.[0], {
      uri: 'http://mirror.example/debian',
      suites: ['bookworm', 'bookworm-updates'],
      components: ['main'],
      keyring: 'keys/debian.gpg',
    });
  });

  it('rejects a suite that no named repository serves', () => {
    const error = rejection(
      'image:',
      '  packages: [nodejs]',
      '  suites: [bookworm, bookworm-backports]',
      '  repositories: [{ uri: "http://mirror.example/debian", suites: [bookworm], keyring: k.gpg }]',
    );

    assert.equal(error.code, 'SPEC_INVALID');
    assert.deepEqual(error.problems[0]?.path, ['image', 'suites', 1]);
  });

  it('rejects a repository that is not http, https or file', () => {
    const error = rejection(
      'image:',
      '  packages: [nodejs]',
      '  repositories: [{ uri: "ftp://mirror.example/debian", suites: [bookworm], keyring: k.gpg }]',
    );

    assert.equal(error.code, 'SPEC_INVALID');
    assert.deepEqual(error.problems[0]?.path, ['image', 'repositories', 0, 'uri']);
  });

  it('accepts name=version and name/suite package requests', () => {
    const { image } = parse(
      'image:',
      '  suites: [bookworm, bookworm-backports]',
      '  packages: [libc6=2.36-9+deb12u4, "tzdata=1:2024a-0", nodejs/bookworm-backports]',
    );

    assert.deepEqual(image.packages, [
      'libc6=2.36-9+deb12u4',
      'tzdata=1:2024a-0',
      'nodejs/bookworm-backports',
    ]);
  });

  it('rejects a package pinned to a suite the image does not use', () => {
    const error = rejection('image: { packages: [nodejs/bookworm-backports] }');

    assert.equal(error.code, 'SPEC_INVALID');
    assert.match(messagesOf(error)[0] ?? '', /suite "bookworm-backports" is not among the image's suites/);
  });

  it('rejects a package listed twice, even with a version', () => {
    const error = rejection('image: { packages: [nodejs, curl, nodejs=18.19.0] }');

    assert.equal(error.code, 'SPEC_INVALID');
    assert.deepEqual(messagesOf(error), [
      'image.packages[2]: package "nodejs" is listed twice (also at [0])',
    ]);
  });

  it('rejects an empty package list and names that are not package names', () => {
    const empty = rejection('image: { packages: [] }');
    const wrong = rejection('image: { packages: [Node_JS, 42] }');

    assert.deepEqual(messagesOf(empty), [
      'image.packages: expected a non-empty list of Debian package names, got an empty list',
    ]);
    assert.deepEqual(messagesOf(wrong), [
      'image.packages[0]: expected a package name (name, name=version or name/suite), got "Node_JS"',
      'image.packages[1]: expected a package name (name, name=version or name/suite), got 42',
    ]);
  });

  it('reads image.from as a catalog release at production by default, at a named stage, or as a digest', () => {
    const digest = `sha256:${'ab'.repeat(32)}`;

    const byService = parse('image: { from: base, packages: [curl] }');
    const byStage = parse('image: { from: base@candidate, packages: [curl] }');
    const byDigest = parse(`image: { from: "${digest}", packages: [curl] }`);

    assert.deepEqual(byService.image.from, { kind: 'release', service: 'base', stage: 'production' });
    assert.deepEqual(byStage.image.from, { kind: 'release', service: 'base', stage: 'candidate' });
    assert.deepEqual(byDigest.image.from, { kind: 'digest', digest });
    assert.equal(parse().image.from, undefined);
  });

  it('lets an image on a base leave packages out, and only then', () => {
    const onBase = parse('image: { from: base }');
    const empty = parse('image: { from: base, packages: [] }');
    const alone = rejection('image: { suite: bookworm }');

    assert.deepEqual(onBase.image.packages, []);
    assert.deepEqual(empty.image.packages, []);
    assert.deepEqual(messagesOf(alone), ['image: missing required field "packages"']);
  });

  it('rejects a base that is neither a service nor a digest, at its line and column', () => {
    const stage = rejection('image: { from: base@prod }');
    const digest = rejection('image: { from: "sha256:abc" }');
    const tag = rejection('image:', '  from: debian:bookworm', '  packages: [curl]');

    assert.deepEqual(messagesOf(stage), [
      'image.from: expected a stage after "@" (candidate, accepted or production), got "base@prod"',
    ]);
    assert.deepEqual(messagesOf(digest), [
      'image.from: expected a digest sha256:<64 lowercase hex digits>, got "sha256:abc"',
    ]);
    assert.deepEqual(
      tag.problems.map((problem) => [problem.line, problem.col]),
      [[4, 9]],
    );
    assert.match(messagesOf(tag)[0] ?? '', /pull a registry image first and name it by digest/);
  });

  it('rejects a service name that is not a DNS label', () => {
    const error = rejectionOf('apiVersion: herd/v1\nservice: Hello_World\nimage: { packages: [nodejs] }\n');

    assert.equal(error.code, 'SPEC_INVALID');
    assert.deepEqual(error.problems[0]?.path, ['service']);
  });

  it('reads file modes written as 0644, 0o600, "0755" and 420 as the same octal modes', () => {
    const { files } = parse(
      'files:',
      '  - { src: a, dst: /app/a, mode: 0644 }',
      '  - { src: b, dst: /app/b, mode: 0o600 }',
      '  - { src: c, dst: /app/c, mode: "0755" }',
      '  - { src: d, dst: /app/d, mode: 420 }',
      '  - { src: e, dst: /app/e }',
    );

    assert.deepEqual(
      files.map((file) => file.mode),
      [0o644, 0o600, 0o755, 0o644, 0o644],
    );
  });

  it('rejects a mode YAML read as decimal and says how to write it in octal', () => {
    const error = rejection('files: [{ src: a, dst: /app/a, mode: 755 }]');

    assert.deepEqual(messagesOf(error), [
      'files[0].mode: expected a file mode from 0 to 0777 such as 0644, got 755; YAML read it as decimal, so write 0755 or "0755"',
    ]);
  });

  it('rejects setuid, setgid and sticky bits', () => {
    const error = rejection('files: [{ src: a, dst: /app/a, mode: "4755" }]');

    assert.equal(error.code, 'SPEC_INVALID');
    assert.deepEqual(error.problems[0]?.path, ['files', 0, 'mode']);
  });

  it('reads owners as "uid:gid", as one id, or as root by default', () => {
    const { files } = parse(
      'files:',
      '  - { src: a, dst: /app/a, owner: "1000:1001" }',
      '  - { src: b, dst: /app/b, owner: 65532 }',
      '  - { src: c, dst: /app/c }',
    );

    assert.deepEqual(
      files.map((file) => [file.uid, file.gid]),
      [
        [1000, 1001],
        [65532, 65532],
        [0, 0],
      ],
    );
  });

  it('rejects a src that is absolute or leaves the spec folder', () => {
    const error = rejection(
      'files:',
      '  - { src: ../secrets.env, dst: /app/a }',
      '  - { src: app/../../x, dst: /app/b }',
      '  - { src: /etc/passwd, dst: /app/c }',
    );

    assert.equal(error.code, 'SPEC_INVALID');
    assert.deepEqual(
      error.problems.map((problem) => problem.path),
      [
        ['files', 0, 'src'],
        ['files', 1, 'src'],
        ['files', 2, 'src'],
      ],
    );
  });

  it('normalizes a src that starts with ./', () => {
    const { files } = parse('files: [{ src: ./lib/./server.js, dst: /app/server.js }]');

    assert.equal(files[0]?.src, 'lib/server.js');
  });

  it('rejects a dst that is relative or not normalized, suggesting the intended path', () => {
    const error = rejection('files:', '  - { src: a, dst: app/a }', '  - { src: b, dst: /app/../etc/b }');

    assert.deepEqual(messagesOf(error), [
      'files[0].dst: expected an absolute file path in the image such as /app/server.js, got "app/a" (did you mean "/app/a"?)',
      'files[1].dst: expected an absolute file path in the image such as /app/server.js, got "/app/../etc/b" (did you mean "/etc/b"?)',
    ]);
  });

  it('rejects two files with the same dst', () => {
    const error = rejection('files:', '  - { src: a, dst: /app/a }', '  - { src: b, dst: /app/a }');

    assert.deepEqual(messagesOf(error), ['files[1]: dst /app/a is listed twice (also at [0])']);
  });

  it('names the run user nonroot for 65532, root for 0 and app for any other id', () => {
    const names = [65532, 0, 1000].map((uid) => parse(`run: { user: ${uid} }`).run.user);

    assert.deepEqual(names, [
      { name: 'nonroot', uid: 65532, gid: 65532 },
      { name: 'root', uid: 0, gid: 0 },
      { name: 'app', uid: 1000, gid: 1000 },
    ]);
  });

  it('takes a named run user with its gid defaulting to its uid', () => {
    const { run } = parse('run: { user: { name: web, uid: 1001 } }');

    assert.deepEqual(run.user, { name: 'web', uid: 1001, gid: 1001 });
  });

  it('rejects a user that renames root or nonroot', () => {
    const error = rejection('run: { user: { name: root, uid: 1000 } }');

    assert.equal(error.code, 'SPEC_INVALID');
    assert.deepEqual(error.problems[0]?.path, ['run', 'user', 'uid']);
  });

  it('reports a wrong field inside a named user, not a failed alternative', () => {
    const error = rejection('run: { user: { name: web, uid: "1001" } }');

    assert.deepEqual(messagesOf(error), [
      'run.user.uid: expected a user id from 0 to 2147483647, got "1001"',
    ]);
  });

  it('takes entrypoint and cmd as one program path or as a list', () => {
    const { run } = parse('run: { entrypoint: /usr/bin/node, cmd: [/app/server.js, --port, "8080"] }');

    assert.deepEqual(run.entrypoint, ['/usr/bin/node']);
    assert.deepEqual(run.cmd, ['/app/server.js', '--port', '8080']);
  });

  it('rejects a command line in one string and shows it as a list, since there is no shell', () => {
    const error = rejection('run: { cmd: node server.js }');

    assert.match(
      messagesOf(error)[0] ?? '',
      /there is no shell in the image, so write it as a list: \["node","server.js"\]/,
    );
  });

  it('rejects writable paths that are not absolute', () => {
    const error = rejection('run: { writable: [tmp, /var/cache] }');

    assert.deepEqual(error.problems[0]?.path, ['run', 'writable', 0]);
  });

  it('keeps the root read-only unless run.writableRoot says true, and takes only true or false', () => {
    assert.equal(parse('run: { writable: [/tmp] }').run.writableRoot, false);
    assert.equal(parse('run: { writableRoot: false }').run.writableRoot, false);
    assert.equal(parse('run: { writableRoot: true }').run.writableRoot, true);
    assert.deepEqual(messagesOf(rejection('run: { writableRoot: "yes" }')), [
      'run.writableRoot: expected true or false, got "yes"',
    ]);
    assert.deepEqual(messagesOf(rejection('run: { writeableRoot: true }')), [
      'run: unknown field "writeableRoot" (did you mean "writableRoot"?)',
    ]);
  });

  it('leaves run.processes out unless given, and takes only a non-empty list of distinct absolute paths', () => {
    assert.equal(parse('run: { entrypoint: [/usr/bin/node] }').run.processes, undefined);
    assert.deepEqual(parse('run: { processes: [/usr/bin/node, /usr/bin/dash] }').run.processes, [
      '/usr/bin/node',
      '/usr/bin/dash',
    ]);
    assert.deepEqual(messagesOf(rejection('run: { processes: [node] }')), [
      'run.processes[0]: expected the absolute path of an executable such as /usr/bin/node, got "node" (did you mean "/node"?)',
    ]);
    assert.equal(rejection('run: { processes: [] }').problems[0]?.path.join('.'), 'run.processes');
    assert.match(messagesOf(rejection('run: { processes: [/bin/sh, /bin/sh] }'))[0] ?? '', /\/bin\/sh/);
    assert.match(
      messagesOf(rejection('run: { processes: [/usr/bin/../bin/sh] }'))[0] ?? '',
      /did you mean "\/usr\/bin\/sh"/,
    );
  });

  it('reads env entries as a plain default or as a mapping of settings', () => {
    const { env } = parse(
      'env:',
      '  GREETING: hello',
      '  LOG_LEVEL: { default: info, description: pino level }',
      '  DATABASE_PASSWORD: { secret: true, required: true }',
    );

    assert.deepEqual(env, {
      GREETING: { default: 'hello', required: false, secret: false },
      LOG_LEVEL: { default: 'info', required: false, secret: false, description: 'pino level' },
      DATABASE_PASSWORD: { required: true, secret: true },
    });
  });

  it('rejects a secret with a default', () => {
    const error = rejection('env:', '  DATABASE_PASSWORD: { secret: true, default: hunter2 }');

    assert.equal(error.code, 'SPEC_INVALID');
    assert.deepEqual(error.problems[0]?.path, ['env', 'DATABASE_PASSWORD', 'default']);
    assert.doesNotMatch(error.message, /hunter2/);
  });

  it('rejects a default for a credential-looking name unless secret: false says it is not one', () => {
    const error = rejection('env:', '  API_TOKEN: abc123', '  TOKEN_TTL: { default: "3600", secret: false }');

    assert.equal(error.code, 'SPEC_INVALID');
    assert.deepEqual(
      error.problems.map((problem) => problem.path),
      [['env', 'API_TOKEN']],
    );
    assert.match(error.message, /secret: true/);
    assert.doesNotMatch(error.message, /abc123/);
  });

  it('asks for quotes around a default that YAML reads as a number', () => {
    const error = rejection('env: { PORT: 8080 }');

    assert.deepEqual(messagesOf(error), [
      'env.PORT: expected a string, got 8080; quote it ("8080") so YAML keeps it text',
    ]);
  });

  it('rejects a variable name that a shell could not export', () => {
    const error = rejection('env: { my-var: x }');

    assert.deepEqual(error.problems[0]?.path, ['env', 'my-var']);
  });

  it('reads ports as numbers, "port/protocol" strings and mappings', () => {
    const { ports } = parse('ports: [8080, "53/udp", "9090", { port: 7000, protocol: udp }]');

    assert.deepEqual(ports, [
      { port: 8080, protocol: 'tcp' },
      { port: 53, protocol: 'udp' },
      { port: 9090, protocol: 'tcp' },
      { port: 7000, protocol: 'udp' },
    ]);
  });

  it('rejects ports outside 1 to 65535 and ports listed twice', () => {
    const range = rejection('ports: [0, "70000/tcp"]');
    const twice = rejection('ports: [8080, "8080/tcp"]');

    assert.deepEqual(
      range.problems.map((problem) => problem.path),
      [
        ['ports', 0],
        ['ports', 1],
      ],
    );
    assert.deepEqual(messagesOf(twice), ['ports[1]: port 8080/tcp is listed twice (also at [0])']);
  });

  it('reads an http health check with durations in seconds and default retries', () => {
    const { health } = parse(
      'ports: [8080]',
      'health: { http: { path: /healthz, port: 8080 }, interval: 1m, timeout: 500ms }',
    );

    assert.deepEqual(health, {
      kind: 'http',
      path: '/healthz',
      port: 8080,
      intervalSeconds: 60,
      timeoutSeconds: 0.5,
      retries: 3,
    });
  });

  it('reads a tcp health check with the default timing', () => {
    const { health } = parse('health: { tcp: { port: 5432 } }');

    assert.deepEqual(health, { kind: 'tcp', port: 5432, intervalSeconds: 10, timeoutSeconds: 3, retries: 3 });
  });

  it('rejects a health port that is not among the declared ports', () => {
    const error = rejection('ports: [8080]', 'health: { http: { path: /healthz, port: 9090 } }');

    assert.deepEqual(messagesOf(error), [
      'health.http.port: expected one of the declared tcp ports (8080/tcp), got 9090',
    ]);
  });

  it('rejects a health check with both http and tcp, or with neither', () => {
    const both = rejection('health: { http: { path: /, port: 80 }, tcp: { port: 80 } }');
    const neither = rejection('health: { interval: 5s }');

    assert.deepEqual(messagesOf(both), ['health: expected exactly one of http or tcp, got both']);
    assert.deepEqual(messagesOf(neither), ['health: expected exactly one of http or tcp, got neither']);
  });

  it('rejects durations without a unit', () => {
    const error = rejection('health: { tcp: { port: 80 }, interval: 5 }');

    assert.deepEqual(messagesOf(error), [
      'health.interval: expected a duration above zero such as 500ms, 5s or 1m, got 5',
    ]);
  });

  it('validates the gate and fleet sections, filling in their defaults', () => {
    const spec = parse('gate: { profile: strict }', 'fleet: { size: 3 }');

    assert.equal(spec.gate.profile, 'strict');
    assert.deepEqual(spec.gate.waivers, []);
    assert.equal(spec.fleet.size, 3);
    assert.equal(spec.fleet.strategy.maxSurge, '25%');
  });

  it('validates the watch section and leaves the webhook out when the spec names none', () => {
    assert.deepEqual(parse('watch: { webhook: "https://alerts.example/herd" }').watch, {
      webhook: 'https://alerts.example/herd',
      updates: { intervalSeconds: 300 },
    });
    assert.deepEqual(parse('watch:').watch, { updates: { intervalSeconds: 300 } });
    assert.deepEqual(messagesOf(rejection('watch: { webhook: ftp://alerts.example/ }')), [
      'watch.webhook: expected an http:// or https:// URL such as https://alerts.example/herd, got "ftp://alerts.example/"',
    ]);
  });

  it('gives a spec without a gate section the baseline profile', () => {
    assert.equal(parse('version: "1"').gate.profile, 'baseline');
  });

  it('names the gate field that is wrong', () => {
    const error = rejection('gate: { maxSeverity: high }');

    assert.match(messagesOf(error).join('\n'), /^gate(\.maxSeverity)?: /m);
  });

  it('treats an empty optional field as left out', () => {
    const spec = parse('version:', 'files:', 'env:', 'ports:');

    assert.equal(spec.version, undefined);
    assert.deepEqual(spec.files, []);
    assert.deepEqual(spec.env, {});
    assert.deepEqual(spec.ports, []);
  });

  it('rejects an apiVersion other than herd/v1', () => {
    const error = rejectionOf('apiVersion: herd/v2\nservice: hello\nimage: { packages: [nodejs] }\n');

    assert.equal(error.code, 'SPEC_INVALID');
    assert.deepEqual(messagesOf(error), ['apiVersion: expected "herd/v1", got "herd/v2"']);
  });
});
