/**
 * What test/remediate-e2e.test.ts and bench/remediate.ts share: the probe fleet's herd.yaml with
 * the remediation loop's sections (how often to look for updates, the acceptance checks, the
 * policy), and the security fixes the tracker knows of as probe-server 1.1, 1.2, 1.3… come out.
 */
import { type PublishedRepo, probeDefaultAnswer, repositoryYaml } from './apt-publish.js';
import type { TrackerFix } from './tracker-json.js';

export interface RemediationFleetOptions {
  service?: string;
  size: number;
  /** `watch.updates.interval`, such as `2s` or `30s`. */
  updatesInterval: string;
  /** `fleet.strategy.minReadySeconds`; 1 by default. */
  minReadySeconds?: number;
  /** `health.interval`; 500ms by default. */
  healthInterval?: string;
}

/**
 * The probe server from `repo` over HTTP, with no GREETING, so GET / answers probeDefaultAnswer,
 * which the acceptance check requires. The policy starts a run for a security fix of urgency high
 * and promotes it on its own; a plain update (no CVE fixed) starts none.
 */
export function remediationSpecText(repo: PublishedRepo, options: RemediationFleetOptions): string {
  return `apiVersion: herd/v1
service: ${options.service ?? 'probe'}
image:
  suite: bookworm
  packages: [probe-server]
  repositories:
${repositoryYaml(repo)}run:
  entrypoint: [/usr/bin/probe-server]
ports: [8080]
health:
  http: { path: /healthz, port: 8080 }
  interval: ${options.healthInterval ?? '500ms'}
  timeout: 1s
  retries: 2
fleet:
  size: ${options.size}
  strategy: { maxSurge: 1, maxUnavailable: 0, minReadySeconds: ${options.minReadySeconds ?? 1}, progressDeadlineSeconds: 30 }
  health: { failureThreshold: 2 }
  stopGraceSeconds: 2
  drainSeconds: 1
watch:
  updates: { interval: ${options.updatesInterval} }
accept:
  - http: { path: /, port: 8080, status: 200, body: "^${probeDefaultAnswer}$" }
  - tcp: { port: 8080 }
  - healthy: { within: 60s }
policy:
  trigger: security
  urgency: high
  promote: auto
  concurrency: 1
`;
}

/**
 * What the tracker says once probe-server 1.`minor` is out: CVE-2026-000N (high) is fixed in 1.N,
 * for every N up to `minor`. Given before 1.`minor` is published, the deployed image's newest CVE
 * has no fix the archive serves yet (reported, no run); the publication then fixes it.
 */
export function probeSecurityFixes(minor: number): TrackerFix[] {
  return Array.from({ length: minor }, (_, index) => ({
    cve: `CVE-2026-${String(index + 1).padStart(4, '0')}`,
    source: 'probe-server',
    codename: 'bookworm',
    fixedVersion: `1.${index + 1}`,
    urgency: 'high',
  }));
}
