/** What other folders use of src/engines/ (docs/architecture.md, "Public entries"). */
export { DockerEngine } from './docker/docker-engine.js';
export { type EngineService, ensureEngine } from './docker/podman-service.js';
export {
  type DebugExec,
  type Engine,
  EngineError,
  type FilesystemChange,
  type Instance,
  type InstanceProcess,
  type InstanceSpec,
  type InstanceState,
  type InstanceStats,
  instanceLabels,
  type LogLine,
  type PathEntry,
  type TerminalSize,
} from './engine.js';
export { EventFeed } from './event-feed.js';
export type { DriftProbeOptions } from './kubernetes/drift-probes.js';
export {
  type KubernetesFleetInput,
  type KubernetesObject,
  renderFleetObjects,
} from './kubernetes/fleet-objects.js';
export { KubernetesEngine, type KubernetesEngineOptions } from './kubernetes/kubernetes-engine.js';
export {
  checkKubeconfig,
  defaultKubernetesNamespace,
  type KubernetesSettings,
  kubernetesSettingsFrom,
} from './kubernetes/kubernetes-settings.js';
export { SwarmEngine, type SwarmEngineOptions } from './swarm/swarm-engine.js';
export { swarmSettingsFrom } from './swarm/swarm-settings.js';
