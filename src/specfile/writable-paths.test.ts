import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SpecError } from './errors.js';
import { parseSpecText } from './load.js';
import { writablePathProblem } from './writable-paths.js';

const noFiles = { appFiles: [] };

function specWith(run: string, files = ''): string {
  return `apiVersion: herd/v1
service: hello
image: { packages: [nodejs] }
${files}run:
${run}
`;
}

function problemsOf(text: string): { path: (string | number)[]; message: string }[] {
  try {
    parseSpecText(text, 'herd.yaml');
  } catch (error) {
    if (error instanceof SpecError) {
      assert.equal(error.code, 'SPEC_INVALID');
      return error.problems.map(({ path, message }) => ({ path, message }));
    }
    throw error;
  }
  return assert.fail('expected the spec to be refused');
}

describe('writablePathProblem', () => {
  it('allows folders of the workload’s own', () => {
    for (const path of [
      '/tmp',
      '/var/tmp',
      '/run/app',
      '/var/cache/app',
      '/var/log/app',
      '/data',
      '/srv/uploads',
    ]) {
      assert.equal(writablePathProblem(path, noFiles), undefined, path);
    }
  });

  it('refuses the root and every system folder, under it or holding it', () => {
    for (const [path, system] of [
      ['/', undefined],
      ['/usr', '/usr'],
      ['/usr/local/bin', '/usr'],
      ['/etc', '/etc'],
      ['/etc/ssl', '/etc'],
      ['/bin', '/bin'],
      ['/sbin', '/sbin'],
      ['/lib', '/lib'],
      ['/lib64', '/lib64'],
      ['/lib/x86_64-linux-gnu', '/lib'],
      ['/var/lib/dpkg', '/var/lib/dpkg'],
      ['/var/lib/dpkg/status.d', '/var/lib/dpkg'],
      ['/var', '/var/lib/dpkg'],
      ['/var/lib', '/var/lib/dpkg'],
    ] as const) {
      const problem = writablePathProblem(path, noFiles);

      assert.ok(problem, `${path} was allowed`);
      assert.ok(problem.includes(JSON.stringify(path)), problem);
      if (system) assert.ok(problem.includes(system), problem);
    }
  });

  it('refuses options and separators smuggled into a path, and paths that are not plain absolute folders', () => {
    for (const [path, why] of [
      ['/tmp,exec', /comma would pass mount options/],
      ['/tmp:exec', /colon/],
      ['/tmp/a b', /white space/],
      ['/tmp\tx', /white space/],
      ['tmp', /not absolute/],
      ['', /not absolute/],
      ['/tmp/../usr', /"\.\." segments/],
      ['/tmp/./x', /"\.\." segments/],
      ['/tmp//x', /not normalized \(did you mean "\/tmp\/x"\?\)/],
      ['/tmp/', /not normalized \(did you mean "\/tmp"\?\)/],
      ['/tmp/$(id)', /characters other than/],
      ['/tmp\0', /NUL/],
    ] as const) {
      assert.match(writablePathProblem(path, noFiles) ?? 'allowed', why, JSON.stringify(path));
    }
  });

  it('refuses the app’s own files and any folder above them', () => {
    const appFiles = ['/app/server.js', '/opt/tool/bin/run'];

    assert.match(
      writablePathProblem('/app', { appFiles }) ?? '',
      /would hide \/app\/server\.js \(files\[\]\.dst\)/,
    );
    assert.match(writablePathProblem('/app/server.js', { appFiles }) ?? '', /would hide \/app\/server\.js/);
    assert.match(writablePathProblem('/opt', { appFiles }) ?? '', /would hide \/opt\/tool\/bin\/run/);
    assert.equal(writablePathProblem('/app/cache', { appFiles }), undefined);
    assert.equal(writablePathProblem('/application', { appFiles }), undefined);
  });
});

describe('run.writable in the spec loader', () => {
  it('refuses a system folder, naming the field', () => {
    const problems = problemsOf(specWith('  writable: [/tmp, /usr]'));

    assert.deepEqual(
      problems.map((problem) => problem.path),
      [['run', 'writable', 1]],
    );
    assert.match(
      problems[0]?.message ?? '',
      /^run\.writable\[1\]: expected a folder outside the image's system folders, got "\/usr"/,
    );
  });

  it('refuses /etc, /var/lib/dpkg and an option smuggled in a path, each with its own field', () => {
    const problems = problemsOf(specWith('  writable: [/etc, "/tmp,exec", /var/lib/dpkg]'));

    assert.deepEqual(
      problems.map((problem) => problem.path),
      [
        ['run', 'writable', 0],
        ['run', 'writable', 1],
        ['run', 'writable', 2],
      ],
    );
    assert.match(problems[1]?.message ?? '', /run\.writable\[1\]: .*"\/tmp,exec".*comma/);
  });

  it('refuses a folder that holds the app’s files, declared in files:', () => {
    const files = 'files:\n  - { src: server.js, dst: /app/server.js }\n';

    const problems = problemsOf(specWith('  writable: [/tmp, /app]', files));

    assert.deepEqual(problems[0]?.path, ['run', 'writable', 1]);
    assert.match(problems[0]?.message ?? '', /run\.writable\[1\]: .*would hide \/app\/server\.js/);
  });

  it('accepts the workload’s own folders beside the app’s files', () => {
    const files = 'files:\n  - { src: server.js, dst: /app/server.js }\n';

    const spec = parseSpecText(
      specWith('  writable: [/tmp, /app/cache, /var/cache/app]', files),
      'herd.yaml',
    );

    assert.deepEqual(spec.run.writable, ['/tmp', '/app/cache', '/var/cache/app']);
  });
});
