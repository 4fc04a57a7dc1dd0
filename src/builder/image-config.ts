/**
 * The OCI image config for a spec. Pure. Only non-secret env defaults enter the config: secrets and
 * required variables without a default come from the environment at start, never from the image.
 * On a base, the base's layers and history come first; its run settings (user, env, entrypoint,
 * labels) are not inherited: the spec alone says how the image runs, hardened defaults included.
 * Spec: https://github.com/opencontainers/image-spec/blob/v1.1.0/config.md
 */
import type { Digest, ImageConfig } from '../oci/index.js';
import type { Spec } from '../specfile/index.js';

export const defaultPath = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The base as the image records it: where it came from, and what its config already says. */
export interface ConfigBase {
  ref: string;
  digest: Digest;
  diffIds: Digest[];
  history: NonNullable<ImageConfig['history']>;
}

export function imageConfigFor(
  spec: Spec,
  build: { created: string; diffIds: Digest[]; history: string[]; lockDigest: string; base?: ConfigBase },
): ImageConfig {
  const env = [`PATH=${defaultPath}`];
  for (const [name, variable] of Object.entries(spec.env)) {
    if (variable.secret || variable.default === undefined || name === 'PATH') continue;
    env.push(`${name}=${variable.default}`);
  }
  const exposed = Object.fromEntries(
    spec.ports.map((p) => [`${p.port}/${p.protocol}`, {} as Record<string, never>]),
  );
  return {
    created: build.created,
    architecture: spec.image.architecture,
    os: 'linux',
    config: {
      User: `${spec.run.user.uid}:${spec.run.user.gid}`,
      ...(spec.ports.length > 0 ? { ExposedPorts: exposed } : {}),
      Env: env,
      ...(spec.run.entrypoint.length > 0 ? { Entrypoint: spec.run.entrypoint } : {}),
      ...(spec.run.cmd.length > 0 ? { Cmd: spec.run.cmd } : {}),
      WorkingDir: spec.run.workdir,
      Labels: imageLabels(spec, build),
      StopSignal: 'SIGTERM',
    },
    rootfs: { type: 'layers', diff_ids: [...(build.base?.diffIds ?? []), ...build.diffIds] },
    history: [
      ...(build.base?.history ?? []),
      ...build.history.map((comment) => ({ created: build.created, created_by: 'herd build', comment })),
    ],
  };
}

/** org.opencontainers.image.* labels (annotations.md), plus the lock that made the image. */
export function imageLabels(
  spec: Spec,
  build: { created: string; lockDigest: string; base?: Pick<ConfigBase, 'ref' | 'digest'> },
): Record<string, string> {
  return {
    'org.opencontainers.image.created': build.created,
    ...(spec.description ? { 'org.opencontainers.image.description': spec.description } : {}),
    ...baseAnnotations(spec, build.base),
    'org.opencontainers.image.title': spec.service,
    ...(spec.version ? { 'org.opencontainers.image.version': spec.version } : {}),
    'dev.herd.lock.digest': build.lockDigest,
  };
}

/** annotations.md's base.name and base.digest: the image it was built on, or the Debian suite. */
export function baseAnnotations(
  spec: Spec,
  base: Pick<ConfigBase, 'ref' | 'digest'> | undefined,
): Record<string, string> {
  if (!base) return { 'org.opencontainers.image.base.name': `debian:${spec.image.suite}` };
  return {
    'org.opencontainers.image.base.digest': base.digest,
    'org.opencontainers.image.base.name': base.ref,
  };
}
