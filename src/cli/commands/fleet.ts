/**
 * The control plane from the command line: `herd serve` runs it; `herd up` runs it and the whole
 * pipeline for one spec in the foreground; `status`, `rollout`, `rollback`, `scale` and `logs`
 * talk to a running one over its API (see ../control-plane-client.ts).
 */
import { readFile } from 'node:fs/promises';
import { fleetTemplateFor } from '../../fleet/instance-spec.js';
import type { FleetStatus } from '../../fleet/types.js';
import { herdHome } from '../../herd-home.js';
import type { HomeLock } from '../../home/home-lock.js';
import { shortDigest } from '../../oci/digest.js';
import type { LayoutStore } from '../../oci/layout-store.js';
import type { Digest } from '../../oci/types.js';
import { type ControlPlane, startControlPlane } from '../../server/control-plane.js';
import type { LogLineView, LogsAnswer } from '../../server/routes/log-api.js';
import { localRepository } from '../../trust/signed-identity.js';
import { controlPlaneClient, controlPlaneUrl } from '../control-plane-client.js';
import { CliError } from '../errors.js';
import { formatTable } from '../format.js';
import { localSigningKey } from '../local-signing-key.js';
import { logger } from '../logger.js';
import { openSpec, openStore } from '../spec-context.js';
import { openState } from '../state-context.js';
import { buildAndGate } from './build.js';
import { trustedSignatureCheck } from './catalog.js';
import { renderReport } from './gate.js';
import { signPassedImage } from './trust.js';

/** `herd serve`: the control plane until SIGINT or SIGTERM; fleets keep running when it stops. */
export async function serveCommand(
  options: { port?: string; host?: string },
  lock: HomeLock,
): Promise<number> {
  const plane = await startControlPlane({
    home: herdHome(),
    lock,
    port: Number(options.port ?? 5000),
    host: options.host ?? '127.0.0.1',
    log: logger,
  });
  console.log(`herd serve: OCI distribution API at ${plane.url}/v2/ (read-only)`);
  console.log(`herd serve: fleet API at ${plane.url}/api/v1/`);
  await untilSignal();
  await plane.close();
  return 0;
}

/**
 * `herd up [dir]`: build, gate, sign, release and roll out the spec on the local engine, then serve
 * it in the foreground. Ctrl-C removes the instances it ran and stops the control plane.
 */
export async function upCommand(
  dir: string,
  options: { port?: string; allowDowngrade?: boolean },
  lock: HomeLock,
): Promise<number> {
  const home = herdHome();
  const say = (line: string) => console.log(`herd up: ${line}`);
  const { image, verdict, store, context } = await buildAndGate(dir, {
    gate: true,
    ...(options.allowDowngrade ? { allowDowngrade: true } : {}),
  });
  const { spec } = context.loaded;
  say(`built ${image.refName} ${image.digest} (${image.packageCount} packages)`);
  if (!verdict?.passed) {
    if (verdict) process.stdout.write(renderReport(verdict, 'text'));
    say('the gate failed, so nothing was signed or rolled out');
    return 1;
  }
  say(`gate passed (${verdict.profile})`);
  const signing = await localSigningKey(home, process.env);
  say(signing.describe);
  await signPassedImage(store, image.digest, {
    key: signing.key,
    identity: localRepository(spec.service),
    verdict,
  });
  await releaseCandidate(store, spec.service, image.digest);
  say(`signed and released ${spec.service} ${shortDigest(image.digest)} at candidate`);

  const plane = await startControlPlane({
    home,
    lock,
    ...(options.port !== undefined ? { port: Number(options.port) } : {}),
    log: logger,
  });
  const stop = untilSignal();
  try {
    const door = await plane.frontDoors.open(spec.service, { port: spec.fleet.port ?? 0 });
    const fleets = await plane.fleets();
    await fleets.rollout(
      spec.service,
      { release: shortDigest(image.digest), digest: image.digest },
      { template: fleetTemplateFor(spec, spec.fleet) },
    );
    say(`rolling out ${spec.fleet.size} instances of ${spec.service}`);
    const status = await Promise.race([settled(plane, spec.service), stop.then(() => undefined)]);
    if (status) {
      say(`${spec.service} is ${status.status}: ${status.ready}/${status.size} ready`);
      say(`front door  ${door.url}/`);
      say(`API         ${plane.url}/api/v1/fleets/${spec.service}`);
      say(`registry    ${plane.url}/v2/`);
      say('Ctrl-C stops the fleet and the control plane');
      await stop;
    }
  } finally {
    say('stopping: draining and removing the instances');
    await plane.close({ removeInstances: true });
  }
  return 0;
}

async function releaseCandidate(store: LayoutStore, service: string, digest: Digest): Promise<void> {
  const state = openState();
  try {
    await state.catalog.release(service, digest, {
      stage: 'candidate',
      actor: state.actor,
      verifySignature: await trustedSignatureCheck(store),
    });
  } finally {
    state.close();
  }
}

