/**
 * The control plane `herd serve` and `herd up` run: one HTTP server (the read-only /v2/ endpoint
 * engines pull from, and the fleet API), the engine, the fleet controller and the front doors,
 * over HERD_HOME's store and herd.db. This is the edge where concrete parts are wired together.
 *
 * The engine starts lazily: a control plane with no fleet serves /v2/ without one. When herd.db
 * already holds fleets (a restart, even after kill -9), the controller starts at once and adopts
 * the instances it finds by label.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { SqliteTokenStore } from '../auth/index.js';
import { Catalog } from '../catalog/index.js';
import { type Logger, systemClock, writeAtomic } from '../common/index.js';
import { DebugSessions } from '../debug/index.js';
import type { Engine } from '../engines/index.js';
import {
  checkKubeconfig,
  DockerEngine,
  type EngineService,
  ensureEngine,
  KubernetesEngine,
  SwarmEngine,
} from '../engines/index.js';
import type { FleetTemplate } from '../fleet/index.js';
import { FleetController, FleetStore, FrontDoors, HttpTcpProber } from '../fleet/index.js';
import type { HerdHome } from '../herd-home.js';
import type { HomeLock } from '../home/index.js';
import { Journal, resolveActor } from '../journal/index.js';
import type { LogStore } from '../logs/index.js';
import { type LogSettings, logSettingsFromEnv, openExternalizedLogs } from '../logs/index.js';
import type { Digest } from '../oci/index.js';
import { LayoutStore } from '../oci/index.js';
import {
  controllerAdmission,
  journalFleetEvent,
  percentiles,
  RecordedRemediation,
  type Remediation,
  type RemediationLoop,
  RemediationStore,
  type RolloutTarget,
  rollbackFleet,
  rolloutImage,
} from '../pipeline/index.js';
import { openStateDb } from '../state/index.js';
import { loadTrustedKeys } from '../trust/index.js';
import { type IntegrityWatch, startIntegrityWatch } from '../watch/index.js';
import { createApp } from './app.js';
import { controlPlaneSocket } from './control-plane-socket.js';
import { describeEngineChoice, type EngineChoice, engineChoiceFrom } from './engine-choice.js';
import { enginePullCredential } from './engine-pull-credential.js';
import { ServerError } from './errors.js';
import { instanceEnvironment } from './instance-environment.js';
import { startJournalAnchoring } from './journal-anchoring.js';
import { kubernetesDriftProbe } from './kubernetes-drift-probe.js';
import { type RunningServer, startServer, startSocketServer } from './node-server.js';
import { type RemediationSetup, startRemediation } from './remediation-wiring.js';

export interface ControlPlaneOptions {
  home: HerdHome;
  /**
   * HERD_HOME's lock (src/home/home-lock.ts), taken before anything was written: one control plane
   * per home. The control plane records its URL in it and releases it when it closes.
   */
  lock: HomeLock;
  port?: number;
  host?: string;
  log: Logger;
  /** Secrets and other values for instances, read from herd's own environment at create time. */
  environment?: NodeJS.ProcessEnv;
  /** Log retention and forwarding; default from HERD_LOG_* in herd's own environment. */
  logs?: LogSettings;
  /**
   * `token`: /v2/ needs a token with images:pull, as the fleet API does (`herd serve --v2-auth
   * token`). The control plane's own engine then pulls with a credential that lives only in this
   * process's memory. Default `none`: /v2/ is open, read-only.
   */
  v2Auth?: 'none' | 'token';
  /**
   * The remediation loop's signing key and herd's version (src/cli hands them in). Without it the
   * loop still checks and reports; a run stops at its sign stage, saying why.
   */
  remediation?: RemediationSetup;
  /** Specs whose fleets the loop keeps patched by replacement (herd up registers its own). */
  specSources?: { service: string; specPath: string }[];
}

