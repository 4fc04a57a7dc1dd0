/**
 * What herd does once a monitor found something, in this order: quarantine (the instance leaves the
 * front door at once, and the fleet controller starts a pristine replacement within its rollout
 * bounds), evidence into the store, its digest into the journal, the incident into herd.db, then
 * the alert. Quarantine destroys nothing: the instance is removed only once its replacement is
 * ready, and the evidence is what the monitor already read from it.
 */
import type { Logger } from '../common/index.js';
import type { Instance, InstanceProcess } from '../engines/index.js';
import type { Journal } from '../journal/index.js';
import type { LayoutStore } from '../oci/index.js';
import { postAlert } from './alert-webhook.js';
import { type DetectionSource, evidenceDocument, storeEvidence } from './evidence.js';
import type { DriftFinding } from './findings.js';
import type { Incident, IncidentKind, IncidentStore } from './incident-store.js';
import type { ProcessFinding } from './judge-processes.js';

/** What quarantine did (fleet/quarantine.ts); `kept-serving` when no other instance was ready. */
export type QuarantineOutcome = { kind: 'out-of-door' } | { kind: 'kept-serving'; reason: string };

/** The fleet controller as the response needs it (FleetController has both). */
export interface ReplacingFleets {
  /**
   * Out of the front door now, for good (unless no other instance is ready: then until its
   * replacement is), a pristine replacement within the bounds, removal once it is ready. `hold`
   * keeps the instance for whoever holds it (a debug session), who removes it.
   */
  quarantine(
    service: string,
    id: string,
    options: { reason: string; hold?: boolean },
  ): Promise<QuarantineOutcome>;
  markUntrusted(service: string, id: string): void;
}

export type Detection =
  | { kind: 'drift'; instance: Instance; source: DetectionSource; findings: DriftFinding[] }
  | { kind: 'exec'; instance: Instance; command?: string }
  /** Processes off the allowlist; `processes` is the whole sample, command lines and all (evidence only). */
  | { kind: 'process'; instance: Instance; findings: ProcessFinding[]; processes: InstanceProcess[] }
  | { kind: 'untrusted'; instance: Instance; code: string; reason: string };

export interface IncidentResponseOptions {
  store: LayoutStore;
  journal: Journal;
  incidents: IncidentStore;
  fleets: ReplacingFleets;
  actor: string;
  /** Epoch ms. */
  now: () => number;
  webhookFor?: (service: string) => string | undefined;
  log: Pick<Logger, 'warn'>;
}

export class IncidentResponse {
  /** Instance/kind pairs being recorded now: a deep check and a fast pass finding the same drift record it once. */
  private readonly recording = new Set<string>();
  /** When a detector first asked to quarantine an instance, by `id/reason`: the incident's detection time. */
  private readonly quarantinedAt = new Map<string, number>();

  constructor(private readonly options: IncidentResponseOptions) {}

  /**
   * Returns the incident opened, or undefined when this instance already had one of this kind.
   * Every detector's way in: the instance is quarantined before anything else is written.
   */
  async respond(detection: Detection): Promise<Incident | undefined> {
    const { instance } = detection;
    const detectedAt = this.quarantinedAt.get(`${instance.id}/${detection.kind}`) ?? this.options.now();
    // The controller's marks live in memory: after a restart they are set again, without a second incident.
    let quarantined: QuarantineOutcome | undefined;
    if (detection.kind === 'untrusted') this.options.fleets.markUntrusted(instance.service, instance.id);
    else quarantined = await this.quarantine(instance, detection.kind);
    const key = `${instance.id}/${detection.kind}`;
    if (this.options.incidents.has(instance.id, detection.kind) || this.recording.has(key)) return undefined;
    this.recording.add(key);
    let incident: Incident | undefined;
    try {
      incident = await this.record(detection, { detectedAt, quarantined });
    } finally {
      this.recording.delete(key);
    }
    const url = this.options.webhookFor?.(instance.service);
    if (incident && url) void postAlert(url, incident, { log: this.options.log });
    return incident;
  }

  /**
   * Takes the instance out of the front door now (the fleet controller's `quarantine`), for a
   * detector that has more to read before it can call `respond` (respond quarantines again, which
   * changes nothing). `reason` is the detection's kind: the first call's time is that incident's
   * detection time. Undefined when the controller could not be asked; the incident is kept anyway.
   */
  async quarantine(instance: Instance, reason: string): Promise<QuarantineOutcome | undefined> {
    const key = `${instance.id}/${reason}`;
    if (!this.quarantinedAt.has(key)) this.quarantinedAt.set(key, this.options.now());
    try {
      return await this.options.fleets.quarantine(instance.service, instance.id, { reason });
    } catch (error) {
      this.options.log.warn(
        { service: instance.service, id: instance.id, err: String(error) },
        'could not quarantine the instance; the incident is recorded all the same',
      );
      return undefined;
    }
  }

