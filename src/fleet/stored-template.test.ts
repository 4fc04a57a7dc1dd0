import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { template } from './controller.test-support.js';
import { FleetError } from './errors.js';
import { parseStoredTemplate } from './stored-template.js';

const where = 'the template of fleet web';

function refusal(json: string): FleetError {
  try {
    parseStoredTemplate(json, where);
  } catch (error) {
    if (error instanceof FleetError) return error;
    throw error;
  }
  return assert.fail('expected the stored template to be refused');
}

describe('parseStoredTemplate', () => {
  it('reads back a version 1 template as it was stored', () => {
    const stored = template({ size: 3 }, 1, { writable: ['/tmp', '/var/cache/app'] });

    assert.deepEqual(parseStoredTemplate(JSON.stringify(stored), where), stored);
  });

  it('reads back the /dev/shm size and the deep check interval, and refuses them out of range', () => {
    const base = template({ size: 2 });
    const stored = {
      ...base,
      fleet: { ...base.fleet, resources: { ...base.fleet.resources, shmBytes: 8 * 1024 * 1024 } },
      watch: { deepCheck: { intervalSeconds: 600 } },
    };

    assert.deepEqual(parseStoredTemplate(JSON.stringify(stored), where), stored);
    assert.match(
      refusal(JSON.stringify({ ...stored, watch: { deepCheck: { intervalSeconds: 1 } } })).message,
      /watch\.deepCheck\.intervalSeconds/,
    );
    const tiny = { ...stored.fleet, resources: { ...stored.fleet.resources, shmBytes: 1 } };
    assert.match(refusal(JSON.stringify({ ...stored, fleet: tiny })).message, /fleet\.resources\.shmBytes/);
  });

  it('reads back a strategy type and a max lifetime, and refuses one edited in herd.db out of what the spec allows', () => {
    const base = template({ size: 2, maxLifetimeSeconds: 3600 });
    const stored = {
      ...base,
      fleet: { ...base.fleet, strategy: { ...base.fleet.strategy, type: 'recreate' } },
    };
    const withoutType = { ...base, fleet: { ...base.fleet, strategy: { ...base.fleet.strategy } } };
    delete (withoutType.fleet.strategy as { type?: string }).type;

    assert.deepEqual(parseStoredTemplate(JSON.stringify(stored), where), stored);
    // Stored before strategy types: planned as rolling.
    assert.equal(parseStoredTemplate(JSON.stringify(withoutType), where).fleet.strategy.type, undefined);
    for (const maxLifetimeSeconds of [0, 1, -60, 3600.5, '1h']) {
      const tampered = { ...stored, fleet: { ...stored.fleet, maxLifetimeSeconds } };
      const refused = refusal(JSON.stringify(tampered));
      assert.equal(refused.code, 'TEMPLATE_INVALID');
      assert.match(refused.message, /fleet\.maxLifetimeSeconds/);
    }
    const unknownType = { ...stored.fleet, strategy: { ...stored.fleet.strategy, type: 'yolo' } };
    assert.match(refusal(JSON.stringify({ ...stored, fleet: unknownType })).message, /fleet\.strategy\.type/);
  });

  it('reads back a blue-green bake time, and refuses one stored under another strategy type, as the spec does', () => {
    const base = template({ size: 2 });
    const withType = (type: string | undefined) => {
      const strategy = { ...base.fleet.strategy, bakeSeconds: 600, type };
      if (type === undefined) delete strategy.type;
      return { ...base, fleet: { ...base.fleet, strategy } };
    };
    const blueGreen = withType('blue-green');

    assert.deepEqual(parseStoredTemplate(JSON.stringify(blueGreen), where), blueGreen);
    for (const type of ['rolling', 'recreate', undefined]) {
      const refused = refusal(JSON.stringify(withType(type)));
      assert.equal(refused.code, 'TEMPLATE_INVALID');
      assert.match(
        refused.message,
        /fleet\.strategy\.bakeSeconds: expected bakeSeconds only with type: blue-green/,
      );
      assert.match(refused.message, new RegExp(`got it with type: ${type ?? 'rolling'}`));
    }
  });

  it('reads a template stored before versions as version 0, its run template rebuilt from what ran', () => {
    const { run, version: _version, ...knobs } = template({ size: 2 });
    const before = {
      ...knobs,
      fromEnvironment: ['API_TOKEN'],
      health: run.health,
      user: { uid: 1000, gid: 1000 },
      writable: ['/tmp', '/data'],
      writableRoot: true,
    };

    const read = parseStoredTemplate(JSON.stringify(before), where);

    assert.equal(read.version, 0);
    assert.deepEqual(read.run.user, { uid: 1000, gid: 1000 });
    assert.deepEqual(read.run.writable, ['/data', '/tmp']);
    assert.equal(read.run.writableRoot, true);
    assert.deepEqual(read.run.ports, [{ port: 8080, protocol: 'tcp' }]);
    assert.deepEqual(read.run.health, run.health);
    assert.equal(read.fleet.size, 2);
  });

  it('refuses an unknown version, naming the row', () => {
    const error = refusal(JSON.stringify({ ...template(), version: 2 }));

    assert.equal(error.code, 'TEMPLATE_INVALID');
    assert.match(error.message, /the template of fleet web in herd\.db has version 2, expected 1/);
  });

  it('refuses a stored writable system folder or smuggled option, as the spec loader would', () => {
    const usr = refusal(JSON.stringify(template({}, 1, { writable: ['/usr'] })));
    const smuggled = refusal(JSON.stringify(template({}, 1, { writable: ['/tmp,exec'] })));
    const { run: _run, version: _version, ...knobs } = template();
    const legacy = refusal(JSON.stringify({ ...knobs, user: { uid: 1, gid: 1 }, writable: ['/etc'] }));

    assert.equal(usr.code, 'TEMPLATE_INVALID');
    assert.match(usr.message, /writable\.0: .*"\/usr"/);
    assert.match(smuggled.message, /comma/);
    assert.match(legacy.message, /"\/etc"/);
  });

  it('refuses what is not JSON, unknown fields and knobs out of range', () => {
    assert.equal(refusal('{').code, 'TEMPLATE_INVALID');
    assert.match(refusal(JSON.stringify({ ...template(), privileged: true })).message, /privileged/);
    assert.match(
      refusal(JSON.stringify({ ...template(), fleet: { ...template().fleet, size: -1 } })).message,
      /fleet\.size/,
    );
  });
});
