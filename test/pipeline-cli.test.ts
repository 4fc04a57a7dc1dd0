/**
 * `herd check`, `herd pipeline` and `herd approve` through the real `herd serve`: the commands are
 * registered, check their arguments before sending, reach the remediation loop over the socket
 * and over TCP with a token whose role decides, and exit as src/cli says (0 done, 2 refused or
 * wrong). No fleet runs here, so no engine is needed; test/remediate-e2e.test.ts runs real runs.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { freshHome } from './support/build-harness.js';
import { runHerd } from './support/cli.js';
import { freePort } from './support/free-port.js';
import { type RunningHerd, startHerd, stopHerd } from './support/herd-process.js';

describe('the remediation commands against a running control plane', () => {
  let home = '';
  let url = '';
  let serve: RunningHerd | undefined;
  const tokens: Record<'viewer' | 'releaser', string> = { viewer: '', releaser: '' };

  before(async () => {
    home = await freshHome();
    for (const role of ['viewer', 'releaser'] as const) {
      const created = runHerd(['token', 'create', '--role', role, '--name', role], { home });
      assert.equal(created.status, 0, created.err);
      tokens[role] = created.out.trim();
    }
    const port = await freePort();
    serve = startHerd(['serve', '--port', String(port)], home);
    await serve.waitFor(/local CLI socket at/, 60_000);
    url = `http://127.0.0.1:${port}`;
  });

  after(async () => {
    await stopHerd(serve);
  });

  const herd = (args: string[], env: Record<string, string> = {}) => runHerd(args, { home, env });
  const overTcp = (role: keyof typeof tokens) => ({ HERD_URL: url, HERD_TOKEN: tokens[role] });

  it('lists no runs and checks no fleet yet, over the socket', () => {
    const listed = herd(['pipeline', 'ls']);
    const json = herd(['pipeline', 'ls', '--json']);
    const checked = herd(['check']);

    assert.equal(listed.status, 0, listed.err);
    assert.equal(listed.out.trim(), 'no pipeline runs yet');
    assert.deepEqual(JSON.parse(json.out), []);
    assert.equal(checked.status, 0, checked.err);
    assert.equal(checked.out.trim(), 'no fleet to check: none has a registered spec');
  });

  it('exits 2 naming the run when it does not exist, for show, logs and approve', () => {
    for (const args of [
      ['pipeline', 'show', '7'],
      ['pipeline', 'logs', '7'],
      ['approve', '7'],
    ]) {
      const result = herd(args);

      assert.equal(result.status, 2, args.join(' '));
      assert.match(result.err, /refused: no pipeline run 7/, args.join(' '));
    }
  });

  it('refuses a wrong id, stage or service before sending anything', () => {
    const id = herd(['approve', 'latest']);
    const stage = herd(['pipeline', 'logs', '1', '--stage', 'deploy']);
    const service = herd(['check', 'Not_A_Service']);
    const limit = herd(['pipeline', 'ls', '--limit', '0']);

    assert.equal(id.status, 2);
    assert.match(id.err, /approve: id: expected a run id: a whole number from 1, got "latest"/);
    assert.equal(stage.status, 2);
    assert.match(stage.err, /--stage expected one of lock, build, .*, got "deploy"/);
    assert.equal(service.status, 2);
    assert.match(service.err, /check: service: expected a service name/);
    assert.equal(limit.status, 2);
    assert.match(limit.err, /limit: expected 1 to 1000 runs/);
  });

  it('lets a viewer token read the runs over TCP, and only a releaser check', () => {
    const read = herd(['pipeline', 'ls', '--json'], overTcp('viewer'));
    const refused = herd(['check'], overTcp('viewer'));
    const checked = herd(['check'], overTcp('releaser'));

    assert.equal(read.status, 0, read.err);
    assert.equal(refused.status, 2);
    assert.match(refused.err, /token:viewer:[0-9a-f]{12} \(role viewer\) may not pipeline:run/);
    assert.equal(checked.status, 0, checked.err);
  });
});
