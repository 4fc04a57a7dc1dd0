/**
 * The optional alert: one JSON POST per incident to the fleet's `watch.webhook`, else to herd's
 * HERD_WATCH_WEBHOOK. An alert that cannot be delivered is logged, never retried forever and never
 * in the way of the replacement. The body is the incident's ids, times, kind and summary (paths and
 * reasons), named field by field, so nothing else an incident may come to hold (file contents,
 * environment values) leaves herd by accident: the evidence stays in the store.
 */
import type { Logger } from '../common/index.js';
import type { Incident } from './incident-store.js';

/** What the receiver gets; `kind` lets one endpoint tell herd's alerts from others. */
export interface AlertBody {
  kind: 'herd.incident';
  incident: {
    id: number;
    service: string;
    instance: string;
    digest: string;
    kind: Incident['kind'];
    detectedAt: string;
    evidenceDigest?: string;
    journalId?: number;
    summary: string;
  };
}

/** Fleets as the alert needs them (FleetController has it): the template's `watch:`. */
export interface WatchedFleets {
  templateOf(service: string): { watch?: { webhook?: string } } | undefined;
}

/** The fleet's own webhook first; herd's environment is the control-plane-wide fallback. */
export function webhookOf(fleets: WatchedFleets, fallback: string | undefined) {
  return (service: string): string | undefined => fleets.templateOf(service)?.watch?.webhook ?? fallback;
}

export function alertBodyOf(incident: Incident): AlertBody {
  return {
    kind: 'herd.incident',
    incident: {
      id: incident.id,
      service: incident.service,
      instance: incident.instance,
      digest: incident.digest,
      kind: incident.kind,
      detectedAt: incident.detectedAt,
      ...(incident.evidenceDigest !== undefined ? { evidenceDigest: incident.evidenceDigest } : {}),
      ...(incident.journalId !== undefined ? { journalId: incident.journalId } : {}),
      summary: incident.summary,
    },
  };
}

export async function postAlert(
  url: string,
  incident: Incident,
  options: { timeoutMs?: number; log: Pick<Logger, 'warn'>; fetch?: typeof fetch },
): Promise<boolean> {
  const send = options.fetch ?? fetch;
  // Only the origin is logged: webhook paths often carry the receiver's token (Slack, Teams).
  const target = webhookOrigin(url);
  try {
    const response = await send(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'herd-watch' },
      body: JSON.stringify(alertBodyOf(incident)),
      signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
    });
    if (!response.ok) {
      options.log.warn(
        { url: target, status: response.status, incident: incident.id },
        'alert webhook refused the incident',
      );
    }
    await response.body?.cancel();
    return response.ok;
  } catch (error) {
    options.log.warn({ url: target, err: String(error), incident: incident.id }, 'alert webhook unreachable');
    return false;
  }
}

/**
 * What a log may say of a webhook: its origin, never the path or query that often carry the
 * receiver's token. Never throws, since an unchecked URL (HERD_WATCH_WEBHOOK) reaches here too.
 */
export function webhookOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'an invalid URL';
  }
}
