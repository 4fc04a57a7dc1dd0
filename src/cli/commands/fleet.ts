/**
 * The control plane from the command line: `herd serve` runs it; `herd up` runs it and the whole
 * pipeline for one spec in the foreground; `status`, `rollout`, `rollback`, `scale`, `pause`, `resume` and `logs`
 * talk to a running one over its API (see ../control-plane-client.ts).
 */
import { readFile } from 'node:fs/promises';
import type { BuiltImage } from '../../builder/index.js';
import type { FleetStatus } from '../../fleet/index.js';
import { fleetTemplateFor } from '../../fleet/index.js';
import { herdHome } from '../../herd-home.js';
import type { HomeLock } from '../../home/index.js';
import { shortDigest } from '../../oci/index.js';
import { assertSpecOwnership, buildAndGate, releaseImage, signAndAttest } from '../../pipeline/index.js';
import type { LogLineView } from '../../server/index.js';
import {
  type ControlPlane,
  LogLine,
  LogsQuery,
  RolloutBody,
  ScaleBody,
  ServiceParams,
  startControlPlane,
} from '../../server/index.js';
import { LocalKeySigner, localRepository } from '../../trust/index.js';
import { checkedArguments } from '../api-arguments.js';
import { controlPlaneConnection } from '../control-plane-client.js';
import { CliError } from '../errors.js';
import { formatTable } from '../format.js';
import { renderReport } from '../gate-report.js';
import { herdVersion } from '../herd-version.js';
import { localSigningKey, remediationSetup } from '../local-signing-key.js';
import { logger } from '../logger.js';
import { buildRequest, openPipelineParts } from '../pipeline-parts.js';
import { renderTimes } from '../pipeline-view.js';
import { openSpec, openStore, type SpecContext } from '../spec-context.js';

