/**
 * Which run template an instance was made from. Each instance carries its template's digest as a
 * label (`instanceLabels.template`); every template a fleet ever ran with is in herd.db (the fleet
 * row and its history), so the digest finds it even after the fleet's template changed. The watch
 * judges an instance by this, never by the fleet's current template: rolling out a changed
 * template must not make the instances still running look drifted.
 */
import { type Instance, instanceLabels } from '../engines/index.js';
import { type RunTemplate, runTemplateDigest } from '../specfile/index.js';
import type { FleetStore } from './fleet-store.js';

export type InstanceTemplate =
  | { kind: 'known'; run: RunTemplate }
  /** herd runs no fleet of the instance's service: not herd's to judge. */
  | { kind: 'no-fleet' }
  /** A fleet's instance whose template herd never stored: herd did not make it as labelled. */
  | { kind: 'unknown'; reason: string };

export class InstanceTemplates {
  /** Digest → template; templates are immutable, so an entry never goes stale. */
  private readonly known = new Map<string, RunTemplate>();

  constructor(private readonly store: FleetStore) {}

  of(instance: Pick<Instance, 'service' | 'revision' | 'labels'>): InstanceTemplate {
    const fleet = this.store.get(instance.service);
    if (!fleet) return { kind: 'no-fleet' };
    const digest = instance.labels[instanceLabels.template];
    if (digest === undefined) return this.ofRevision(instance);
    const cached = this.known.get(digest);
    if (cached) return { kind: 'known', run: cached };
    // A miss reads the fleet's templates once, newest first; each one found is kept.
    for (const run of [fleet.template.run, ...this.history(instance.service)]) {
      this.known.set(runTemplateDigest(run), run);
    }
    const found = this.known.get(digest);
    if (found) return { kind: 'known', run: found };
    return {
      kind: 'unknown',
      reason: `instance is labelled with run template ${digest}, which ${instance.service} never ran with`,
    };
  }

  /** An instance made before the label: the template its revision was last rolled out with. */
  private ofRevision(instance: Pick<Instance, 'service' | 'revision'>): InstanceTemplate {
    const entry = this.store
      .history(instance.service)
      .filter((one) => one.revision === instance.revision && one.outcome === 'started')
      .at(-1);
    if (entry) return { kind: 'known', run: entry.template.run };
    return {
      kind: 'unknown',
      reason: `instance has no run template label and ${instance.service} never rolled out revision ${instance.revision}`,
    };
  }

  private history(service: string): RunTemplate[] {
    return this.store
      .history(service)
      .map((entry) => entry.template.run)
      .reverse();
  }
}