export interface ControlPlane {
  url: string;
  /** HERD_HOME/control-plane.sock: the local CLI's way in, as the user who started the plane. */
  socketPath: string;
  /** API tokens (herd token): who may call over TCP. */
  tokens: SqliteTokenStore;
  store: LayoutStore;
  journal: Journal;
  catalog: Catalog;
  /** Instances' output, kept after they are gone; readable without the engine. */
  logs: LogStore;
  /** Starts the engine and the controller on first use. */
  fleets(): Promise<FleetController>;
  /** The integrity monitor and incidents, started with the fleets. */
  integrity(): Promise<IntegrityWatch>;
  /** Break-glass debug sessions (src/debug), started with the fleets. */
  debug(): Promise<DebugSessions>;
  /** The remediation loop (src/pipeline): `herd check`, `herd pipeline`, `herd approve`. */
  remediation(): Promise<Remediation>;
  frontDoors: FrontDoors;
  /**
   * The one way to roll out (src/pipeline/rollout.ts), for the fleet API and `herd up` alike: opens
   * the front door for a template, admits the digest and hands it to the controller. `template`
   * is needed for a fleet's first rollout; `actor` is who asked, the control plane when nobody did.
   */
  rollout(
    service: string,
    digest: Digest,
    options?: { template?: FleetTemplate; actor?: string },
  ): Promise<RolloutTarget>;
  /** Back to the latest digest that completed a rollout before the current one, admitted again. */
  rollback(service: string, options?: { actor?: string }): Promise<RolloutTarget>;
  /** Stops the controller and the front doors; `removeInstances` also removes every instance (herd up). */
  close(options?: { removeInstances?: boolean }): Promise<void>;
}

/** Where a running control plane says where it is, so `herd status` and friends find it. */
export function controlPlaneFile(home: HerdHome): string {
  return join(home.root, 'control-plane.json');
}