/** `herd serve`: the control plane until SIGINT or SIGTERM; fleets keep running when it stops. */
export async function serveCommand(
  options: { port?: string; host?: string; v2Auth?: string; spec?: string[] },
  lock: HomeLock,
): Promise<number> {
  const v2Auth = options.v2Auth ?? 'none';
  if (v2Auth !== 'none' && v2Auth !== 'token') {
    throw new CliError('ARGUMENT_INVALID', `--v2-auth takes none or token, got "${v2Auth}"`);
  }
  // Each spec is read now, so a broken one is refused before the control plane starts.
  const specSources = [];
  for (const dir of options.spec ?? []) {
    const { loaded } = await openSpec(dir);
    // The loop builds and signs what it says, unattended: no other user may be able to change it.
    await assertSpecOwnership(loaded);
    specSources.push({ service: loaded.spec.service, specPath: loaded.path });
  }
  const plane = await startControlPlane({
    home: herdHome(),
    lock,
    port: Number(options.port ?? 5000),
    host: options.host ?? '127.0.0.1',
    log: logger,
    v2Auth,
    remediation: remediationSetup(herdHome(), process.env, herdVersion),
    specSources,
  });
  const pulls = v2Auth === 'token' ? 'read-only, a token with images:pull' : 'read-only';
  console.log(`herd serve: OCI distribution API at ${plane.url}/v2/ (${pulls})`);
  console.log(`herd serve: fleet API at ${plane.url}/api/v1/ (a token: herd token create)`);
  console.log(`herd serve: local CLI socket at ${plane.socketPath} (no token)`);
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
  const context = await openSpec(dir);
  const { spec } = context.loaded;
  const image = await buildSignAndRelease(context, { allowDowngrade: options.allowDowngrade === true, say });
  if (!image) return 1;
  say(`signed and released ${spec.service} ${shortDigest(image.digest)} at candidate`);

  const plane = await startControlPlane({
    home,
    lock,
    ...(options.port !== undefined ? { port: Number(options.port) } : {}),
    log: logger,
    remediation: remediationSetup(home, process.env, herdVersion),
    // The remediation loop keeps this fleet patched by replacement from here on.
    specSources: [{ service: spec.service, specPath: context.loaded.path }],
  });
  const stop = untilSignal();
  try {
    // As the fleet API does: the same admission, desired state and journal entry.
    await plane.rollout(spec.service, image.digest, { template: fleetTemplateFor(spec, spec.fleet) });
    say(`rolling out ${spec.fleet.size} instances of ${spec.service}`);
    const status = await Promise.race([settled(plane, spec.service), stop.then(() => undefined)]);
    if (status) {
      say(`${spec.service} is ${status.status}: ${status.ready}/${status.size} ready`);
      const door = plane.frontDoors.get(spec.service);
      if (door) say(`front door  ${door.url}/`);
      say(`API         ${plane.url}/api/v1/fleets/${spec.service} (with a token from herd token create)`);
      say(`local CLI   ${plane.socketPath} (herd status ${spec.service}: no token)`);
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

/**
 * The supply-chain half of `herd up`: build and gate, then sign with the local key and release at
 * candidate, each through its use case. Undefined when the gate failed: nothing is signed then.
 */
async function buildSignAndRelease(
  context: SpecContext,
  options: { allowDowngrade: boolean; say: (line: string) => void },
): Promise<BuiltImage | undefined> {
  const { say } = options;
  const { spec } = context.loaded;
  const parts = await openPipelineParts();
  try {
    const { image, verdict } = await buildAndGate(
      context,
      parts,
      buildRequest({ gate: true, allowDowngrade: options.allowDowngrade }),
    );
    say(`built ${image.refName} ${image.digest} (${image.packageCount} packages)`);
    if (!verdict?.passed) {
      if (verdict) process.stdout.write(renderReport(verdict, 'text'));
      say('the gate failed, so nothing was signed or rolled out');
      return undefined;
    }
    say(`gate passed (${verdict.profile})`);
    const signing = await localSigningKey(parts.home, process.env);
    say(signing.describe);
    await signAndAttest(
      image.digest,
      { ...parts, signer: new LocalKeySigner(signing.key) },
      { identity: localRepository(spec.service), verdict },
    );
    await releaseImage(parts, { service: spec.service, digest: image.digest, stage: 'candidate' });
    return image;
  } finally {
    parts.close();
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
  const { api, call } = controlPlaneConnection();
  if (!service) {
    const fleets = await call(api.fleets.$get());
    if (options.json) console.log(JSON.stringify(fleets, null, 2));
    else for (const fleet of fleets) console.log(fleet.service);
    return 0;
  }
  const param = checkedArguments('status', ServiceParams, { service });
  const status = await call(api.fleets[':service'].$get({ param }));
  if (options.json) {
    console.log(JSON.stringify(status, null, 2));
    return 0;
  }
  console.log(
    `${status.service}  revision ${status.revision}  ${status.status}${status.degraded ? ' (degraded)' : ''}`,
  );
  console.log(`  ready ${status.ready}/${status.size}, available ${status.available}`);
  if (status.paused) {
    const { since, actor } = status.paused;
    console.log(`  paused since ${since} by ${actor}: the rollout waits for herd resume ${status.service}`);
  }
  if (status.frontDoor) console.log(`  front door ${status.frontDoor}/`);
  if (status.autoscale) {
    const { min, max, last } = status.autoscale;
    const decided = last ? `; last decision ${new Date(last.at).toISOString()}: ${last.message}` : '';
    console.log(`  autoscaled ${min} to ${max}${decided}`);
  }
  if (status.bake) {
    const { revision, until } = status.bake;
    console.log(
      `  revision ${revision} kept out of traffic until ${until}; herd rollback switches back to it`,
    );
  }
  const remediated = status.remediation ? renderTimes(status.remediation) : undefined;
  if (remediated) console.log(`  ${remediated}`);
  console.log(
    formatTable([
      ['INSTANCE', 'REVISION', 'STATE', 'READY', 'ADDRESS'],
      ...status.instances.map((i) => [
        i.id.slice(0, 12),
        i.revision,
        i.state,
        i.ready
          ? 'yes'
          : i.quarantined
            ? 'quarantined'
            : i.unverified
              ? 'verifying'
              : i.unhealthy
                ? 'unhealthy'
                : 'no',
        i.address ? `${i.address.host}:${i.address.port}` : '-',
      ]),
    ]),
  );
  return 0;
}

/** `herd rollout <service> <ref> [--spec dir]`: the spec is needed for a fleet's first rollout. */
export async function rolloutCommand(service: string, reference: string, options: { spec?: string }) {
  const param = checkedArguments('rollout', ServiceParams, { service });
  const { store } = await openStore();
  const digest = await store.resolve(reference);
  // The control plane validates the spec itself; it is sent as written.
  const specText = options.spec
    ? await readFile((await openSpec(options.spec)).loaded.path, 'utf8')
    : undefined;
  const json = checkedArguments('rollout', RolloutBody, {
    digest,
    ...(specText !== undefined ? { spec: specText } : {}),
  });
  const { api, call } = controlPlaneConnection();
  const started = await call(api.fleets[':service'].rollout.$post({ param, json }));
  console.log(
    `rolling out ${service} revision ${started.revision} (${digest}); herd status ${service} follows it`,
  );
  return 0;
}

export async function rollbackCommand(service: string) {
  const param = checkedArguments('rollback', ServiceParams, { service });
  const { api, call } = controlPlaneConnection();
  const back = await call(api.fleets[':service'].rollback.$post({ param }));
  console.log(`rolling ${service} back to revision ${back.revision}`);
  return 0;
}

export async function scaleCommand(service: string, size: string) {
  const param = checkedArguments('scale', ServiceParams, { service });
  const json = checkedArguments('scale', ScaleBody, { size: /^\d+$/.test(size) ? Number(size) : size });
  const { api, call } = controlPlaneConnection();
  const scaled = await call(api.fleets[':service'].scale.$post({ param, json }));
  console.log(`${scaled.service} scaled to ${scaled.size}`);
  if (scaled.autoscale) {
    const { min, max } = scaled.autoscale;
    console.log(
      scaled.size === 0
        ? `  ${service} is autoscaled (${min} to ${max}): at 0 the autoscaler stops until the fleet is scaled again`
        : `  ${service} is autoscaled (${min} to ${max}): the autoscaler owns its size and decides again from ${scaled.size} at its next period`,
    );
  }
  return 0;
}

/** `herd pause <service>`: the rollout waits; scaling and replacing unhealthy instances go on. */
export async function pauseCommand(service: string) {
  const param = checkedArguments('pause', ServiceParams, { service });
  const { api, call } = controlPlaneConnection();
  const paused = await call(api.fleets[':service'].pause.$post({ param }));
  console.log(
    paused.changed
      ? `${service} paused: its rollout waits for herd resume ${service}; scaling and healing go on`
      : `${service} was already paused`,
  );
  return 0;
}

/** `herd resume <service>`: a paused rollout goes on, its progress deadline counted from now. */
export async function resumeCommand(service: string) {
  const param = checkedArguments('resume', ServiceParams, { service });
  const { api, call } = controlPlaneConnection();
  const resumed = await call(api.fleets[':service'].resume.$post({ param }));
  console.log(resumed.changed ? `${service} resumed` : `${service} was not paused`);
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
  const param = checkedArguments('logs', ServiceParams, { service });
  const query = checkedArguments('logs', LogsQuery, {
    tail: options.tail ?? '100',
    ...(options.instance ? { instance: options.instance } : {}),
    ...(options.since ? { since: options.since } : {}),
    ...(options.grep ? { grep: options.grep } : {}),
    ...(options.follow ? { follow: '1' } : {}),
  });
  const print = (line: LogLineView) =>
    console.log(
      `${line.time} ${line.instance.slice(0, 12)} ${line.stream === 'stderr' ? 'E' : ' '} ${line.text}`,
    );
  const { api, call } = controlPlaneConnection();
  const request = api.fleets[':service'].logs.$get({ param, query });
  if (!options.follow) {
    const logs = await call(request);
    for (const line of logs.lines) print(line);
    const { health } = logs.storage;
    if (health.kind === 'write-failed') {
      console.error(
        `herd: the log store cannot write (${health.code}, ${health.droppedLines} lines dropped since ${new Date(health.since).toISOString()}): ${health.message}`,
      );
    }
    return 0;
  }
  // A stream of NDJSON lines, not one JSON body: read as it comes, once the call was accepted.
  const response = await request.catch((error: unknown) => call(Promise.reject(error)));
  if (!response.ok || !response.body) await call(Promise.resolve(response));
  let rest = '';
  for await (const chunk of (response.body ?? new ReadableStream()).pipeThrough(new TextDecoderStream())) {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) if (line) print(LogLine.parse(JSON.parse(line)));
  }
  return 0;
}
