/**
 * The optional alert: one JSON POST per incident to the URL the spec names. An alert that cannot be
 * delivered is logged, never retried forever and never in the way of the replacement.
 */
import type { Incident } from './incident-store.js';

export interface AlertLog {
  warn(details: object, message: string): void;
}

export async function postAlert(
  url: string,
  incident: Incident,
  options: { timeoutMs?: number; log: AlertLog; fetch?: typeof fetch },
): Promise<boolean> {
  const send = options.fetch ?? fetch;
  try {
    const response = await send(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'herd-watch' },
      body: JSON.stringify({ kind: 'herd.incident', incident }),
      signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
    });
    if (!response.ok) {
      options.log.warn(
        { url, status: response.status, incident: incident.id },
        'alert webhook refused the incident',
      );
    }
    await response.body?.cancel();
    return response.ok;
  } catch (error) {
    options.log.warn({ url, err: String(error), incident: incident.id }, 'alert webhook unreachable');
    return false;
  }
}