export async function startControlPlane(options: ControlPlaneOptions): Promise<ControlPlane> {
  const { home, log } = options;
  const store = new LayoutStore(home.store);
  await store.init();
  const db = openStateDb(home.stateDb);
  const journal = new Journal(db, { clock: systemClock });
  const catalog = new Catalog(journal);
  const anchoring = startJournalAnchoring({ journal, catalog, home, log });
  const tokens = new SqliteTokenStore(journal);
  const actor = resolveActor();
  const pulls = options.v2Auth === 'token' ? enginePullCredential(tokens) : undefined;
  const frontDoors = new FrontDoors({ log });
  const logs = await openExternalizedLogs({
    dir: home.logs,
    settings: options.logs ?? logSettingsFromEnv(process.env),
    log,
  });
  let fleets: Promise<FleetController> | undefined;
  // Read before the server listens (engineChoiceFrom); podman until then.
  let engineChoice: EngineChoice = { kind: 'podman' };
  let engineService: EngineService | undefined;
  let server: RunningServer | undefined;
  let socketServer: RunningServer | undefined;
  let integrity: IntegrityWatch | undefined;
  let debug: DebugSessions | undefined;
  let remediation: RemediationLoop | undefined;
  const sources = new RemediationStore(db);
  for (const source of options.specSources ?? []) {
    sources.setSource(source.service, source.specPath, new Date(systemClock.now()).toISOString());
  }

  const startFleets = async (): Promise<FleetController> => {
    const registry = new URL(server?.url ?? 'http://127.0.0.1').host;
    // With --v2-auth token, the engine must authenticate when it pulls from herd's /v2/.
    const registryAuth = pulls ? { registryAuth: { ...pulls.credential, serveraddress: registry } } : {};
    // A swarm's or a cluster's nodes pull from herd's /v2/ at the address herd serves on (so
    // `--host` must be one they reach), or, on Kubernetes, from HERD_KUBERNETES_PULL_FROM. No
    // podman is started for either. A pod is reached at its own IP (its instance's address).
    let engine: Engine;
    switch (engineChoice.kind) {
      case 'kubernetes': {
        const { driftProbeDigest, ...settings } = engineChoice.settings;
        engine = await KubernetesEngine.connect({
          ...settings,
          ...(driftProbeDigest
            ? {
                driftProbe: await kubernetesDriftProbe({
                  store,
                  digest: driftProbeDigest,
                  registry,
                  publicKeys: async () => (await loadTrustedKeys(home)).map((key) => key.publicKey),
                }),
              }
            : {}),
        });
        break;
      }
      case 'swarm':
        engine = new SwarmEngine({ ...engineChoice.settings, ...registryAuth });
        break;
      case 'podman':
        engineService = await ensureEngine({ stateDir: join(home.root, 'engine') });
        log.info({ socket: engineService.socketPath }, engineService.describe);
        engine = new DockerEngine({ socketPath: engineService.socketPath, ...registryAuth });
        break;
    }
    const controller = new FleetController({
      engine,
      db,
      prober: new HttpTcpProber(),
      // Whoever asked for the rollout is the actor of a refusal; the control plane otherwise.
      admit: controllerAdmission({ store, state: { catalog, journal, actor }, home }),
      imageRefFor: (service, digest) => `${registry}/${service}@${digest}`,
      frontDoor: frontDoors,
      environmentFor: (_service, names) => instanceEnvironment(options.environment ?? process.env, names),
      record: (event) => journalFleetEvent(journal, event, { controlPlaneActor: actor }),
      log,
    });
    for (const fleet of new FleetStore(db).list()) {
      await frontDoors.open(fleet.service, { port: fleet.template.fleet.port ?? 0 });
    }
    const sessions = new DebugSessions({
      engine,
      fleets: controller,
      store,
      journal,
      db,
      spoolDir: home.debug,
      log,
    });
    // Before the controller adopts anything: an instance a debug session left must never serve again.
    await sessions.recover();
    debug = sessions;
    controller.start();
    logs.startCollector(engine);
    const fallbackWebhook = (options.environment ?? process.env).HERD_WATCH_WEBHOOK;
    integrity = startIntegrityWatch({
      engine,
      store,
      db,
      journal,
      actor,
      fleets: controller,
      publicKeys: async () => (await loadTrustedKeys(home)).map((key) => key.publicKey),
      // Each fleet's spec may name its own (`watch.webhook`); herd's environment covers the rest.
      ...(fallbackWebhook ? { fallbackWebhook } : {}),
      held: (id) => sessions.holds(id),
      log,
    });
    const environment = options.environment ?? process.env;
    remediation = await startRemediation({
      db,
      home,
      store,
      journal,
      catalog,
      actor,
      clock: systemClock,
      log,
      engine,
      controller,
      setup: options.remediation,
      imageRefFor: (service, digest) => `${registry}/${service}@${digest}`,
      environmentFor: (names) => instanceEnvironment(environment, names),
      rollout: (service, digest, rolloutOptions) => plane.rollout(service, digest, rolloutOptions),
      fallbackWebhook,
      ...(environment.HERD_VULNDB_URL ? { vulndbUrl: environment.HERD_VULNDB_URL } : {}),
    });
    return controller;
  };
  const plane: ControlPlane = {
    url: '',
    socketPath: controlPlaneSocket(home),
    tokens,
    store,
    journal,
    catalog,
    logs: logs.store,
    frontDoors,
    fleets: () => {
      fleets ??= startFleets();
      return fleets;
    },
    rollout: (service, digest, rolloutOptions = {}) =>
      rolloutImage({ fleets: plane.fleets, frontDoors }, { service, digest, ...rolloutOptions }),
    rollback: (service, rollbackOptions = {}) =>
      rollbackFleet({ fleets: plane.fleets }, { service, ...rollbackOptions }),
    integrity: async () => {
      await plane.fleets();
      if (!integrity) throw new Error('the integrity monitor did not start with the fleets');
      return integrity;
    },
    debug: async () => {
      await plane.fleets();
      if (!debug) throw new Error('debug sessions did not start with the fleets');
      return debug;
    },
    remediation: async () => {
      // Reading runs starts no engine: with no fleet yet, herd.db's records answer.
      if (!fleets && new FleetStore(db).list().length === 0) {
        return new RecordedRemediation(sources, percentiles);
      }
      await plane.fleets();
      if (!remediation)
        throw new ServerError('REMEDIATION_NOT_RUNNING', 'the remediation loop is not running');
      return remediation;
    },
    async close(closeOptions = {}) {
      // Every step runs even when one before it failed: a dead engine must not leave the front
      // doors, the server or herd.db open.
      const controller = fleets ? await fleets.catch(() => undefined) : undefined;
      const steps: [string, () => Promise<unknown>][] = [
        // First, while the engine is up: each session's transcript stored, its instance destroyed.
        ['ending the debug sessions', async () => debug?.closeAll()],
        ['stopping the integrity monitor', async () => integrity?.stop()],
        ['stopping the remediation loop', async () => remediation?.stop()],
        ['stopping the controller', async () => controller?.stop()],
        [
          'removing the instances',
          async () => (closeOptions.removeInstances ? controller?.removeAllInstances() : undefined),
        ],
        // After the removals, so the removed instances' last lines are read to the end.
        [
          'stopping the log collector',
          () => logs.close({ drainMs: closeOptions.removeInstances ? 3_000 : 0 }),
        ],
        ['closing the front doors', () => frontDoors.closeAll({ timeoutMs: 5_000 })],
        ['closing the socket', async () => socketServer?.close()],
        ['closing the server', async () => server?.close()],
        ['stopping the engine', async () => engineService?.stop()],
        ['removing control-plane.json', () => rm(controlPlaneFile(home), { force: true })],
        // After everything that journals, before herd.db closes.
        ['signing a last journal checkpoint', () => anchoring.stop()],
        // Last: until here another control plane must not start on this home.
        ['releasing the lock on HERD_HOME', () => options.lock.release()],
      ];
      for (const [what, step] of steps) {
        try {
          await step();
        } catch (error) {
          log.warn({ error: String(error) }, `control plane close: ${what} failed`);
        }
      }
      db.close();
    },
  };
  try {
    // A wrong engine setting stops the start here, before anything listens.
    engineChoice = engineChoiceFrom(options.environment ?? process.env, {
      ...(options.v2Auth ? { v2Auth: options.v2Auth } : {}),
    });
    if (engineChoice.kind === 'kubernetes') await checkKubeconfig(engineChoice.settings.kubeconfig);
    // One app for both: one count of invalid tokens; the adapter tells it which way a request came.
    const app = createApp({
      store,
      logger: log,
      fleetApi: { plane, log },
      ...(pulls ? { pullTokens: pulls.verifier } : {}),
    });
    server = await startServer({
      app,
      ...(options.port !== undefined ? { port: options.port } : {}),
      ...(options.host !== undefined ? { host: options.host } : {}),
    }).catch((error: unknown) => {
      throw listenFailure(error, options);
    });
    socketServer = await startSocketServer({ app, socketPath: plane.socketPath });
    plane.url = server.url;
    log.info({ engine: engineChoice.kind }, describeEngineChoice(engineChoice, new URL(server.url).host));
    if (engineChoice.kind === 'kubernetes' && !engineChoice.settings.pullFrom && isLoopback(server.url)) {
      // Not refused: a one-node cluster on this very machine does reach it.
      log.warn(
        { registry: server.url },
        "the cluster's nodes pull from herd's /v2/ on loopback, which only a node on this machine reaches: expected --host <an address the nodes reach> or HERD_KUBERNETES_PULL_FROM",
      );
    }
    await options.lock.advertise(server.url);
    await writeAtomic(
      controlPlaneFile(home),
      `${JSON.stringify({ url: server.url, pid: process.pid }, null, 2)}\n`,
    );
    if (new FleetStore(db).list().length > 0) await plane.fleets();
  } catch (error) {
    // A port in use, an engine that does not start: nothing stays half started (no podman
    // service, front doors, control-plane.json or lock).
    await plane.close();
    throw error;
  }
  return plane;
}

function isLoopback(url: string): boolean {
  const host = new URL(url).hostname;
  return host === 'localhost' || host === '[::1]' || host.startsWith('127.');
}

/** EADDRINUSE from the control plane's own listen, said in herd's words. */
function listenFailure(error: unknown, options: ControlPlaneOptions): unknown {
  if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') return error;
  return new ServerError(
    'PORT_IN_USE',
    `${options.host ?? '127.0.0.1'}:${options.port} is already in use: expected a free port for the control plane (--port)`,
    { cause: error },
  );
}
