/**
 * Quarantine: which instances the front door sends to once monitors have condemned some (drift, an
 * exec session, a process off the allowlist, a debug session). A condemned instance leaves the
 * front door at once, before its replacement is ready, and never comes back. Only when the fleet
 * has no other ready instance does it keep serving, until one is: an alarm about one instance must
 * not take the whole service down. Pure: the controller applies it (controller.ts `quarantine`).
 */
import { isReady, type ObservedInstance } from './plan-rollout.js';

export interface FrontDoorChoice {
  /** The instances the front door sends new requests to. */
  serving: ObservedInstance[];
  /** Condemned instances that leave the front door now, for good. */
  leaving: string[];
  /** Condemned instances that keep serving because no other instance is ready. */
  keptServing: string[];
}

/** What quarantine did to one instance, for the incident. */
export type QuarantineOutcome =
  /** Out of the front door now (or never in it): its in-flight requests finish, no new ones come. */
  | { kind: 'out-of-door' }
  /** No other instance was ready: it serves until its replacement is ready, then leaves. */
  | { kind: 'kept-serving'; reason: string };

export function chooseFrontDoor(instances: readonly ObservedInstance[]): FrontDoorChoice {
  // isReady is false for a quarantined instance: one that left never counts again.
  const ready = instances.filter(isReady);
  const clean = ready.filter((one) => !one.condemned);
  const serving = clean.length > 0 ? clean : ready;
  const servingIds = new Set(serving.map((one) => one.id));
  return {
    serving,
    leaving: instances
      .filter((one) => one.condemned && !one.quarantined && !servingIds.has(one.id))
      .map((one) => one.id),
    keptServing: serving.filter((one) => one.condemned).map((one) => one.id),
  };
}

/** The outcome for `id` under `choice`. */
export function quarantineOutcomeOf(choice: FrontDoorChoice, id: string): QuarantineOutcome {
  return choice.keptServing.includes(id)
    ? { kind: 'kept-serving', reason: 'no other instance of the fleet is ready' }
    : { kind: 'out-of-door' };
}
