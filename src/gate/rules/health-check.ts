import { cisDocker, dockle } from './references.js';
import { everyProfile, type HardeningRule, type RuleResult } from './rule.js';

/**
 * With the spec, a service that declares ports must declare `health:` (error): rollouts are gated
 * on health, and a network service without a check cannot be rolled out safely. A spec without
 * ports (a base image, a worker) only gets a warning. Without the spec (a bare digest), the image
 * config's Docker `Healthcheck` counts; its absence is a warning, since herd keeps the check in
 * the spec, not in the image.
 */
export const healthCheck: HardeningRule = {
  id: 'HERD-H007',
  name: 'health-check',
  title: 'A health check is declared',
  severity: 'error',
  rationale:
    'The fleet replaces unhealthy instances and gates each rollout batch on health. Without a health check an instance that is up but broken counts as healthy.',
  references: [
    cisDocker('4.6', 'Ensure that HEALTHCHECK instructions have been added to container images'),
    dockle('CIS-DI-0006', 'Add HEALTHCHECK instruction to the container image'),
  ],
  profiles: everyProfile,
  check({ view, spec }): RuleResult[] {
    if (spec) {
      if (spec.health) return [];
      const ports = spec.ports.map((p) => `${p.port}/${p.protocol}`).join(', ');
      return spec.ports.length > 0
        ? [
            {
              message: `the spec serves ${ports} but declares no health check`,
              location: { setting: 'spec.health' },
            },
          ]
        : [
            {
              message: 'the spec declares no health check (no ports either, so a base image or a worker?)',
              location: { setting: 'spec.health' },
              level: 'warning',
            },
          ];
    }
    const test = view.config.config.Healthcheck?.Test;
    if (test && test.length > 0 && test[0] !== 'NONE') return [];
    return [
      {
        message:
          'no health check found: the image was gated without its spec and its config has no Healthcheck',
        location: { setting: 'config.Healthcheck' },
        level: 'warning',
      },
    ];
  },
};
