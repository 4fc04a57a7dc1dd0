/**
 * Drops an executable into a running instance from outside (`podman cp` into /tmp, as someone with
 * the engine's socket would) and times herd's response through the fleet API: the incident's
 * detection, the instance out of the front door, its replacement ready, the instance removed.
 * test/watch-response-e2e.test.ts makes a few drops, bench/watch-response.ts fifteen.
 */
import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ApiClient, unwrap } from '../../src/server/api-client.js';
import type { Podman } from './herd-process.js';

export interface DropTiming {
  instance: string;
  /** From `podman cp` returning to the incident's detection time. */
  detectMs: number;
  /** From detection until the fleet API says the front door no longer sends to the instance. */
  outOfDoorMs: number;
  /** From detection until an instance that was not there before is ready and served. */
  replacementReadyMs: number;
  /** From detection until the engine no longer lists the instance. */
  removedMs: number;
  /** The incident's `quarantine` field. */
  quarantine: string | undefined;
}

interface Seen {
  outAt?: number;
  readyAt?: number;
  removedAt?: number;
}

/** An executable shell script, written once per process, to copy into instances. */
let payload: Promise<string> | undefined;
function payloadFile(): Promise<string> {
  payload ??= (async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'herd-drop-')), 'miner');
    await writeFile(file, '#!/bin/sh\necho mining\n');
    await chmod(file, 0o755);
    return file;
  })();
  return payload;
}

/** Drops the executable into a random instance that serves, and waits until it is replaced. */
export async function dropExecutable(options: {
  api: ApiClient;
  service: string;
  podman: Podman;
  timeoutMs?: number;
}): Promise<DropTiming> {
  const { api, service, podman } = options;
  const status = await fleetStatus(api, service);
  const serving = status.instances.filter((one) => one.ready && one.serving === true && !one.condemned);
  if (serving.length === 0) throw new Error(`no instance of ${service} serves: ${JSON.stringify(status)}`);
  const victim = serving[Math.floor(Math.random() * serving.length)]!.id;
  const before = new Set(status.instances.map((one) => one.id));
  const file = `/tmp/miner-${Date.now()}`;

  podman(['cp', await payloadFile(), `${victim}:${file}`]);
  const copiedAt = Date.now();
  const seen: Seen = {};
  const deadline = copiedAt + (options.timeoutMs ?? 60_000);
  let detectedAt: number | undefined;
  let quarantine: string | undefined;
  while (seen.removedAt === undefined || seen.readyAt === undefined || detectedAt === undefined) {
    if (Date.now() > deadline) {
      throw new Error(
        `instance ${victim}: not replaced in time (seen ${JSON.stringify(seen)}, detected ${detectedAt})`,
      );
    }
    const now = await fleetStatus(api, service);
    const at = Date.now();
    const row = now.instances.find((one) => one.id === victim);
    if (row && row.serving === undefined)
      throw new Error('the fleet API does not say what the front door serves');
    if (seen.outAt === undefined && (!row || row.serving === false)) seen.outAt = at;
    if (seen.removedAt === undefined && !row) seen.removedAt = at;
    if (
      seen.readyAt === undefined &&
      now.instances.some((one) => !before.has(one.id) && one.ready && one.serving)
    )
      seen.readyAt = at;
    if (detectedAt === undefined) {
      const incidents = await unwrap(api.incidents.$get({ query: { service } }));
      const incident = incidents.find((one) => one.instance === victim && one.kind === 'drift');
      if (incident) {
        detectedAt = Date.parse(incident.detectedAt);
        quarantine = incident.quarantine;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return {
    instance: victim,
    detectMs: detectedAt - copiedAt,
    outOfDoorMs: (seen.outAt ?? seen.removedAt) - detectedAt,
    replacementReadyMs: seen.readyAt - detectedAt,
    removedMs: seen.removedAt - detectedAt,
    quarantine,
  };
}

/** Waits until the fleet is back at `size` ready instances that all serve and none condemned. */
export async function settled(api: ApiClient, service: string, size: number, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await fleetStatus(api, service);
    const serving = status.instances.filter((one) => one.ready && one.serving && !one.condemned);
    if (status.instances.length === size && serving.length === size) return;
    if (Date.now() > deadline) throw new Error(`${service} did not settle: ${JSON.stringify(status)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Median and maximum of each figure, in ms. */
export function summarize(timings: readonly DropTiming[]) {
  const figure = (pick: (one: DropTiming) => number) => {
    const sorted = timings.map(pick).sort((a, b) => a - b);
    const middle = Math.floor(sorted.length / 2);
    const median =
      sorted.length % 2 === 1 ? sorted[middle]! : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
    return { median, max: sorted.at(-1) ?? Number.NaN };
  };
  return {
    detect: figure((one) => one.detectMs),
    outOfDoor: figure((one) => one.outOfDoorMs),
    changeToOutOfDoor: figure((one) => one.detectMs + one.outOfDoorMs),
    replacementReady: figure((one) => one.replacementReadyMs),
    removed: figure((one) => one.removedMs),
  };
}

/** The summary as lines to print. */
export function describeTimings(timings: readonly DropTiming[]): string[] {
  const summary = summarize(timings);
  const line = (label: string, figure: { median: number; max: number }) =>
    `${label.padEnd(40)} median ${String(Math.round(figure.median)).padStart(5)} ms   max ${String(Math.round(figure.max)).padStart(5)} ms`;
  return [
    `${timings.length} drops`,
    line('copy → detection', summary.detect),
    line('detection → out of the front door', summary.outOfDoor),
    line('copy → out of the front door', summary.changeToOutOfDoor),
    line('detection → replacement ready', summary.replacementReady),
    line('detection → drifted instance removed', summary.removed),
  ];
}

function fleetStatus(api: ApiClient, service: string) {
  return unwrap(api.fleets[':service'].$get({ param: { service } }));
}