  /**
   * The instances of `listed` whose incident is still open, taken out of service again (or marked
   * untrusted); returns their ids. The controller's marks live in memory and an exec's event is not
   * replayed once handled, so after a restart nothing else would condemn such an instance again:
   * one whose replacement was not ready when herd died would serve for good. No second incident.
   */
  async reinstate(listed: readonly Instance[]): Promise<string[]> {
    const open = this.options.incidents.stillOpen();
    const done: string[] = [];
    for (const instance of listed) {
      const kinds = open.filter((one) => one.instance === instance.id).map((one) => one.kind);
      if (kinds.length === 0) continue;
      done.push(instance.id);
      if (kinds.includes('untrusted')) this.options.fleets.markUntrusted(instance.service, instance.id);
      const [condemning] = kinds.filter((kind) => kind !== 'untrusted');
      if (condemning) await this.quarantine(instance, condemning);
    }
    return done;
  }

  /** Instances no longer on the engine: their open incidents end now. */
  gone(listed: ReadonlySet<string>): void {
    const at = new Date(this.options.now()).toISOString();
    for (const key of this.quarantinedAt.keys())
      if (!listed.has(key.slice(0, key.indexOf('/')))) this.quarantinedAt.delete(key);
    for (const instance of this.options.incidents.openInstances()) {
      if (!listed.has(instance)) this.options.incidents.replaced(instance, at);
    }
  }

  private async record(
    detection: Detection,
    context: { detectedAt: number; quarantined: QuarantineOutcome | undefined },
  ): Promise<Incident | undefined> {
    const { instance } = detection;
    const { detectedAt, quarantined } = context;
    let evidenceDigest: string | undefined;
    if (detection.kind !== 'untrusted') {
      const evidence = evidenceDocument({
        service: instance.service,
        instance: instance.id,
        revision: instance.revision,
        image: instance.digest,
        detectedAt,
        source: sourceOf(detection),
        findings: detection.kind === 'drift' ? detection.findings : [],
        ...(detection.kind === 'exec'
          ? { exec: detection.command !== undefined ? { command: detection.command } : {} }
          : {}),
        ...(detection.kind === 'process'
          ? { processes: { findings: detection.findings, tree: detection.processes } }
          : {}),
      });
      evidenceDigest = (await storeEvidence(this.options.store, evidence)).digest;
    }
    const summary = `${summaryOf(detection)}${quarantined?.kind === 'kept-serving' ? `; kept serving until its replacement is ready: ${quarantined.reason}` : ''}`;
    const entry = this.options.journal.append({
      actor: this.options.actor,
      action: detection.kind === 'drift' ? 'drift' : 'incident',
      service: instance.service,
      digest: instance.digest,
      details: {
        incident: detection.kind,
        instance: instance.id,
        revision: instance.revision,
        summary,
        ...(evidenceDigest ? { evidence: evidenceDigest } : {}),
        ...(detection.kind === 'drift'
          ? { source: detection.source, paths: detection.findings.slice(0, 20).map((f) => f.path) }
          : {}),
        ...(detection.kind === 'untrusted' ? { code: detection.code } : {}),
        // Executables and pids only: the command lines stay in the evidence.
        ...(detection.kind === 'process'
          ? {
              processes: detection.findings
                .slice(0, 20)
                .map((f) => ({ pid: f.pid, executable: f.executable, reason: f.reason })),
            }
          : {}),
        ...(quarantined ? { quarantine: quarantined.kind } : {}),
      },
    });
    return this.options.incidents.open({
      service: instance.service,
      instance: instance.id,
      digest: instance.digest,
      kind: detection.kind as IncidentKind,
      detectedAt: new Date(detectedAt).toISOString(),
      ...(evidenceDigest ? { evidenceDigest } : {}),
      journalId: entry.id,
      summary,
      ...(quarantined ? { quarantine: quarantined.kind } : {}),
    });
  }
}

function summaryOf(detection: Detection): string {
  switch (detection.kind) {
    case 'drift': {
      const [first] = detection.findings;
      const more = detection.findings.length > 1 ? ` and ${detection.findings.length - 1} more` : '';
      return `${detection.source} path: ${first ? `${first.path} (${first.reason})` : 'drift'}${more}`;
    }
    case 'process': {
      const [first] = detection.findings;
      const more = detection.findings.length > 1 ? ` and ${detection.findings.length - 1} more` : '';
      return `process ${first ? `${first.executable} (pid ${first.pid}, ${first.reason})` : 'off the allowlist'}${more}`;
    }
    case 'exec':
      // The command stays in the evidence only: command lines carry passwords and tokens, and the
      // journal (append-only), the incident row and the webhook must never hold one.
      return 'exec session opened';
    case 'untrusted':
      return `file manifest not trusted: ${detection.reason}`;
    default:
      return assertNever(detection);
  }
}

function sourceOf(detection: Exclude<Detection, { kind: 'untrusted' }>): DetectionSource {
  switch (detection.kind) {
    case 'drift':
      return detection.source;
    case 'exec':
    case 'process':
      return detection.kind;
    default:
      return assertNever(detection);
  }
}

function assertNever(value: never): never {
  throw new Error(`unhandled detection ${JSON.stringify(value)}`);
}
