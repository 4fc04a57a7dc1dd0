/**
 * From a spec to a fleet's template, and from the template to one instance's `InstanceSpec`. Pure:
 * secrets are not read here; the controller merges them from `environmentFor` at create time.
 */
import type { InstanceSpec } from '../engines/index.js';
import type { FleetSection, Spec } from '../specfile/index.js';
import { runTemplateDigest, runTemplateFor } from '../specfile/index.js';
import type { FleetTemplate } from './types.js';

/** The template stored with the fleet: no env values at all, the health check's port first. */
export function fleetTemplateFor(spec: Spec, fleet: FleetSection): FleetTemplate {
  const run = runTemplateFor(spec);
  // Non-secret defaults are in the image's config already. Copying them here would pin them to the
  // fleet, so a later revision rolled out without its spec would run with the old revision's values.
  const env: Record<string, string> = {};
  const fromEnvironment = Object.entries(spec.env)
    .filter(([, variable]) => variable.secret || variable.default === undefined)
    .map(([name]) => name);
  const port = spec.health?.port ?? spec.ports.find((declared) => declared.protocol === 'tcp')?.port;
  return {
    version: 1,
    run,
    fleet,
    ...(port !== undefined ? { port } : {}),
    env,
    ...(fromEnvironment.length > 0 ? { fromEnvironment } : {}),
    ...(spec.watch.webhook !== undefined || spec.watch.deepCheck !== undefined
      ? {
          watch: {
            ...(spec.watch.webhook !== undefined ? { webhook: spec.watch.webhook } : {}),
            ...(spec.watch.deepCheck !== undefined ? { deepCheck: spec.watch.deepCheck } : {}),
          },
        }
      : {}),
  };
}

export function instanceSpecFor(
  fleet: { service: string; revision: string; digest: `sha256:${string}`; template: FleetTemplate },
  options: { imageRef: string; environment?: Record<string, string> },
): InstanceSpec {
  const { template } = fleet;
  const { resources } = template.fleet;
  const { run } = template;
  return {
    service: fleet.service,
    revision: fleet.revision,
    digest: fleet.digest,
    imageRef: options.imageRef,
    // The watch finds the paths this instance was started with by this digest, whatever the
    // fleet's template says by then.
    templateDigest: runTemplateDigest(run),
    user: run.user,
    env: { ...template.env, ...options.environment },
    writable: run.writable,
    ...(run.writableRoot ? { writableRoot: true } : {}),
    ...(template.port !== undefined ? { port: template.port } : {}),
    resources: {
      memoryBytes: resources.memoryBytes,
      nanoCpus: Math.round(resources.cpus * 1e9),
      pids: resources.pids,
      ...(resources.shmBytes !== undefined ? { shmBytes: resources.shmBytes } : {}),
    },
    stopGraceSeconds: template.fleet.stopGraceSeconds,
    ...(template.fleet.placement
      ? { placement: { constraints: [...template.fleet.placement.constraints] } }
      : {}),
  };
}
