/**
 * The container create body for an InstanceSpec: pure, so the hardening can be tested without an
 * engine. Nothing in the spec can turn the hardening off (docs/architecture.md, "Hardened by default"): the
 * spec only chooses the user, the environment, the writable tmpfs paths, the port and the limits,
 * and may opt in to a writable root (`run.writableRoot`), which loosens that one setting only.
 * API: https://docs.docker.com/engine/api/v1.41/#tag/Container/operation/ContainerCreate
 */
import type { ContainerCreateOptions } from 'dockerode';
import { defaultShmBytes, type InstanceSpec, labelsFor } from '../engine.js';
import { refuseUnsafeSpec } from '../instance-spec-check.js';

export const tmpfsOptions = 'rw,noexec,nosuid,nodev,size=64m';
/**
 * A declared writable path: podman copies the image's content at the path into the tmpfs
 * (tmpcopyup, its default), and runc gives the tmpfs the mount point's mode, ignoring `mode=`, and
 * root as owner. `U` makes podman chown the tmpfs itself to the instance's user (not what it
 * copied in, which the build ships owned by the run user), so nginx can make /var/lib/nginx/body.
 * The build ships the mount point with the run user's mode (0700, or 1777 for /tmp and /var/tmp).
 */
export const writableTmpfsOptions = `${tmpfsOptions},U`;
/**
 * Podman (compat API) mounts a writable, exec-allowed tmpfs at these paths whenever the root is
 * read-only, and the API has no switch for it. Unless the spec declares one writable, herd mounts
 * a small read-only tmpfs there instead, so only declared paths are writable, on every engine. It
 * does so on a writable root too, so these paths behave alike whichever root a fleet has.
 */
export const implicitTmpfsPaths = ['/run', '/tmp', '/var/tmp'] as const;
const readOnlyTmpfsOptions = 'ro,noexec,nosuid,nodev,size=1m';

export function hardenedCreateOptions(spec: InstanceSpec): ContainerCreateOptions {
  refuseUnsafeSpec(spec);
  const tmpfs: Record<string, string> = {};
  for (const path of implicitTmpfsPaths) tmpfs[path] = readOnlyTmpfsOptions;
  for (const path of spec.writable) tmpfs[path] = writableTmpfsOptions;
  const portKey = spec.port === undefined ? undefined : `${spec.port}/tcp`;
  return {
    Image: spec.imageRef,
    User: `${spec.user.uid}:${spec.user.gid}`,
    Env: Object.entries(spec.env).map(([name, value]) => `${name}=${value}`),
    Labels: labelsFor(spec),
    ...(portKey ? { ExposedPorts: { [portKey]: {} } } : {}),
    StopTimeout: spec.stopGraceSeconds,
    HostConfig: {
      // The one setting a spec may loosen, and only by saying `run.writableRoot: true` (CIS Docker 5.12).
      ReadonlyRootfs: spec.writableRoot !== true,
      CapDrop: ['ALL'],
      CapAdd: [],
      Privileged: false,
      SecurityOpt: ['no-new-privileges'],
      // An init as PID 1 forwards SIGTERM and reaps children: stops take 0.37 s instead of 1 s.
      Init: true,
      Tmpfs: tmpfs,
      // Podman mounts /dev/shm noexec,nosuid,nodev already, but 64 MiB and world-writable: room to
      // stage a payload for `sh /dev/shm/x`, which noexec does not stop. Small unless asked for, and
      // the integrity monitor reads it every pass like a writable path (src/watch/README.md).
      ShmSize: spec.resources.shmBytes ?? defaultShmBytes,
      Memory: spec.resources.memoryBytes,
      // Equal to Memory: no swap on top of the limit.
      MemorySwap: spec.resources.memoryBytes,
      NanoCpus: spec.resources.nanoCpus,
      PidsLimit: spec.resources.pids,
      Ulimits: [
        { Name: 'nofile', Soft: 20000, Hard: 20000 },
        { Name: 'nproc', Soft: 1024, Hard: 1024 },
      ],
      // Instances are replaced, never restarted in place.
      RestartPolicy: { Name: 'no' },
      ...(portKey ? { PortBindings: { [portKey]: [{ HostIp: '127.0.0.1', HostPort: '' }] } } : {}),
    },
  };
}
