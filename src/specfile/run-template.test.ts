import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SpecError } from './errors.js';
import { parseSpecText } from './load.js';
import {
  judgedDifferences,
  parseRunTemplate,
  type RunTemplate,
  runTemplateDigest,
  runTemplateFor,
} from './run-template.js';

const specText = (extra = '') => `apiVersion: herd/v1
service: hello
image: { packages: [nodejs] }
run:
  user: { name: app, uid: 1000 }
  entrypoint: [/usr/bin/node, /app/server.js]
  writable: [/var/cache/app, /tmp]
env:
  GREETING: hello
  API_TOKEN: { secret: true }
ports: [8080, 9090/udp]
health:
  http: { path: /healthz, port: 8080 }
fleet:
  size: 3
${extra}`;

const template = (extra = '') => runTemplateFor(parseSpecText(specText(extra), 'herd.yaml'));

function refusal(run: () => unknown): SpecError {
  try {
    run();
  } catch (error) {
    if (error instanceof SpecError) return error;
    throw error;
  }
  return assert.fail('expected a refusal');
}

describe('runTemplateFor', () => {
  it('takes what the gate judged from the spec, with env names and never their values', () => {
    const derived = template();

    assert.deepEqual(derived, {
      version: 1,
      user: { uid: 1000, gid: 1000 },
      writable: ['/tmp', '/var/cache/app'],
      writableRoot: false,
      capabilities: [],
      ports: [
        { port: 8080, protocol: 'tcp' },
        { port: 9090, protocol: 'udp' },
      ],
      entrypoint: ['/usr/bin/node', '/app/server.js'],
      cmd: [],
      env: ['API_TOKEN', 'GREETING'],
      health: {
        kind: 'http',
        path: '/healthz',
        port: 8080,
        intervalSeconds: 10,
        timeoutSeconds: 3,
        retries: 3,
      },
    });
    assert.ok(!JSON.stringify(derived).includes('hello'), 'an env value reached the template');
  });

  it('leaves the fleet’s own knobs out, so its digest does not move with them', () => {
    const small = template();
    const tuned = template('  strategy: { maxSurge: 2 }\n  resources: { memory: 512Mi, cpus: 2 }\n');

    assert.equal(runTemplateDigest(tuned), runTemplateDigest(small));
  });
});

describe('runTemplateDigest', () => {
  it('is the same for the same template written in another order, and differs for another user', () => {
    const a = template();
    const reordered: RunTemplate = { ...a, writable: [...a.writable].reverse(), env: [...a.env].reverse() };

    assert.equal(runTemplateDigest(reordered), runTemplateDigest(a));
    assert.notEqual(runTemplateDigest({ ...a, user: { uid: 1001, gid: 1000 } }), runTemplateDigest(a));
    assert.match(runTemplateDigest(a), /^sha256:[0-9a-f]{64}$/);
  });
});

describe('judgedDifferences', () => {
  it('finds none between a template and itself, nor when only the health check differs', () => {
    const a = template();
    const slowerHealth: RunTemplate = {
      ...a,
      health: { kind: 'tcp', port: 8080, intervalSeconds: 30, timeoutSeconds: 5, retries: 5 },
    };

    assert.deepEqual(judgedDifferences(a, a), []);
    assert.deepEqual(judgedDifferences(a, slowerHealth), []);
  });

  it('names each judged field that differs, attested against requested', () => {
    const attested = template();
    const requested: RunTemplate = {
      ...attested,
      user: { uid: 0, gid: 0 },
      writable: ['/tmp', '/var/cache/app', '/srv'],
      writableRoot: true,
      capabilities: ['CAP_NET_ADMIN'],
      ports: [{ port: 22, protocol: 'tcp' }],
      env: [...attested.env, 'LD_PRELOAD'],
    };

    const differences = judgedDifferences(attested, requested);

    assert.deepEqual(
      differences.map((one) => one.field),
      ['user', 'writable', 'writableRoot', 'capabilities', 'ports', 'env'],
    );
    assert.deepEqual(differences[0], { field: 'user', attested: '1000:1000', requested: '0:0' });
    assert.deepEqual(differences[1], {
      field: 'writable',
      attested: '["/tmp", "/var/cache/app"]',
      requested: '["/srv", "/tmp", "/var/cache/app"]',
    });
    assert.deepEqual(differences[4], {
      field: 'ports',
      attested: '[8080/tcp, 9090/udp]',
      requested: '[22/tcp]',
    });
  });
});

describe('the process allowlist in the run template', () => {
  it('is there only when the spec says, so an older template keeps its digest; sorted, and judged', () => {
    const without = template();
    const declared = template('').processes;
    const withList = runTemplateFor(
      parseSpecText(
        specText().replace('  writable:', '  processes: [/usr/bin/node, /usr/bin/dash]\n  writable:'),
        'herd.yaml',
      ),
    );

    const differences = judgedDifferences(without, withList);

    assert.equal(declared, undefined);
    assert.equal('processes' in without, false);
    assert.deepEqual(withList.processes, ['/usr/bin/dash', '/usr/bin/node']);
    assert.notEqual(runTemplateDigest(withList), runTemplateDigest(without));
    assert.deepEqual(differences, [
      {
        field: 'processes',
        attested: '(the default: entrypoint and init)',
        requested: '["/usr/bin/dash", "/usr/bin/node"]',
      },
    ]);
    assert.deepEqual(parseRunTemplate(JSON.parse(JSON.stringify(withList)), 'x'), withList);
    assert.throws(
      () => parseRunTemplate({ ...withList, processes: ['relative'] }, 'the template'),
      SpecError,
    );
  });
});

describe('parseRunTemplate', () => {
  it('reads back what runTemplateFor made, through JSON', () => {
    const made = template();

    const read = parseRunTemplate(JSON.parse(JSON.stringify(made)), 'the test template');

    assert.deepEqual(read, made);
  });

  it('refuses an unknown version, saying which it got and which it reads', () => {
    const error = refusal(() =>
      parseRunTemplate({ ...template(), version: 2 }, 'the run template attested for sha256:ab'),
    );

    assert.equal(error.code, 'RUN_TEMPLATE_INVALID');
    assert.match(error.message, /the run template attested for sha256:ab has version 2, expected 1/);
  });

  it('refuses a writable system folder or smuggled option with the same validator as the spec', () => {
    const usr = refusal(() =>
      parseRunTemplate({ ...template(), writable: ['/tmp', '/usr'] }, 'stored template'),
    );
    const smuggled = refusal(() =>
      parseRunTemplate({ ...template(), writable: ['/tmp,exec'] }, 'stored template'),
    );

    assert.equal(usr.code, 'RUN_TEMPLATE_INVALID');
    assert.match(usr.message, /stored template is not a run template: writable\.1: .*"\/usr"/);
    assert.match(smuggled.message, /writable\.0: .*comma/);
  });

  it('refuses unknown fields, env values and anything that is not a mapping', () => {
    assert.equal(
      refusal(() => parseRunTemplate({ ...template(), privileged: true }, 'x')).code,
      'RUN_TEMPLATE_INVALID',
    );
    assert.equal(
      refusal(() => parseRunTemplate({ ...template(), env: ['A=secret'] }, 'x')).code,
      'RUN_TEMPLATE_INVALID',
    );
    assert.equal(refusal(() => parseRunTemplate('version: 1', 'x')).code, 'RUN_TEMPLATE_INVALID');
    assert.equal(refusal(() => parseRunTemplate(null, 'x')).code, 'RUN_TEMPLATE_INVALID');
  });
});
