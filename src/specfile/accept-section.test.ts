import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AcceptChecks, acceptPortProblems, defaultAcceptChecks } from './accept-section.js';
import { SpecError } from './errors.js';
import { parseSpecText } from './load.js';

function problems(input: unknown): string[] {
  const result = AcceptChecks.safeParse(input, { reportInput: true });
  return result.success
    ? []
    : result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
}

const header = ['apiVersion: herd/v1', 'service: hello', 'image: { packages: [nodejs] }', 'ports: [8080]'];

function specWith(...lines: string[]) {
  return parseSpecText([...header, ...lines, ''].join('\n'), 'herd.yaml');
}

/** `line:col message` of each problem, as the loader reports them. */
function located(...lines: string[]): string[] {
  try {
    specWith(...lines);
  } catch (error) {
    if (!(error instanceof SpecError)) throw error;
    assert.equal(error.code, 'SPEC_INVALID');
    return error.problems.map((problem) => `${problem.line}:${problem.col} ${problem.message}`);
  }
  return assert.fail('expected the spec to be rejected');
}

describe('the accept list of herd.yaml', () => {
  it('is empty when the spec has none, so only the wait for healthy applies', () => {
    assert.deepEqual(specWith().accept, []);
    assert.deepEqual(specWith('accept:').accept, []);
    assert.deepEqual(defaultAcceptChecks, []);
  });

  it('reads an http, a tcp and a healthy check with every field given', () => {
    const spec = specWith(
      'accept:',
      '  - http: { path: /, port: 8080, status: 200, headers: { Content-Type: "^text/plain" }, body: "hello", timeout: 5s }',
      '  - tcp: { port: 8080, timeout: 2s }',
      '  - healthy: { within: 90s }',
    );

    assert.deepEqual(spec.accept, [
      {
        kind: 'http',
        port: 8080,
        path: '/',
        status: 200,
        headers: { 'content-type': '^text/plain' },
        body: 'hello',
        timeoutSeconds: 5,
      },
      { kind: 'tcp', port: 8080, timeoutSeconds: 2 },
      { kind: 'healthy', withinSeconds: 90 },
    ]);
  });

  it('fills in status 200, no headers, no body, a 5s timeout and a 60s wait for healthy', () => {
    const checks = AcceptChecks.parse([
      { http: { path: '/healthz', port: 8080 } },
      { tcp: { port: 8080 } },
      { healthy: {} },
      { healthy: { within: null } },
    ]);

    assert.deepEqual(checks, [
      { kind: 'http', port: 8080, path: '/healthz', status: 200, headers: {}, timeoutSeconds: 5 },
      { kind: 'tcp', port: 8080, timeoutSeconds: 5 },
      { kind: 'healthy', withinSeconds: 60 },
      { kind: 'healthy', withinSeconds: 60 },
    ]);
  });

  it('takes any status from 100 to 599 and refuses others', () => {
    assert.equal(AcceptChecks.parse([{ http: { path: '/', port: 1, status: 404 } }])[0]?.kind, 'http');
    for (const status of [99, 600, '200', 200.5]) {
      assert.deepEqual(problems([{ http: { path: '/', port: 1, status } }]), [
        `0.http.status: expected an HTTP status from 100 to 599, got ${typeof status === 'string' ? '"200"' : status}`,
      ]);
    }
  });

  it('refuses a path that does not start with / or holds a space or a control character', () => {
    for (const path of ['healthz', 'http://app.example/', '/a b', '/a\u0000b', '']) {
      const found = problems([{ http: { path, port: 8080 } }]);

      assert.equal(found.length, 1, JSON.stringify(path));
      assert.match(found[0] ?? '', /^0\.http\.path: expected an absolute URL path of printable characters/);
    }
    assert.equal(problems([{ http: { path: `/${'a'.repeat(2048)}`, port: 8080 } }]).length, 1);
  });

  it('refuses a timeout above 60s and a wait for healthy above 10m, or either without a unit', () => {
    assert.deepEqual(problems([{ tcp: { port: 8080, timeout: '61s' } }]), [
      '0.tcp.timeout: expected a duration above zero up to 60s such as 2s or 5s, got "61s"',
    ]);
    assert.deepEqual(problems([{ http: { path: '/', port: 8080, timeout: 5 } }]), [
      '0.http.timeout: expected a duration above zero up to 60s such as 2s or 5s, got 5',
    ]);
    assert.deepEqual(problems([{ healthy: { within: '11m' } }]), [
      '0.healthy.within: expected a duration above zero up to 10m such as 30s or 2m, got "11m"',
    ]);
    assert.deepEqual(problems([{ healthy: { within: '0s' } }]), [
      '0.healthy.within: expected a duration above zero up to 10m such as 30s or 2m, got "0s"',
    ]);
  });

  it('lowercases header names and refuses one given twice in another case', () => {
    assert.deepEqual(
      AcceptChecks.parse([{ http: { path: '/', port: 1, headers: { 'X-Served-By': 'herd' } } }])[0],
      {
        kind: 'http',
        port: 1,
        path: '/',
        status: 200,
        headers: { 'x-served-by': 'herd' },
        timeoutSeconds: 5,
      },
    );

    assert.deepEqual(
      problems([{ http: { path: '/', port: 1, headers: { 'content-type': 'a', 'Content-Type': 'b' } } }]),
      [
        '0.http.headers.Content-Type: header "content-type" is listed twice (also as "content-type"); header names are case-insensitive',
      ],
    );
  });

  it('refuses a header name that is not an HTTP token, and a value that is not a string', () => {
    assert.deepEqual(problems([{ http: { path: '/', port: 1, headers: { 'content type': 'x' } } }]), [
      `0.http.headers.content type: expected a header name (letters, digits and !#$%&'*+-.^_\`|~) such as content-type, got "content type"`,
    ]);
    assert.deepEqual(problems([{ http: { path: '/', port: 1, headers: { server: 42 } } }]), [
      '0.http.headers.server: expected a regular expression (a string) such as "^text/plain", got 42',
    ]);
  });

  it('reports a bad header name together with a bad pattern, and refuses more than 32 headers', () => {
    assert.deepEqual(
      problems([{ http: { path: '/', port: 1, headers: { 'bad name': 'x', server: '(' } } }]),
      [
        '0.http.headers.server: expected a regular expression (JavaScript syntax), got "(": unterminated group',
        `0.http.headers.bad name: expected a header name (letters, digits and !#$%&'*+-.^_\`|~) such as content-type, got "bad name"`,
      ],
    );

    const headers = Object.fromEntries(Array.from({ length: 33 }, (_, index) => [`x-h${index}`, 'a']));

    assert.deepEqual(problems([{ http: { path: '/', port: 1, headers } }]), [
      '0.http.headers: expected at most 32 headers, got 33',
    ]);
  });

  it('refuses a __proto__ header instead of dropping the check without a word', () => {
    const input = JSON.parse('[{ "http": { "path": "/", "port": 1, "headers": { "__proto__": "^x$" } } }]');

    assert.deepEqual(problems(input), [
      '0.http.headers.__proto__: expected a header name such as content-type, got "__proto__"',
    ]);
    assert.deepEqual(
      located(
        'accept:',
        '  - http:',
        '      path: /',
        '      port: 8080',
        '      headers: { __proto__: "^x$" }',
      ),
      ['9:18 accept[0].http.headers: expected a header name such as content-type, got "__proto__"'],
    );
  });

  it('refuses a header or body pattern that does not compile, saying why', () => {
    assert.deepEqual(problems([{ http: { path: '/', port: 1, body: 'hello (world' } }]), [
      '0.http.body: expected a regular expression (JavaScript syntax), got "hello (world": unterminated group',
    ]);
    assert.deepEqual(problems([{ http: { path: '/', port: 1, headers: { server: '[z-a]' } } }]), [
      '0.http.headers.server: expected a regular expression (JavaScript syntax), got "[z-a]": range out of order in character class',
    ]);
  });

  it('refuses a pattern longer than 1024 characters or one that could backtrack exponentially', () => {
    assert.deepEqual(problems([{ http: { path: '/', port: 1, body: 'a'.repeat(1025) } }]), [
      '0.http.body: expected a regular expression of at most 1024 characters, got 1025',
    ]);

    const found = problems([{ http: { path: '/', port: 1, body: '^(a+)+$' } }]);

    assert.equal(found.length, 1);
    assert.match(found[0] ?? '', /^0\.http\.body: expected a regular expression without a repeated group/);
  });

  it('needs exactly one of http, tcp or healthy in each check', () => {
    assert.deepEqual(problems([{}]), [
      '0: expected exactly one of http, tcp or healthy (healthy: {} waits 60s), got none',
    ]);
    assert.deepEqual(problems([{ tcp: { port: 1 }, healthy: {} }]), [
      '0: expected exactly one of http, tcp or healthy (healthy: {} waits 60s), got tcp and healthy',
    ]);
    assert.deepEqual(problems(['http://127.0.0.1:8080/']), [
      '0: expected a mapping with one of http, tcp or healthy, got "http://127.0.0.1:8080/"',
    ]);
  });

  it('names unknown fields, in a check and in each kind, with the nearest known one', () => {
    assert.deepEqual(problems([{ grpc: { port: 1 } }]), [
      '0.grpc: unknown field "grpc" (known fields: http, tcp, healthy)',
      '0: expected exactly one of http, tcp or healthy (healthy: {} waits 60s), got none',
    ]);
    assert.deepEqual(problems([{ http: { path: '/', port: 1, statuss: 200 } }]), [
      '0.http.statuss: unknown field "statuss" (did you mean "status"?)',
    ]);
    assert.deepEqual(problems([{ tcp: { port: 1, host: '10.0.0.1' } }]), [
      '0.tcp.host: unknown field "host" (known fields: port, timeout)',
    ]);
  });

  it('refuses more than 32 checks or a value that is not a list', () => {
    assert.deepEqual(problems(Array.from({ length: 33 }, () => ({ healthy: {} }))), [
      ': expected at most 32 acceptance checks, got 33',
    ]);
    assert.deepEqual(problems({ http: { path: '/', port: 1 } }), [
      ': expected a list of acceptance checks, got a mapping',
    ]);
  });

  it('finds every http and tcp check on a port that is not a declared tcp port', () => {
    const checks = AcceptChecks.parse([
      { http: { path: '/', port: 8080 } },
      { tcp: { port: 9090 } },
      { tcp: { port: 53 } },
      { healthy: {} },
    ]);

    assert.deepEqual(
      acceptPortProblems(checks, [
        { port: 8080, protocol: 'tcp' },
        { port: 53, protocol: 'udp' },
      ]),
      [
        {
          path: [1, 'tcp', 'port'],
          port: 9090,
          message:
            'expected one of the declared tcp ports (8080), got 9090; add it to ports or check a declared port',
        },
        {
          path: [2, 'tcp', 'port'],
          port: 53,
          message:
            'expected one of the declared tcp ports (8080), got 53; add it to ports or check a declared port',
        },
      ],
    );
    assert.deepEqual(
      acceptPortProblems([{ kind: 'tcp', port: 1, timeoutSeconds: 1 }], [])[0]?.message,
      'expected a tcp port declared in ports, which declares none, got 1; add it to ports or check a declared port',
    );
  });
});

