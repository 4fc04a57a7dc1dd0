/**
 * What the fleet controller is handed and what it hands back. The roles (clock, prober, front door)
 * are tiny on purpose: real ones live in health-probe.ts and front-door.ts, fakes in the tests.
 */
import type { FleetSection, HealthCheck, RunTemplate } from '../specfile/index.js';
import type { ScaleDecision } from './autoscale.js';
import type { AutoscaleStatus } from './autoscale-step.js';
import type { RemoveReason } from './plan-rollout.js';
import type { RolloutVerdict } from './rollout-progress.js';

/** Where an instance is reachable from herd: the engine's published `127.0.0.1:<port>`. */
export interface InstanceAddress {
  host: string;
  port: number;
}

/** Runs the spec's health check from outside the instance; never rejects (HttpTcpProber). */
export interface HealthProber {
  check(address: InstanceAddress, health: HealthCheck): Promise<boolean>;
}

/** The fleet's stable endpoint (FrontDoors): traffic goes to ready instances only. */
export interface FrontDoorHook {
  setBackends(service: string, addresses: readonly InstanceAddress[]): void | Promise<void>;
  /** Stops new requests to the address and resolves once its in-flight ones are done. */
  drain(service: string, address: InstanceAddress, options?: { timeoutSeconds: number }): Promise<void>;
  /** The addresses it sends new requests to now, for `herd status`. */
  serving?(service: string): readonly InstanceAddress[];
  /** What it sent each backend so far, for the autoscaler's front-door metrics; undefined when it cannot say. */
  load?(service: string): FrontDoorLoad | undefined;
}

/** The front door's counters at `at` (epoch ms), per backend; read twice, they give rates and averages. */
export interface FrontDoorLoad {
  at: number;
  backends: readonly (InstanceAddress & {
    /** Requests sent to it so far (cumulative). */
    requests: number;
    /** In flight now. */
    inFlight: number;
    /** The integral of its in-flight requests over time, in request-milliseconds (cumulative). */
    inFlightMs: number;
  })[];
}

/**
 * What every instance of a fleet is made from, stored with the fleet (read back through
 * stored-template.ts). Only non-secret values: secrets come from `environmentFor` at create time
 * and are never stored or recorded.
 */
export interface FleetTemplate {
  /**
   * 1 for every template herd writes. 0 for one stored before templates had a version: its `run`
   * is rebuilt from what its instances ran with, and admission refuses to roll it out again.
   */
  version: 0 | 1;
  /**
   * How the instances run (user, writable paths, writable root, health check…): admission admits
   * a digest only when this equals its signed run template in what the gate judged, and each
   * instance is labelled with its digest (`instanceLabels.template`).
   */
  run: RunTemplate;
  /** The fleet's own knobs: size, strategy, resources, grace; free to differ from revision to revision. */
  fleet: FleetSection;
  /** The container port the front door and the health check reach. */
  port?: number;
  env: Record<string, string>;
  /** Names read from herd's environment at create (secrets, required values without a default). */
  fromEnvironment?: string[];
  /**
   * The spec's `watch:` as the monitor needs it: the webhook (herd's HERD_WATCH_WEBHOOK when
   * absent) and how often one random instance gets a deep check (the monitor's default when absent).
   */
  watch?: { webhook?: string; deepCheck?: { intervalSeconds: number } };
}

export type FleetStatusKind = 'progressing' | 'reverting' | 'complete' | 'failed';

export interface InstanceStatus {
  id: string;
  revision: string;
  state: string;
  ready: boolean;
  available: boolean;
  unhealthy: boolean;
  /** A monitor asked for its replacement (drift, exec). */
  condemned?: boolean;
  /** Condemned and out of the front door for good; removed once its replacement is ready. */
  quarantined?: boolean;
  /** The front door sends new requests to it now (absent when the front door cannot say). */
  serving?: boolean;
  /** Its image's file manifest did not verify; never ready. */
  untrusted?: boolean;
  /** Made after its image was fetched anew: not ready until its deep check passed. */
  unverified?: boolean;
  address?: InstanceAddress;
}

export interface FleetStatus {
  service: string;
  revision: string;
  digest: `sha256:${string}`;
  size: number;
  status: FleetStatusKind;
  /** Instances keep crashing; creates are backed off. */
  degraded: boolean;
  /** For an autoscaled fleet: its bounds and the autoscaler's last decision (autoscale-step.ts). */
  autoscale?: AutoscaleStatus;
  /** `herd pause`: since when (ISO 8601) and by whom; the rollout waits, scaling and healing go on. */
  paused?: { since: string; actor: string };
  /**
   * A blue-green fleet after a rollout's switch: the old revision, still running out of traffic
   * until `until` (ISO 8601); `herd rollback` meanwhile switches back to it at once.
   */
  bake?: { revision: string; until: string };
  instances: InstanceStatus[];
  ready: number;
  available: number;
}

/** For the journal; the controller does not import it, the caller passes `record`. */
export type FleetEvent =
  | {
      kind: 'rollout-started';
      service: string;
      revision: string;
      digest: `sha256:${string}`;
      reason: 'rollout' | 'rollback' | 'revert';
      /** Who asked, for a rollout or rollback someone asked for (the journal's actor). */
      actor?: string;
    }
  | { kind: 'rollout-complete'; service: string; revision: string; digest: `sha256:${string}` }
  | {
      kind: 'rollout-failed';
      service: string;
      revision: string;
      digest: `sha256:${string}`;
      reason: Extract<RolloutVerdict, { kind: 'failed' }>['reason'];
    }
  | { kind: 'scaled'; service: string; from: number; to: number; actor?: string }
  /**
   * The autoscaler's decision with its inputs (autoscale-step.ts): each one that changed the size,
   * and each that started to hold it (stabilized, limited, metrics unreadable, disabled at 0).
   */
  | { kind: 'autoscaled'; service: string; decision: ScaleDecision }
  /** `herd pause` and `herd resume`: `revision` and `status` are the rollout's at that moment. */
  | { kind: 'paused' | 'resumed'; service: string; revision: string; status: FleetStatusKind; actor?: string }
  | { kind: 'instance-created'; service: string; id: string; revision: string }
  | { kind: 'instance-removed'; service: string; id: string; revision: string; reason: RemoveReason }
  | { kind: 'create-failed'; service: string; revision: string; message: string }
  | { kind: 'degraded'; service: string; crashes: number }
  /** The engine's copy of the image was changed: its instances were removed and it was fetched anew. */
  | {
      kind: 'image-reloaded';
      service: string;
      digest: `sha256:${string}`;
      removed: string[];
      reason: string;
    };
