/**
 * Which swarm the control plane drives, from herd's environment: `HERD_SWARM_MANAGER`, a manager's
 * API socket, and `HERD_SWARM_NODES`, each node's socket by its swarm address
 * (`10.0.0.11=/run/n1/docker.sock,10.0.0.12=/run/n2/docker.sock`). Unset: no swarm, podman as
 * before. Pure; a malformed value is an error naming the variable and the entry.
 */
import { isAbsolute } from 'node:path';
import { EngineError } from '../engine.js';
import type { SwarmEngineOptions } from './swarm-engine.js';

export function swarmSettingsFrom(
  env: Readonly<Record<string, string | undefined>>,
): Pick<SwarmEngineOptions, 'managerSocket' | 'nodeSockets'> | undefined {
  const manager = env.HERD_SWARM_MANAGER?.trim();
  if (!manager) {
    if (env.HERD_SWARM_NODES?.trim()) {
      throw new EngineError(
        'OTHER',
        'HERD_SWARM_NODES is set without HERD_SWARM_MANAGER: expected both, or neither',
      );
    }
    return undefined;
  }
  const managerSocket = socketPath(manager, 'HERD_SWARM_MANAGER');
  const nodeSockets: Record<string, string> = {};
  for (const entry of (env.HERD_SWARM_NODES ?? '')
    .split(',')
    .map((one) => one.trim())
    .filter(Boolean)) {
    const match = /^([0-9A-Fa-f.:]+)=(.+)$/.exec(entry);
    if (!match?.[1] || !match[2]) {
      throw new EngineError(
        'OTHER',
        `HERD_SWARM_NODES entry ${JSON.stringify(entry.slice(0, 200))}: expected <node address>=<socket path>, such as 10.0.0.11=/run/n1/docker.sock`,
      );
    }
    nodeSockets[match[1]] = socketPath(match[2], 'HERD_SWARM_NODES');
  }
  return { managerSocket, nodeSockets };
}

function socketPath(value: string, variable: string): string {
  const path = value.startsWith('unix://') ? value.slice('unix://'.length) : value;
  if (!isAbsolute(path)) {
    throw new EngineError(
      'OTHER',
      `${variable} ${JSON.stringify(value.slice(0, 200))}: expected an absolute unix socket path, such as /run/docker.sock or unix:///run/docker.sock`,
    );
  }
  return path;
}
