/**
 * The contract every hardening rule keeps (one module per rule, registered in registry.ts). A rule
 * is pure: it reads the image view, the spec when the gate has it, and the spec's `gate:` policy,
 * and returns what it found. It never decides pass or fail: the verdict does, by profile.
 */
import type { GateSection, Spec } from '../../specfile/index.js';
import type { FindingLocation, Level, Profile } from '../findings.js';
import type { ImageView } from '../image-view.js';
import type { RuleReference } from './references.js';

export interface RuleContext {
  view: ImageView;
  /** The spec the image was built from; absent when a bare digest is gated. */
  spec?: Pick<Spec, 'run' | 'env' | 'health' | 'ports'>;
  gate: GateSection;
}

/** One thing a rule found. `level` overrides the rule's severity for this finding only. */
export interface RuleResult {
  message: string;
  location?: FindingLocation;
  level?: Level;
}

export interface HardeningRule {
  /** `HERD-H001`: stable, used by waivers and SARIF. */
  id: string;
  /** kebab-case, the module's file name and SARIF's `name`. */
  name: string;
  title: string;
  /** What a finding of this rule usually is; a finding may say otherwise. */
  severity: Level;
  /** Why the rule exists, in a sentence or three. */
  rationale: string;
  /** CIS Docker Benchmark sections and Dockle checkpoints that ask for the same thing. */
  references: readonly RuleReference[];
  /** The profiles that evaluate this rule; strict-only rules are left out of `baseline`. */
  profiles: readonly Profile[];
  check(context: RuleContext): RuleResult[];
}

export const everyProfile: readonly Profile[] = ['baseline', 'strict'];
export const strictOnly: readonly Profile[] = ['strict'];
