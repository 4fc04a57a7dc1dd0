/**
 * What the `gate:` section holds once validated, and what a spec without one gets. Apart from
 * gate-section.ts's schema, so that a gate, which needs the defaults and not the schema, does not
 * build the schema's zod objects on every run.
 */

export type GateProfile = 'baseline' | 'strict';

/** A waiver excuses findings of one rule, or one vulnerability, until the end of its expiry day (UTC). */
export type GateWaiver =
  | ({ kind: 'rule'; rule: string; path?: string } & WaiverTerms)
  | ({ kind: 'cve'; cve: string } & WaiverTerms);

export interface WaiverTerms {
  reason: string;
  owner: string;
  /** `YYYY-MM-DD`. */
  expires: string;
}

export interface GateSectionShape {
  profile: GateProfile;
  waivers: GateWaiver[];
  /** Absolute paths of files allowed to keep their setuid or setgid bit. */
  allowSetuid: string[];
  budget?: { packages?: number; sizeMB?: number };
  vulndb: { maxAgeDays: number };
}

export const defaultGateProfile: GateProfile = 'baseline';

/** A week: the Debian security tracker changes daily, and a rebuild a week keeps fixes flowing. */
export const defaultVulndbMaxAgeDays = 7;

/** What a spec without a `gate:` section gets. */
export const defaultGateSection: GateSectionShape = {
  profile: defaultGateProfile,
  waivers: [],
  allowSetuid: [],
  vulndb: { maxAgeDays: defaultVulndbMaxAgeDays },
};
