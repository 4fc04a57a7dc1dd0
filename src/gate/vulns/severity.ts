/**
 * Severity from the tracker's urgency. The levels and the trailing `*` ("inferred, not assessed")
 * are the tracker's (the security team's "security_tracker" page, section "severity levels").
 */
import type { VulnSeverity } from './types.js';

export interface UrgencySeverity {
  severity: VulnSeverity;
  /** The urgency carried a trailing `*`: the tracker inferred it rather than assessed it. */
  inferred: boolean;
  /** `end-of-life`: no severity was assessed because security support has ended. */
  endOfLife: boolean;
}

const severityByUrgency: Record<string, VulnSeverity> = {
  unimportant: 'negligible',
  low: 'low',
  medium: 'medium',
  high: 'high',
  'not yet assigned': 'unknown',
  'end-of-life': 'unknown',
};

export function severityFromUrgency(urgency: string): UrgencySeverity {
  const bare = bareUrgency(urgency);
  return {
    severity: severityByUrgency[bare] ?? 'unknown',
    inferred: bare !== urgency.trim().toLowerCase(),
    endOfLife: bare === 'end-of-life',
  };
}

/** `medium**` → `medium`. Some exports double the star; both mean inferred. */
export function bareUrgency(urgency: string): string {
  return urgency.trim().toLowerCase().replace(/\*+$/, '').trim();
}
