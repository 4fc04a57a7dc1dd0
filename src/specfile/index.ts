/** What other folders use of src/specfile/ (docs/architecture.md, "Public entries"). */
export type { AcceptCheck } from './accept-section.js';
export type { AutoscaleMetric, AutoscaleSection } from './autoscale-section.js';
export { SpecError } from './errors.js';
export type { FleetSection, InstanceCount, StrategyType } from './fleet-section.js';
export { defaultBakeSeconds, strategyTypes } from './fleet-section.js';
export { defaultGateSection } from './gate-defaults.js';
export type { GateSection, GateWaiver } from './gate-section.js';
export { writeSpecScaffold } from './init.js';
export { loadSpec, parseSpecText } from './load.js';
export {
  defaultPolicySection,
  type MaintenanceWindow,
  type PolicySection,
  type Urgency,
  urgencies,
  type Weekday,
} from './policy-section.js';
export {
  judgedDifferences,
  parseRunTemplate,
  type RunTemplate,
  runTemplateDigest,
  runTemplateFor,
  runTemplateMediaType,
  runTemplateVersion,
} from './run-template.js';
export { serviceNamePattern } from './schema.js';
export { type StripGroup, stripPatterns } from './strip-groups.js';
export type { BaseImageRef, HealthCheck, LoadedSpec, RunSpec, Spec } from './types.js';
export { defaultUpdatesIntervalSeconds, defaultWatchSection, type WatchSection } from './watch-section.js';
