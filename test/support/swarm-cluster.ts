/**
 * A real Docker Swarm of `nodes` nodes on this one machine, for the SwarmEngine's tests
 * (test/swarm/): Debian's docker.io, one dockerd per node, each in a network namespace of its own.
 *
 * The network: a bridge in the root namespace (`<prefix>br`, 10.231.<n>.1/24, the address the
 * nodes reach herd's /v2/ on) and, per node, a network namespace `<prefix>-<i>` joined to it by a
 * veth pair, its `eth0` at 10.231.<n>.1<i>. Node 1 inits the swarm and is its only manager; the
 * others join it as workers over those addresses.
 *
 * Each dockerd runs as `unshare --mount --uts --propagation private` then `nsenter --net=<netns>`:
 * not `ip netns exec`, whose fresh /sys hides the cgroup mounts dockerd needs ("Devices cgroup
 * isn't mounted"). Its private mount namespace holds every overlay and netns mount it makes, so they
 * go with its processes; its own hostname names the node in `docker node ls`. Its data, exec root,
 * pid file and socket are under one temp folder, its containers under cgroup `<prefix>-<i>`.
 *
 * `stop` leaves nothing behind: every process of each node (its network namespace's pids, and its
 * containers by cgroup) is killed, the namespaces, veths and bridge deleted, the cgroups and the
 * folder removed. `killNode` is the loss of a machine: the same kill, with the namespace kept.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { mkdir, mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';

export interface SwarmNode {
  /** 1-based, as in its names. */
  index: number;
  /** The node's hostname in the swarm, e.g. `hsw3fa2-1`. */
  hostname: string;
  netns: string;
  /** Its address on the bridge, where its published ports answer. */
  address: string;
  /** Its dockerd's API socket. */
  socketPath: string;
  cgroup: string;
}

export interface SwarmCluster {
  nodes: SwarmNode[];
  /** The manager's API socket (node 1). */
  managerSocket: string;
  /** The root namespace's address on the bridge: what the nodes reach the host at. */
  hostAddress: string;
  /** e.g. `10.231.7.0/24`, the nodes' insecure-registry range. */
  subnet: string;
  /** Kills every process of a node (dockerd, containerd, shims, its containers), as a lost machine. */
  killNode(index: number): Promise<void>;
  stop(): Promise<void>;
}

