/**
 * The integrity monitor and the process allowlist with their real parts: baselines verified with
 * herd's trusted keys, incidents in herd.db, evidence in the store, journal entries, and the fleet
 * controller doing the replacing. What `server/control-plane.ts` starts beside the controller.
 */
import type { KeyObject } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import type { Clock, Logger } from '../common/index.js';
import type { Engine, Instance } from '../engines/index.js';
import type { Journal } from '../journal/index.js';
import type { Digest, LayoutStore } from '../oci/index.js';
import { webhookOf } from './alert-webhook.js';
import { EventCursorStore } from './event-cursor.js';
import type { PristineImages } from './image-tampering.js';
import { IncidentResponse, type ReplacingFleets } from './incident-response.js';
import { IncidentStore } from './incident-store.js';
import { InstanceAllowlists } from './instance-allowlist.js';
import { IntegrityMonitor, type WatchedTemplate } from './integrity-monitor.js';
import { ProcessMonitor } from './process-monitor.js';
import { loadTrustedBaseline } from './trusted-manifest.js';

export interface IntegrityWatchOptions {
  engine: Engine;
  store: LayoutStore;
  db: Database;
  journal: Journal;
  actor: string;
  fleets: ReplacingFleets &
    InstanceTemplates &
    PristineImages & {
      /** The fleet's current template: only its `watch:` is read here. */
      templateOf(
        service: string,
      ): { watch?: { webhook?: string; deepCheck?: { intervalSeconds: number } } } | undefined;
    };
  /** Read at each new image digest, so a key added to the trust store counts without a restart. */
  publicKeys: () => Promise<KeyObject[]>;
  /** Where alerts go for a fleet whose spec names no `watch.webhook` (HERD_WATCH_WEBHOOK). */
  fallbackWebhook?: string;
  log: Pick<Logger, 'info' | 'warn'>;
  clock?: Clock;
  fastIntervalMs?: number;
  deepIntervalMs?: number;
  /** Instances a debug session holds (src/debug): no incident for what happens in them. */
  held?: (id: string) => boolean;
}

/** Fleets as the monitor needs them (FleetController has it). */
export interface InstanceTemplates {
  /** The run template an instance was made from, by its label (fleet/instance-templates.ts). */
  instanceTemplate(instance: Instance):
    | {
        kind: 'known';
        run: { writable: readonly string[]; writableRoot?: boolean; processes?: readonly string[] };
      }
    | { kind: 'no-fleet' }
    | { kind: 'unknown'; reason: string };
}

/** Each instance judged by its own template's writable paths, never the fleet's current ones. */
export function watchedTemplates(fleets: InstanceTemplates): (instance: Instance) => WatchedTemplate {
  return (instance) => {
    const found = fleets.instanceTemplate(instance);
    if (found.kind !== 'known') return found;
    const { writable, writableRoot, processes } = found.run;
    return {
      kind: 'known',
      writable,
      writableRoot: writableRoot === true,
      ...(processes ? { processes } : {}),
    };
  };
}

export interface IntegrityWatch {
  monitor: IntegrityMonitor;
  /** The process allowlist, sampled every second (process-monitor.ts). */
  processes: ProcessMonitor;
  incidents: IncidentStore;
  stop(): Promise<void>;
}

export function startIntegrityWatch(options: IntegrityWatchOptions): IntegrityWatch {
  const incidents = new IncidentStore(options.db);
  const clock = options.clock;
  const responder = new IncidentResponse({
    store: options.store,
    journal: options.journal,
    incidents,
    fleets: options.fleets,
    actor: options.actor,
    now: () => (clock ?? Date).now(),
    webhookFor: webhookOf(options.fleets, options.fallbackWebhook),
    log: options.log,
  });
  const baselineOf = async (digest: Digest) =>
    loadTrustedBaseline(options.store, digest, { publicKeys: await options.publicKeys() });
  const monitor = new IntegrityMonitor({
    engine: options.engine,
    baselineOf,
    templateOf: watchedTemplates(options.fleets),
    responder,
    images: options.fleets,
    eventCursor: new EventCursorStore(options.db, () => (clock ?? Date).now()),
    deepIntervalOf: (service) => {
      const seconds = options.fleets.templateOf(service)?.watch?.deepCheck?.intervalSeconds;
      return seconds === undefined ? undefined : seconds * 1000;
    },
    ...(clock ? { clock } : {}),
    ...(options.fastIntervalMs !== undefined ? { fastIntervalMs: options.fastIntervalMs } : {}),
    ...(options.deepIntervalMs !== undefined ? { deepIntervalMs: options.deepIntervalMs } : {}),
    ...(options.held ? { held: options.held } : {}),
    log: options.log,
  });
  monitor.start();
  const templateOf = watchedTemplates(options.fleets);
  const allowlists = new InstanceAllowlists({ store: options.store, engine: options.engine, baselineOf });
  const processes = new ProcessMonitor({
    engine: options.engine,
    allowlistOf: async (instance) => {
      const template = templateOf(instance);
      return template.kind === 'known' ? allowlists.of(instance, template.processes) : undefined;
    },
    responder,
    ...(clock ? { clock } : {}),
    log: options.log,
    ...(options.held ? { held: options.held } : {}),
  });
  processes.start();
  return {
    monitor,
    processes,
    incidents,
    stop: async () => {
      await Promise.all([monitor.stop(), processes.stop()]);
    },
  };
}
