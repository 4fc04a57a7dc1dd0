/**
 * What herd does once a monitor found something, in this order: evidence into the store, its
 * digest into the journal, the incident into herd.db, then the replacement (a pristine instance
 * first, through the fleet controller's rollout bounds), then the alert. Evidence first, so that
 * destroying the instance never destroys what it showed.
 */
import type { Instance } from '../engines/engine.js';
import type { Journal } from '../journal/journal.js';
import type { LayoutStore } from '../oci/layout-store.js';
import { type AlertLog, postAlert } from './alert-webhook.js';
import { type DetectionSource, evidenceDocument, storeEvidence } from './evidence.js';
import type { DriftFinding } from './findings.js';
import type { Incident, IncidentKind, IncidentStore } from './incident-store.js';

/** The fleet controller as the response needs it (FleetController has both). */
export interface ReplacingFleets {
  replaceInstance(service: string, id: string, reason: string): void;
  markUntrusted(service: string, id: string): void;
}

export type Detection =
  | { kind: 'drift'; instance: Instance; source: DetectionSource; findings: DriftFinding[] }
  | { kind: 'exec'; instance: Instance; command?: string }
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
  log: AlertLog;
}

export class IncidentResponse {
  /** Instance/kind pairs being recorded now: a deep check and a fast pass finding the same drift record it once. */
  private readonly recording = new Set<string>();

  constructor(private readonly options: IncidentResponseOptions) {}

  /** Returns the incident opened, or undefined when this instance already had one of this kind. */
  async respond(detection: Detection): Promise<Incident | undefined> {
    const { instance } = detection;
    const already = this.options.incidents.has(instance.id, detection.kind);
    // The controller's marks live in memory: after a restart they are set again, without a second incident.
    const mark = () =>
      detection.kind === 'untrusted'
        ? this.options.fleets.markUntrusted(instance.service, instance.id)
        : this.options.fleets.replaceInstance(instance.service, instance.id, detection.kind);
    const key = `${instance.id}/${detection.kind}`;
    if (already || this.recording.has(key)) {
      mark();
      return undefined;
    }
    this.recording.add(key);
    let incident: Incident | undefined;
    try {
      incident = await this.record(detection);
    } finally {
      this.recording.delete(key);
    }
    mark();
    const url = this.options.webhookFor?.(instance.service);
    if (incident && url) void postAlert(url, incident, { log: this.options.log });
    return incident;
  }

  /** Instances no longer on the engine: their open incidents end now. */
  gone(listed: ReadonlySet<string>): void {
    const at = new Date(this.options.now()).toISOString();
    for (const instance of this.options.incidents.openInstances()) {
      if (!listed.has(instance)) this.options.incidents.replaced(instance, at);
    }
  }

  private async record(detection: Detection): Promise<Incident | undefined> {
    const { instance } = detection;
    const detectedAt = this.options.now();
    let evidenceDigest: string | undefined;
    if (detection.kind !== 'untrusted') {
      const evidence = evidenceDocument({
        service: instance.service,
        instance: instance.id,
        release: instance.release,
        image: instance.digest,
        detectedAt,
        source: detection.kind === 'drift' ? detection.source : 'exec',
        findings: detection.kind === 'drift' ? detection.findings : [],
        ...(detection.kind === 'exec'
          ? { exec: detection.command !== undefined ? { command: detection.command } : {} }
          : {}),
      });
      evidenceDigest = (await storeEvidence(this.options.store, evidence)).digest;
    }
    const summary = summaryOf(detection);
    const entry = this.options.journal.append({
      actor: this.options.actor,
      action: detection.kind === 'drift' ? 'drift' : 'incident',
      service: instance.service,
      digest: instance.digest,
      details: {
        incident: detection.kind,
        instance: instance.id,
        release: instance.release,
        summary,
        ...(evidenceDigest ? { evidence: evidenceDigest } : {}),
        ...(detection.kind === 'drift'
          ? { source: detection.source, paths: detection.findings.slice(0, 20).map((f) => f.path) }
          : {}),
        ...(detection.kind === 'untrusted' ? { code: detection.code } : {}),
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

function assertNever(value: never): never {
  throw new Error(`unhandled detection ${JSON.stringify(value)}`);
}