/** What a missing piece says: the test fails with it, never skips. */
export function swarmPrerequisites(): string | undefined {
  if (process.getuid?.() !== 0) return 'the swarm tests need root (network namespaces, dockerd)';
  const missing = ['dockerd', 'containerd', 'ip', 'nsenter', 'unshare'].filter(
    (tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0,
  );
  if (missing.length > 0) {
    return `missing ${missing.join(', ')}: apt-get install docker.io iproute2 util-linux (scripts/setup.sh --swarm)`;
  }
  return undefined;
}

export async function startSwarmCluster(options: { nodes?: number } = {}): Promise<SwarmCluster> {
  const problem = swarmPrerequisites();
  if (problem) throw new Error(problem);
  const count = options.nodes ?? 2;
  const prefix = `hsw${randomBytes(2).toString('hex')}`;
  const octet = freeSubnetOctet();
  const subnet = `10.231.${octet}.0/24`;
  const hostAddress = `10.231.${octet}.1`;
  const dir = await mkdtemp(join(tmpdir(), `herd-swarm-${prefix}-`));
  const bridge = `${prefix}br`;
  const nodes: SwarmNode[] = [];
  const daemons = new Map<number, ChildProcess>();

  const killNode = async (index: number) => {
    const node = nodes.find((one) => one.index === index);
    if (!node) return;
    killAll(node);
    const daemon = daemons.get(index);
    if (daemon && daemon.exitCode === null && daemon.signalCode === null) {
      await new Promise((resolve) => daemon.once('exit', resolve));
    }
    await waitUntil(10_000, () => processesOf(node).length === 0);
  };

  const stop = async () => {
    for (const node of nodes) await killNode(node.index).catch(() => undefined);
    for (const node of nodes) {
      // The host end first: deleting it takes its peer at once, where a namespace's links go only
      // when the kernel gets round to cleaning the namespace up.
      run('ip', ['link', 'del', `${prefix}v${node.index}`], { allowFailure: true });
      run('ip', ['netns', 'del', node.netns], { allowFailure: true });
      removeCgroup(node.cgroup);
    }
    run('ip', ['link', 'del', bridge], { allowFailure: true });
    await rm(dir, { recursive: true, force: true });
  };

  try {
    run('ip', ['link', 'add', bridge, 'type', 'bridge']);
    run('ip', ['addr', 'add', `${hostAddress}/24`, 'dev', bridge]);
    run('ip', ['link', 'set', bridge, 'up']);
    for (let index = 1; index <= count; index += 1) {
      const node: SwarmNode = {
        index,
        hostname: `${prefix}-${index}`,
        netns: `${prefix}-${index}`,
        address: `10.231.${octet}.${10 + index}`,
        socketPath: join(dir, `n${index}`, 'docker.sock'),
        cgroup: `${prefix}-${index}`,
      };
      nodes.push(node);
      run('ip', ['netns', 'add', node.netns]);
      run('ip', [
        'link',
        'add',
        `${prefix}v${index}`,
        'type',
        'veth',
        'peer',
        'name',
        'eth0',
        'netns',
        node.netns,
      ]);
      run('ip', ['link', 'set', `${prefix}v${index}`, 'master', bridge, 'up']);
      run('ip', ['-n', node.netns, 'addr', 'add', `${node.address}/24`, 'dev', 'eth0']);
      run('ip', ['-n', node.netns, 'link', 'set', 'eth0', 'up']);
      run('ip', ['-n', node.netns, 'link', 'set', 'lo', 'up']);
      daemons.set(index, await startDaemon(node, join(dir, `n${index}`), subnet));
    }
    for (const node of nodes) await waitForDaemon(node, daemons.get(node.index), join(dir, `n${node.index}`));

    const manager = new Docker({ socketPath: nodes[0]!.socketPath });
    await manager.swarmInit({
      ListenAddr: `${nodes[0]!.address}:2377`,
      AdvertiseAddr: nodes[0]!.address,
      // A lost node is marked down after a few missed heartbeats: 1 s, not 5 s, keeps the test short.
      Spec: { Dispatcher: { HeartbeatPeriod: 1_000_000_000 }, TaskDefaults: {} },
    });
    const swarm = (await manager.swarmInspect()) as { JoinTokens: { Worker: string } };
    for (const node of nodes.slice(1)) {
      await new Docker({ socketPath: node.socketPath }).swarmJoin({
        ListenAddr: `${node.address}:2377`,
        AdvertiseAddr: node.address,
        RemoteAddrs: [`${nodes[0]!.address}:2377`],
        JoinToken: swarm.JoinTokens.Worker,
      });
    }
    await waitUntil(30_000, async () => {
      const listed = (await manager.listNodes()) as { Status: { State: string } }[];
      return listed.length === count && listed.every((one) => one.Status.State === 'ready');
    });
  } catch (error) {
    const logs = nodes
      .map((node) => `--- ${node.hostname}\n${tail(join(dir, `n${node.index}`, 'dockerd.log'))}`)
      .join('\n');
    await stop();
    throw new Error(`the swarm did not come up: ${(error as Error).message}\n${logs}`);
  }
  return { nodes, managerSocket: nodes[0]!.socketPath, hostAddress, subnet, killNode, stop };
}

async function startDaemon(node: SwarmNode, dir: string, subnet: string): Promise<ChildProcess> {
  await mkdir(dir, { recursive: true });
  const log = await open(join(dir, 'dockerd.log'), 'w');
  const dockerd = [
    'dockerd',
    `--data-root=${join(dir, 'data')}`,
    `--exec-root=${join(dir, 'exec')}`,
    `--pidfile=${join(dir, 'docker.pid')}`,
    `--host=unix://${node.socketPath}`,
    '--storage-driver=overlay2',
    '--exec-opt=native.cgroupdriver=cgroupfs',
    `--cgroup-parent=${node.cgroup}`,
    // herd's /v2/ on the bridge is plain HTTP; only this cluster's own range is trusted so.
    `--insecure-registry=${subnet}`,
    '--log-level=warn',
  ];
  const child = spawn(
    'unshare',
    [
      '--mount',
      '--uts',
      '--propagation',
      'private',
      'sh',
      '-c',
      'hostname "$0" && exec nsenter --net="/run/netns/$0" "$@"',
      node.netns,
      ...dockerd,
    ],
    { stdio: ['ignore', log.fd, log.fd] },
  );
  await log.close();
  return child;
}

async function waitForDaemon(node: SwarmNode, child: ChildProcess | undefined, dir: string): Promise<void> {
  const docker = new Docker({ socketPath: node.socketPath });
  await waitUntil(30_000, async () => {
    if (child && (child.exitCode !== null || child.signalCode !== null)) {
      throw new Error(`dockerd of ${node.hostname} exited: ${tail(join(dir, 'dockerd.log'))}`);
    }
    return docker.ping().then(
      () => true,
      () => false,
    );
  });
}

/** Every pid of a node: those in its network namespace (dockerd, containerd, shims, proxies) and its containers'. */
function processesOf(node: SwarmNode): number[] {
  const pids = new Set<number>();
  const listed = run('ip', ['netns', 'pids', node.netns], { allowFailure: true });
  for (const line of listed.split('\n')) if (/^\d+$/.test(line.trim())) pids.add(Number(line.trim()));
  for (const file of cgroupProcFiles(join('/sys/fs/cgroup/pids', node.cgroup))) {
    for (const line of safeRead(file).split('\n'))
      if (/^\d+$/.test(line.trim())) pids.add(Number(line.trim()));
  }
  pids.delete(process.pid);
  return [...pids];
}

function killAll(node: SwarmNode): void {
  for (const pid of processesOf(node)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
}

function cgroupProcFiles(root: string): string[] {
  if (!existsSync(root)) return [];
  const files = [join(root, 'cgroup.procs')];
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    if (entry.isDirectory()) files.push(...cgroupProcFiles(join(root, entry.name)));
  }
  return files;
}

/** The node's cgroup in every v1 hierarchy (and the v2 one), innermost first; empty ones only. */
function removeCgroup(name: string): void {
  if (!existsSync('/sys/fs/cgroup')) return;
  for (const hierarchy of readdirSync('/sys/fs/cgroup')) {
    const root = join('/sys/fs/cgroup', hierarchy, name);
    if (existsSync(root)) removeTree(root);
  }
}

function removeTree(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) removeTree(join(dir, entry.name));
  }
  try {
    rmdirSync(dir);
  } catch {
    // a cgroup with a process still in it: left, and `leftovers` reports it
  }
}