describe('problems in the accept list, as the loader reports them', () => {
  it('points at the port of a check on a port the spec does not declare', () => {
    assert.deepEqual(
      located('accept:', '  - tcp: { port: 9090 }', '  - http:', '      path: /', '      port: 8081'),
      [
        '6:18 accept[0].tcp.port: expected one of the declared tcp ports (8080), got 9090; add it to ports or check a declared port',
        '9:13 accept[1].http.port: expected one of the declared tcp ports (8080), got 8081; add it to ports or check a declared port',
      ],
    );
  });

  it('points at a pattern that does not compile and at the key of an unknown field', () => {
    assert.deepEqual(
      located(
        'accept:',
        '  - http:',
        '      path: /',
        '      port: 8080',
        '      body: "(unclosed"',
        '      colour: blue',
      ),
      [
        '9:13 accept[0].http.body: expected a regular expression (JavaScript syntax), got "(unclosed": unterminated group',
        '10:7 accept[0].http: unknown field "colour" (known fields: path, port, status, headers, body, timeout)',
      ],
    );
  });

  it('points at the check that has neither http, tcp nor healthy', () => {
    assert.deepEqual(located('accept:', '  - healthy:'), [
      '6:5 accept[0]: expected exactly one of http, tcp or healthy (healthy: {} waits 60s), got none',
    ]);
  });

  it('does not blame the ports of the checks when ports itself is wrong', () => {
    const lines = ['apiVersion: herd/v1', 'service: hello', 'image: { packages: [nodejs] }', 'ports: [http]'];
    let error: unknown;
    try {
      parseSpecText([...lines, 'accept: [{ tcp: { port: 8080 } }]', ''].join('\n'), 'herd.yaml');
    } catch (caught) {
      error = caught;
    }

    assert.ok(error instanceof SpecError);
    assert.deepEqual([...new Set(error.problems.map((problem) => problem.path[0]))], ['ports']);
  });
});