/** Waits until the rollout completes or fails (reverted or not), printing progress as it goes. */
async function settled(plane: ControlPlane, service: string): Promise<FleetStatus> {
  const fleets = await plane.fleets();
  let last = '';
  for (;;) {
    const status = await fleets.status(service);
    const line = `${status.status}: ${status.ready}/${status.size} ready`;
    if (line !== last) console.log(`herd up: ${line}`);
    last = line;
    if (status.status === 'complete' || status.status === 'failed') return status;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

function untilSignal(): Promise<void> {
  return new Promise((done) => {
    process.once('SIGINT', () => done());
    process.once('SIGTERM', () => done());
  });
}

/** `herd status [service]`. */
export async function statusCommand(service: string | undefined, options: { json?: boolean }) {
  const client = await controlPlaneClient();
  if (!service) {
    const fleets = (await client.get('/api/v1/fleets')) as { service: string }[];
    if (options.json) console.log(JSON.stringify(fleets, null, 2));
    else for (const fleet of fleets) console.log(fleet.service);
    return 0;
  }
  const status = (await client.get(`/api/v1/fleets/${encodeURIComponent(service)}`)) as FleetStatus & {
    frontDoor: string | null;
  };
  if (options.json) {
    console.log(JSON.stringify(status, null, 2));
    return 0;
  }
  console.log(
    `${status.service}  release ${status.release}  ${status.status}${status.degraded ? ' (degraded)' : ''}`,
  );
  console.log(`  ready ${status.ready}/${status.size}, available ${status.available}`);
  if (status.frontDoor) console.log(`  front door ${status.frontDoor}/`);
  console.log(
    formatTable([
      ['INSTANCE', 'RELEASE', 'STATE', 'READY', 'ADDRESS'],
      ...status.instances.map((i) => [
        i.id.slice(0, 12),
        i.release,
        i.state,
        i.ready ? 'yes' : i.unhealthy ? 'unhealthy' : 'no',
        i.address ? `${i.address.host}:${i.address.port}` : '-',
      ]),
    ]),
  );
  return 0;
}

/** `herd rollout <service> <ref> [--spec dir]`: the spec is needed for a fleet's first rollout. */
export async function rolloutCommand(service: string, reference: string, options: { spec?: string }) {
  const { store } = await openStore();
  const digest = await store.resolve(reference);
  // The control plane validates the spec itself; it is sent as written.
  const specText = options.spec
    ? await readFile((await openSpec(options.spec)).loaded.path, 'utf8')
    : undefined;
  const client = await controlPlaneClient();
  const started = (await client.post(`/api/v1/fleets/${encodeURIComponent(service)}/rollout`, {
    digest,
    ...(specText !== undefined ? { spec: specText } : {}),
  })) as { release: string };
  console.log(`rolling out ${service} ${started.release} (${digest}); herd status ${service} follows it`);
  return 0;
}

export async function rollbackCommand(service: string) {
  const client = await controlPlaneClient();
  const back = (await client.post(`/api/v1/fleets/${encodeURIComponent(service)}/rollback`, {})) as {
    release: string;
  };
  console.log(`rolling ${service} back to ${back.release}`);
  return 0;
}

export async function scaleCommand(service: string, size: string) {
  const client = await controlPlaneClient();
  await client.post(`/api/v1/fleets/${encodeURIComponent(service)}/scale`, { size: Number(size) });
  console.log(`${service} scaled to ${size}`);
  return 0;
}

/**
 * `herd logs <service> [--instance id] [--since 10m|ISO] [--grep re] [--tail n] [--follow]`: from
 * the control plane's log store, so destroyed instances' lines are there too.
 */
export async function logsCommand(
  service: string,
  options: { instance?: string; since?: string; grep?: string; tail?: string; follow?: boolean },
) {
  const params = new URLSearchParams({ tail: String(Number(options.tail ?? 100)) });
  if (options.instance) params.set('instance', options.instance);
  if (options.since) params.set('since', options.since);
  if (options.grep) params.set('grep', options.grep);
  const path = `/api/v1/fleets/${encodeURIComponent(service)}/logs`;
  const print = (line: LogLineView) =>
    console.log(
      `${line.time} ${line.instance.slice(0, 12)} ${line.stream === 'stderr' ? 'E' : ' '} ${line.text}`,
    );
  if (!options.follow) {
    const logs = (await (await controlPlaneClient()).get(`${path}?${params}`)) as LogsAnswer;
    for (const line of logs.lines) print(line);
    const { health } = logs.storage;
    if (health.kind === 'write-failed') {
      console.error(
        `herd: the log store cannot write (${health.code}, ${health.droppedLines} lines dropped since ${new Date(health.since).toISOString()}): ${health.message}`,
      );
    }
    return 0;
  }
  params.set('follow', '1');
  const response = await fetch(`${await controlPlaneUrl()}${path}?${params}`).catch((error: Error) => {
    throw new CliError('CONTROL_PLANE_UNREACHABLE', `no control plane answers: ${error.message}`);
  });
  if (!response.ok || !response.body) {
    const body = (await response.json().catch(() => ({}))) as { error?: { message: string } };
    throw new CliError('CONTROL_PLANE_REFUSED', body.error?.message ?? `logs answered ${response.status}`);
  }
  let rest = '';
  for await (const chunk of response.body.pipeThrough(new TextDecoderStream())) {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) if (line) print(JSON.parse(line) as LogLineView);
  }
  return 0;
}
