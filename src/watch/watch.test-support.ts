/**
 * The watch's tests on the memory engine: an image (its files and its file manifest, as a signed
 * baseline would give it), a fleet controller over herd.db in memory (fleet/controller.test-support),
 * and the monitor wired to them as integrity-watch.ts wires the real parts.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fleetHarness, template } from '../fleet/controller.test-support.js';
import type { FleetTemplate } from '../fleet/types.js';
import { Journal } from '../journal/journal.js';
import { LayoutStore } from '../oci/layout-store.js';
import type { TarEntry } from '../oci/tar.js';
import { type Digest, type ImageManifest, MediaType } from '../oci/types.js';
import { baselineOf, type FileManifestEntry } from './baseline.js';
import { EventCursorStore } from './event-cursor.js';
import { IncidentResponse } from './incident-response.js';
import { IncidentStore } from './incident-store.js';
import { IntegrityMonitor, type IntegrityMonitorOptions } from './integrity-monitor.js';
import { watchedTemplates } from './integrity-watch.js';
import type { TrustedBaseline } from './trusted-manifest.js';

export const serverBytes = Buffer.from('the pristine server');
export const forgedBytes = Buffer.from('the forged server!!');
export const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

const dir = (path: string, mode = 0o755): TarEntry => ({
  path,
  type: 'dir',
  mode,
  uid: 0,
  gid: 0,
  size: 0,
  mtime: 0,
});

/** The image's files as the engine's export holds them. */
export const imageFiles: TarEntry[] = [
  dir('usr'),
  dir('usr/bin'),
  {
    path: 'usr/bin/server',
    type: 'file',
    mode: 0o755,
    uid: 0,
    gid: 0,
    size: serverBytes.length,
    mtime: 0,
    data: serverBytes,
  },
  dir('tmp', 0o1777),
  dir('run', 0o755),
];

/** The same, as the signed file manifest says them. */
export const manifest: FileManifestEntry[] = [
  { path: '/usr', type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0 },
  { path: '/usr/bin', type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0 },
  {
    path: '/usr/bin/server',
    type: 'file',
    mode: 0o755,
    uid: 0,
    gid: 0,
    size: serverBytes.length,
    sha256: sha(serverBytes),
  },
  { path: '/tmp', type: 'dir', mode: 0o1777, uid: 0, gid: 0, size: 0 },
  { path: '/run', type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0 },
];

/** An executable, as an intruder drops it. */
export function payload(path: string): TarEntry {
  const data = Buffer.from('#!/bin/sh\necho mining\n');
  return { path, type: 'file', mode: 0o755, uid: 65532, gid: 65532, size: data.length, mtime: 0, data };
}

export const silentLog = { info: () => {}, warn: () => {} };

/** A fleet `web` of `size` on digest `digest` (its files `imageFiles`), settled, and the parts to watch it. */
export async function watchHarness(options: { size?: number; template?: FleetTemplate } = {}) {
  const root = await mkdtemp(join(tmpdir(), 'herd-watch-'));
  const store = new LayoutStore(root);
  await store.init();
  const image: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.imageManifest,
    config: await store.putJson(
      { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } },
      MediaType.imageConfig,
    ),
    layers: [],
  };
  const digest = (await store.putJson(image, MediaType.imageManifest)).digest;
  const h = fleetHarness();
  const journal = new Journal(h.db, { clock: h.clock });
  const incidents = new IncidentStore(h.db);
  const trust: TrustedBaseline = { kind: 'trusted', baseline: baselineOf(manifest), keyFingerprint: 'test' };
  h.engine.setImageFiles(digest, imageFiles);
  const size = options.size ?? 2;
  const strategy = {
    maxSurge: 1,
    maxUnavailable: 0,
    minReadySeconds: 1,
    progressDeadlineSeconds: 60,
    autoRevert: true,
  };
  await h.controller.rollout(
    'web',
    { revision: 'r1', digest },
    { template: options.template ?? template({ size, strategy }) },
  );
  await h.runUntil(() => h.statusIs('r1'));
  h.engine.resetPeak();

  /** A monitor as integrity-watch.ts makes it: the controller replaces, holds and reloads images. */
  function monitor(overrides: Partial<IntegrityMonitorOptions> = {}): IntegrityMonitor {
    const responder = new IncidentResponse({
      store,
      journal,
      incidents,
      fleets: h.controller,
      actor: 'test',
      now: () => h.clock.now(),
      log: silentLog,
    });
    return new IntegrityMonitor({
      engine: h.engine,
      baselineOf: async () => trust,
      templateOf: watchedTemplates(h.controller),
      responder,
      images: h.controller,
      eventCursor: new EventCursorStore(h.db, () => h.clock.now()),
      clock: h.clock,
      deepIntervalMs: 0,
      ...overrides,
    });
  }

  return {
    h,
    store,
    journal,
    incidents,
    digest: digest as Digest,
    strategy,
    monitor,
    close: () => rm(root, { recursive: true, force: true }),
  };
}
