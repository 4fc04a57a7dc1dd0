import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';

// A container engine's port forward left behind by a container that is gone: a DNAT rule on the
// OUTPUT chain for 127.0.0.1:<port>. The rule is made in a network namespace of the test's own, so
// the host's rules are not touched; the control plane's server is started inside it.
describe('the control plane on a port a NAT rule takes elsewhere', () => {
  it('refuses to serve there with PORT_HIJACKED, naming the address, and serves on a port no rule takes (the API and a front door)', () => {
    const netns = `herd-hijack-${process.pid}`;
    const run = (command: string[]) =>
      spawnSync(command[0] as string, command.slice(1), { encoding: 'utf8' });
    for (const tool of ['ip', 'iptables']) {
      assert.equal(run(['which', tool]).status, 0, `${tool} is missing: apt-get install iproute2 iptables`);
    }
    assert.equal(run(['ip', 'netns', 'add', netns]).status, 0, 'ip netns add failed: the test runs as root');
    try {
      const inNs = (command: string[]) => run(['ip', 'netns', 'exec', netns, ...command]);
      assert.equal(inNs(['ip', 'link', 'set', 'lo', 'up']).status, 0);
      const rule = inNs([
        'iptables',
        '-t',
        'nat',
        '-A',
        'OUTPUT',
        '-d',
        '127.0.0.1/32',
        '-p',
        'tcp',
        '--dport',
        '41999',
        '-j',
        'DNAT',
        '--to-destination',
        '10.255.255.1:8080',
      ]);
      assert.equal(rule.status, 0, rule.stderr);
      const script = `
        import { startServer } from './src/server/node-server.ts';
        const app = { fetch: () => new Response('ok') };
        const free = await startServer({ app, port: 41998 });
        console.log('free ' + free.url);
        await free.close();
        try { await startServer({ app, port: 41999 }); console.log('served on the hijacked port'); }
        catch (error) { console.log('refused ' + error.code + ' ' + error.message); }
        const { FrontDoor } = await import('./src/fleet/front-door.ts');
        const door = await FrontDoor.open('web', { port: 41998 });
        console.log('door ' + door.url);
        await door.close();
        try { await FrontDoor.open('web', { port: 41999 }); console.log('door on the hijacked port'); }
        catch (error) { console.log('door refused ' + error.code + ' ' + error.message); }
        process.exit(0);
      `;
      const child = inNs(['node', '--import', 'tsx', '--input-type=module', '-e', script]);
      assert.equal(child.status, 0, child.stderr);
      assert.match(child.stdout, /^free http:\/\/127\.0\.0\.1:41998$/m, child.stdout);
      assert.match(
        child.stdout,
        /^refused PORT_HIJACKED a connection to 127\.0\.0\.1:41999 does not reach herd's own server there/m,
        child.stdout,
      );
      assert.match(child.stdout, /^door http:\/\/127\.0\.0\.1:41998$/m, child.stdout);
      assert.match(
        child.stdout,
        /^door refused PORT_HIJACKED front door for service web: a connection to 127\.0\.0\.1:41999 does not reach it/m,
        child.stdout,
      );
    } finally {
      run(['ip', 'netns', 'delete', netns]);
    }
  });
});
