import type { Database } from 'better-sqlite3';
import type { Catalog } from '../catalog/index.js';
import type { Clock, Logger } from '../common/index.js';
import { describeDowngrade } from '../debian/index.js';
import type { Engine } from '../engines/index.js';
import type { FleetController, FleetTemplate } from '../fleet/index.js';
import { HttpTcpProber } from '../fleet/index.js';
import type { HerdHome } from '../herd-home.js';
import type { Journal } from '../journal/index.js';
import type { Digest, LayoutStore } from '../oci/index.js';
import {
  acceptanceOutput,
  acceptCandidate,
  assertSpecOwnership,
  checkForUpdates,
  decideRun,
  loadVulnDataIfAny,
  openSpecInputs,
  type PipelineState,
  PolicyRecheck,
  percentiles,
  postPipelineWebhook,
  RemediationLoop,
  type RemediationLoopParts,
  RemediationStore,
  removeStaleCandidates,
  runTarget,
  type SpecInputs,
  VulnDataRefresh,
} from '../pipeline/index.js';
import type { Signer } from '../trust/index.js';

/** What the CLI hands the control plane for remediation runs: the key and herd's version. */
export interface RemediationSetup {
  /** The signing key, unlocked when a run reaches its sign stage. */
  signer(): Promise<Signer>;
  herdVersion: string;
}

export interface RemediationWiring {
  db: Database;
  home: HerdHome;
  store: LayoutStore;
  journal: Journal;
  catalog: Catalog;
  actor: string;
  clock: Clock;
  log: Logger;
  engine: Engine;
  controller: FleetController;
  setup: RemediationSetup | undefined;
  imageRefFor(service: string, digest: Digest): string;
  environmentFor(names: readonly string[]): Record<string, string>;
  rollout(
    service: string,
    digest: Digest,
    options: { template: FleetTemplate; actor: string },
  ): Promise<unknown>;
  fallbackWebhook: string | undefined;
  /** HERD_VULNDB_URL from herd's environment: the monitor refreshes the vulnerability data from it. */
  vulndbUrl?: string;
}

export async function startRemediation(wiring: RemediationWiring): Promise<RemediationLoop> {
  const { db, home, store, journal, catalog, actor, clock, log, engine, controller } = wiring;
  const runs = new RemediationStore(db);
  const state = { journal, catalog, actor };
  // A candidate a killed control plane left is never a fleet's; it goes before anything else.
  const stale = await removeStaleCandidates(engine);
  if (stale.length > 0) log.info({ removed: stale.length }, 'removed acceptance candidates left by a stop');
  const loop = new RemediationLoop({
    runs,
    journal,
    actor,
    clock,
    log,
    steps: {
      home,
      store,
      state,
      clock,
      logger: log,
      herdVersion: wiring.setup?.herdVersion ?? 'unknown',
      signer: async () => {
        if (!wiring.setup) {
          throw new Error(
            'this control plane has no signing key: start it with herd up, or herd serve with HERD_KEY_PASSWORD',
          );
        }
        return wiring.setup.signer();
      },
      accept: async ({ service, digest, template, spec }) => {
        const result = await acceptCandidate(
          { engine, store, home, clock, log, prober: new HttpTcpProber() },
          {
            service,
            digest,
            template,
            imageRef: wiring.imageRefFor(service, digest),
            environment: wiring.environmentFor(template.fromEnvironment ?? []),
            checks: spec.accept,
          },
        );
        return { passed: result.passed, output: acceptanceOutput(result) };
      },
    },
    openSpec: openTrustedSpec,
    fleetStatus: async (service) => (controller.templateOf(service) ? controller.status(service) : undefined),
    rollout: wiring.rollout,
    check: updateCheck({
      store,
      state,
      home,
      db,
      clock,
      log,
      ...(wiring.vulndbUrl ? { vulndbUrl: wiring.vulndbUrl } : {}),
    }),
    decide: decideRun,
    percentiles,
    notify: (spec, run) => {
      const url = spec?.watch.webhook ?? wiring.fallbackWebhook;
      if (url) void postPipelineWebhook(url, run, { log });
    },
  });
  await loop.start();
  return loop;
}

export interface UpdateCheckWiring {
  store: LayoutStore;
  state: PipelineState;
  home: HerdHome;
  db: Database;
  clock: Clock;
  log: Logger;
  /** HERD_VULNDB_URL: the data is fetched again from it when older than the fleet's interval. */
  vulndbUrl?: string;
}

/**
 * The monitor's look at one fleet: herd.lock resolved again, the packages matched against the
 * vulnerability data (fetched again first when due), the image's age, and the gate's rules under
 * the spec's current policy (judged once per policy change; a judgment that fails is a warning and
 * the other findings still count).
 */
export function updateCheck(wiring: UpdateCheckWiring): RemediationLoopParts['check'] {
  const { store, state, home, db, clock, log } = wiring;
  const policyRecheck = new PolicyRecheck();
  const refresh = wiring.vulndbUrl
    ? new VulnDataRefresh({ home, state, clock, log, from: wiring.vulndbUrl })
    : undefined;
  const policyFindingFor = async (spec: SpecInputs, digest: Digest, now: Date) => {
    try {
      return await policyRecheck.finding(store, { digest, spec: spec.loaded, now });
    } catch (error) {
      // Tried again at the next check; a package fix must not wait on it.
      log.warn(
        { service: spec.loaded.spec.service, digest, err: String(error) },
        "the gate's rules could not be judged again for the deployed image",
      );
      return undefined;
    }
  };
  return async (spec, deployed) => {
    const now = new Date(clock.now());
    const vulnDb = await (refresh
      ? refresh.current({ intervalSeconds: spec.loaded.spec.watch.updates.intervalSeconds })
      : loadVulnDataIfAny(home));
    const found = await checkForUpdates(
      spec,
      { store, state, home, db, ...(vulnDb ? { vulnDb } : {}), now },
      {
        deployed: { ...deployed, createdAt: await imageCreated(store, deployed.digest) },
        ...(spec.loaded.spec.watch.maxImageAgeSeconds !== undefined
          ? { maxImageAgeSeconds: spec.loaded.spec.watch.maxImageAgeSeconds }
          : {}),
      },
    );
    const policy = await policyFindingFor(spec, deployed.digest, now);
    const findings = policy ? [...found.findings, policy] : found.findings;
    return {
      findings,
      target: runTarget(found.fresh, {
        specDigest: spec.loaded.digest,
        findingKinds: findings.filter((one) => one.actionable).map((one) => one.kind),
      }),
      ...(found.rolledBack
        ? {
            rolledBack: `the archive went back in time (${found.rolledBack
              .map(describeDowngrade)
              .join('; ')}): no run starts on an older Release`,
          }
        : {}),
    };
  };
}

/**
 * A spec as every command opens it, refused when another local user could change it: the loop
 * builds and signs what it says.
 */
export async function openTrustedSpec(specPath: string): Promise<SpecInputs> {
  const spec = await openSpecInputs(specPath);
  await assertSpecOwnership(spec.loaded);
  return spec;
}

/** The image config's `created`: when its contents were pinned (the lock's date, or SOURCE_DATE_EPOCH). */
async function imageCreated(store: LayoutStore, digest: Digest): Promise<string> {
  const manifest = await store.getManifest(digest);
  const config = JSON.parse((await store.getBlob(manifest.config.digest)).toString()) as { created?: string };
  return config.created ?? new Date(0).toISOString();
}
