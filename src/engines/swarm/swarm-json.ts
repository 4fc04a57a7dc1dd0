/**
 * The swarm's answers read into herd's words: one service of one task is one instance, the task
 * says its state, the node it runs on and the host port it published. Pure, so the mapping is
 * tested on recorded answers.
 */

import { type EngineEventRecord, engineEventFrom } from '../docker/engine-json.js';
import {
  type EngineEvent,
  type Instance,
  type InstanceState,
  instanceLabels,
  revisionFromLabels,
} from '../engine.js';

type Labels = Record<string, string>;

export interface SwarmService {
  ID: string;
  CreatedAt: string;
  Spec: { Name: string; Labels?: Labels | null };
}

export interface SwarmTask {
  ID: string;
  ServiceID: string;
  NodeID?: string;
  CreatedAt: string;
  DesiredState: string;
  Status: {
    Timestamp?: string;
    State: string;
    Err?: string;
    ContainerStatus?: { ContainerID?: string; ExitCode?: number };
    PortStatus?: { Ports?: { TargetPort?: number; PublishedPort?: number; PublishMode?: string }[] };
  };
}

export interface SwarmNode {
  ID: string;
  Description?: { Hostname?: string };
  Status: { State: string; Addr?: string };
}

/** The task herd's instance is now: the newest one of its service. */
export function currentTask(tasks: readonly SwarmTask[]): SwarmTask | undefined {
  let newest: SwarmTask | undefined;
  for (const task of tasks)
    if (!newest || Date.parse(task.CreatedAt) > Date.parse(newest.CreatedAt)) newest = task;
  return newest;
}

const startingStates = new Set([
  'new',
  'allocated',
  'pending',
  'assigned',
  'accepted',
  'preparing',
  'ready',
  'starting',
]);
const endedStates = new Set(['complete', 'shutdown', 'failed', 'rejected', 'remove', 'orphaned']);

/**
 * Lost: its task was placed on a node the manager marked down, and Swarm has shut the task down
 * (desired state) without hearing how it ended; with restart condition `none` it makes no other.
 * Only `down` and only once Swarm gave the task up: a node `unknown` for a moment (a manager
 * restarting) still runs its instances, and herd must not remove them for it.
 */
export function isLost(task: SwarmTask | undefined, nodes: ReadonlyMap<string, SwarmNode>): boolean {
  if (!task?.NodeID || endedStates.has(task.Status.State) || task.DesiredState === 'running') return false;
  return nodes.get(task.NodeID)?.Status.State === 'down';
}

/**
 * The instance one service is: undefined when it is not herd's (no managed-by label, no digest).
 * A task that ended is `exited` with its exit code (Swarm's own failures before the process ran,
 * such as a rejected pull, have none: -1).
 */
export function instanceFromService(
  service: SwarmService,
  task: SwarmTask | undefined,
  nodes: ReadonlyMap<string, SwarmNode>,
): Instance | undefined {
  const labels = service.Spec.Labels ?? {};
  const digest = labels[instanceLabels.digest];
  if (labels[instanceLabels.managedBy] !== 'herd' || !digest?.startsWith('sha256:')) return undefined;
  const state = stateOf(task);
  const node = task?.NodeID ? nodes.get(task.NodeID) : undefined;
  const published = task?.Status.PortStatus?.Ports?.find(
    (port) => port.PublishMode === 'host' && (port.PublishedPort ?? 0) > 0,
  );
  const startedAt = state === 'running' && task?.Status.Timestamp ? Date.parse(task.Status.Timestamp) : NaN;
  return {
    id: service.ID,
    service: labels[instanceLabels.service] ?? '',
    revision: revisionFromLabels(labels) ?? '',
    digest: digest as `sha256:${string}`,
    state,
    ...(state === 'exited' ? { exitCode: task?.Status.ContainerStatus?.ExitCode ?? -1 } : {}),
    ...(state === 'running' && published && node?.Status.Addr
      ? { address: { host: node.Status.Addr, port: published.PublishedPort as number } }
      : {}),
    createdAt: Date.parse(service.CreatedAt),
    ...(Number.isFinite(startedAt) ? { startedAt } : {}),
    labels: { ...labels },
    ...(node?.Description?.Hostname ? { node: node.Description.Hostname } : {}),
  };
}

function stateOf(task: SwarmTask | undefined): InstanceState {
  if (!task) return 'created';
  const state = task.Status.State;
  if (state === 'running') return task.DesiredState === 'running' ? 'running' : 'removing';
  if (startingStates.has(state)) return 'created';
  if (endedStates.has(state)) return 'exited';
  return 'unknown';
}

/**
 * A node's container event as the instance's: the container carries herd's labels (the service's
 * task template has them) and Swarm's `com.docker.swarm.service.id`, the instance's id.
 */
export function swarmEventFrom(record: EngineEventRecord): EngineEvent | undefined {
  const event = engineEventFrom(record);
  const service = record.Actor?.Attributes?.['com.docker.swarm.service.id'];
  if (!event || !service) return undefined;
  return { ...event, id: service };
}
