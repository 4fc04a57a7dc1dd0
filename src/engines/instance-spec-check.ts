/**
 * What every engine refuses before it makes an instance, whatever it runs on: root, an image not
 * named by its digest, a writable path the engine's mount syntax could read as options, limits a
 * kernel cannot apply. Pure; each engine then turns the spec into its own hardened request
 * (docker/hardened-config.ts, kubernetes/pod-template.ts).
 */
import { EngineError, type InstanceSpec } from './engine.js';

/** Throws EngineError CREATE naming the service and the field when `spec` is not safe to run. */
export function refuseUnsafeSpec(spec: InstanceSpec): void {
  const refuse = (what: string) => {
    throw new EngineError('CREATE', `refusing to create an instance of ${spec.service}: ${what}`);
  };
  if (!Number.isInteger(spec.user.uid) || spec.user.uid === 0) {
    refuse(`user uid ${spec.user.uid}: expected a non-root uid (65532 by default)`);
  }
  if (!Number.isInteger(spec.user.gid) || spec.user.gid < 0)
    refuse(`user gid ${spec.user.gid}: expected an integer`);
  if (!spec.imageRef.endsWith(`@${spec.digest}`)) {
    refuse(`image ${spec.imageRef} is not named by its digest ${spec.digest}`);
  }
  for (const path of spec.writable) {
    if (!/^\/[A-Za-z0-9._/-]+$/.test(path) || path.split('/').some((part) => part === '..' || part === '.')) {
      refuse(
        `writable path ${JSON.stringify(path)}: expected an absolute path without "..", commas or spaces`,
      );
    }
  }
  for (const name of Object.keys(spec.env)) {
    if (name === '' || name.includes('=') || name.includes('\0'))
      refuse(`environment name ${JSON.stringify(name)}`);
  }
  if (spec.port !== undefined && !(Number.isInteger(spec.port) && spec.port > 0 && spec.port < 65536)) {
    refuse(`port ${spec.port}: expected 1-65535`);
  }
  const { memoryBytes, nanoCpus, pids, shmBytes } = spec.resources;
  if (
    shmBytes !== undefined &&
    !(Number.isInteger(shmBytes) && shmBytes >= 64 * 1024 && shmBytes <= memoryBytes)
  ) {
    refuse(`shm size ${shmBytes} bytes: expected from 64 KiB up to the memory limit (${memoryBytes} bytes)`);
  }
  if (!(memoryBytes >= 6 * 1024 * 1024 && nanoCpus > 0 && pids > 0)) {
    refuse(
      `resources ${JSON.stringify(spec.resources)}: expected memory of at least 6 MiB, cpus and pids above 0`,
    );
  }
}
