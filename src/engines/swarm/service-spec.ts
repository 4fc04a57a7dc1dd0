/**
 * The Swarm service create body for an InstanceSpec: pure, so the hardening can be read and tested
 * without a swarm. One instance is one service of one task (replicated, 1 replica): herd creates
 * and removes instances one by one, and Swarm decides where each runs.
 *
 * What Swarm 20.10 (API 1.41) applies of herd's hardening, and what it cannot:
 * - read-only root, every capability dropped (`CapabilityDrop: ALL`), a non-root user, an init,
 *   the limits (memory, CPUs, pids, ulimits) and tmpfs at the spec's writable paths: applied. Docker
 *   mounts every tmpfs `noexec,nosuid,nodev`; its options take only a size and a mode, so a
 *   writable path is mode 1777 (sticky) instead of owned by the run user as on podman.
 * - no-new-privileges: Swarm 20.10's service API (1.41) has no such field, so its instances run
 *   without it. SwarmEngine.info() says so, and test/swarm/ checks it on a real
 *   container, so the day the engine applies it the docs must change.
 * - /dev/shm: a tmpfs of the spec's size mounted there replaces Docker's own 64 MiB one.
 * Networking: `dnsrr` (no virtual IP: this kernel has no IPVS, which the routing mesh needs) and
 * the port published in `host` mode on an ephemeral port of the node it runs on; the task's port
 * status says which.
 * API: https://docs.docker.com/engine/api/v1.41/#tag/Service/operation/ServiceCreate
 */
import { randomBytes } from 'node:crypto';
import { defaultShmBytes, type InstanceSpec, labelsFor } from '../engine.js';
import { refuseUnsafeSpec } from '../instance-spec-check.js';

/** Where Swarm may put an instance: its placement constraints, as `docker service create --constraint` takes them. */
export interface SwarmPlacement {
  /** e.g. `node.labels.zone==east`, `node.role==worker`, `node.hostname!=n2`. */
  constraints?: readonly string[];
}

/** Swarm's own mode for a writable tmpfs: anyone may write, only the owner may delete (as /tmp). */
export const writableTmpfsMode = 0o1777;

/** A constraint Swarm's parser takes: `<attribute> == | != <value>`, nothing that could smuggle more. */
const constraintPattern =
  /^node\.(id|hostname|role|platform\.os|platform\.arch|labels\.[A-Za-z0-9._-]+)\s*(==|!=)\s*[A-Za-z0-9._:/-]+$/;

/** Throws with the offending constraint when it is not one Swarm reads as a single node condition. */
export function checkConstraints(constraints: readonly string[]): void {
  for (const constraint of constraints) {
    if (!constraintPattern.test(constraint)) {
      throw new Error(
        `placement constraint ${JSON.stringify(constraint)}: expected node.<id|hostname|role|labels.NAME> == or != a value, such as node.labels.zone==east`,
      );
    }
  }
}

/** A service name for one instance: the service, the revision and a random part (Swarm needs names unique). */
export function serviceNameFor(
  spec: Pick<InstanceSpec, 'service' | 'revision'>,
  random = randomBytes(4),
): string {
  const base = `${spec.service}-${spec.revision}`.replace(/[^A-Za-z0-9-]/g, '-').slice(0, 50);
  return `${base}-${random.toString('hex')}`;
}

export function hardenedServiceSpec(
  spec: InstanceSpec,
  options: { name: string; placement?: SwarmPlacement },
): Record<string, unknown> {
  refuseUnsafeSpec(spec);
  const constraints = [...(options.placement?.constraints ?? [])];
  checkConstraints(constraints);
  const labels = labelsFor(spec);
  const mounts = [
    ...spec.writable.map((target) => ({
      Type: 'tmpfs',
      Target: target,
      TmpfsOptions: { SizeBytes: 64 * 1024 * 1024, Mode: writableTmpfsMode },
    })),
    {
      Type: 'tmpfs',
      Target: '/dev/shm',
      TmpfsOptions: { SizeBytes: spec.resources.shmBytes ?? defaultShmBytes, Mode: writableTmpfsMode },
    },
  ];
  return {
    Name: options.name,
    Labels: labels,
    TaskTemplate: {
      ContainerSpec: {
        Image: spec.imageRef,
        Labels: labels,
        Env: Object.entries(spec.env).map(([name, value]) => `${name}=${value}`),
        User: `${spec.user.uid}:${spec.user.gid}`,
        // The one setting a spec may loosen, and only by saying `run.writableRoot: true`.
        ReadOnly: spec.writableRoot !== true,
        CapabilityDrop: ['ALL'],
        CapabilityAdd: [],
        Init: true,
        Mounts: mounts,
        StopGracePeriod: spec.stopGraceSeconds * 1e9,
        Ulimits: [
          { Name: 'nofile', Soft: 20000, Hard: 20000 },
          { Name: 'nproc', Soft: 1024, Hard: 1024 },
        ],
      },
      Resources: {
        Limits: {
          NanoCPUs: spec.resources.nanoCpus,
          MemoryBytes: spec.resources.memoryBytes,
          Pids: spec.resources.pids,
        },
      },
      // Instances are replaced by herd, never restarted in place: a crash is an exit herd's
      // controller sees (and counts against a rollout), and a lost node's task is not moved by
      // Swarm behind herd's back; herd creates its replacement, and Swarm places it.
      RestartPolicy: { Condition: 'none' },
      Placement: { Constraints: constraints },
    },
    Mode: { Replicated: { Replicas: 1 } },
    EndpointSpec: {
      Mode: 'dnsrr',
      Ports: spec.port === undefined ? [] : [{ Protocol: 'tcp', TargetPort: spec.port, PublishMode: 'host' }],
    },
  };
}