/** A 10.231.<n>.0/24 that no route of this machine uses yet. */
function freeSubnetOctet(): number {
  const routes = run('ip', ['-4', 'route', 'show']);
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const octet = 1 + Math.floor(Math.random() * 250);
    if (!routes.includes(`10.231.${octet}.`)) return octet;
  }
  throw new Error('no free 10.231.<n>.0/24 for the swarm bridge');
}

/** What a finished cluster left on the machine, by prefix: namespaces, links, cgroups, processes. */
export function leftovers(cluster: Pick<SwarmCluster, 'nodes'>): string[] {
  const found: string[] = [];
  const namespaces = run('ip', ['netns', 'list'], { allowFailure: true });
  const links = run('ip', ['-o', 'link', 'show'], { allowFailure: true });
  for (const node of cluster.nodes) {
    if (namespaces.split('\n').some((line) => line.split(' ')[0] === node.netns))
      found.push(`netns ${node.netns}`);
    if (links.includes(node.netns.replace(/-\d+$/, ''))) found.push(`link of ${node.netns}`);
    if (existsSync(join('/sys/fs/cgroup/pids', node.cgroup))) found.push(`cgroup ${node.cgroup}`);
    if (existsSync(node.socketPath)) found.push(`socket ${node.socketPath}`);
  }
  const mounts = safeRead('/proc/self/mountinfo');
  for (const node of cluster.nodes) {
    if (mounts.includes(node.socketPath.replace(/\/n\d+\/docker\.sock$/, '')))
      found.push(`mounts of ${node.netns}`);
  }
  return [...new Set(found)];
}

function run(command: string, args: string[], options: { allowFailure?: boolean } = {}): string {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.status !== 0 && !options.allowFailure) {
    throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr || result.error?.message}`);
  }
  return result.stdout ?? '';
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function tail(path: string): string {
  return safeRead(path).split('\n').slice(-15).join('\n');
}

async function waitUntil(ms: number, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
