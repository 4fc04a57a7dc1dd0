/**
 * The fleet API in-process, over real parts where the API's own logic meets them: tokens and the
 * journal in an in-memory herd.db, a log store on disk, and a fleet controller over MemoryEngine
 * (src/fleet's harness). Only the integrity monitor and the remediation loop are stand-ins. Requests say how they arrived,
 * as the Node adapter would (`overSocket`, `overTcp`).
 */
import { FailureLimiter } from '../auth/failure-limiter.js';
import { SqliteTokenStore } from '../auth/token-store.js';
import { silentLogger } from '../common/index.js';
import { digestA, fleetHarness, template } from '../fleet/controller.test-support.js';
import { FrontDoors } from '../fleet/front-door.js';
import { Journal } from '../journal/journal.js';
import { ManualClock, tempLogsDir } from '../logs/logs.test-support.js';
import { SegmentLogStore } from '../logs/segment-log-store.js';
import { LayoutStore } from '../oci/layout-store.js';
import type { Digest } from '../oci/types.js';
import { type Remediation, type RolloutRequest, rollbackFleet, rolloutImage } from '../pipeline/index.js';
import { apiClient } from './api-client.js';
import { createApp } from './app.js';
import type { Connection } from './authenticate.js';
import type { ControlPlane } from './control-plane.js';
import { ServerError } from './errors.js';
import { MemoryRemediation } from './remediation.test-support.js';

export const overSocket: Connection = { transport: 'unix', user: 'alice' };
export const overTcp = (remoteAddress = '203.0.113.5'): Connection => ({ transport: 'tcp', remoteAddress });

export async function apiHarness(
  options: {
    withFleet?: boolean;
    /** The remediation loop behind the pipeline routes: a MemoryRemediation unless given, or none. */
    remediation?: Remediation | 'not-running';
  } = {},
) {
  const remediation = options.remediation ?? new MemoryRemediation();
  const fleets = fleetHarness();
  const journal = new Journal(fleets.db, { clock: fleets.clock });
  const tokens = new SqliteTokenStore(journal, { clock: fleets.clock });
  const logs = await SegmentLogStore.open({ dir: await tempLogsDir(), clock: new ManualClock() });
  if (options.withFleet) {
    await fleets.controller.rollout(
      'web',
      { revision: 'r1', digest: digestA },
      { template: template({ size: 2 }) },
    );
  }
  const frontDoors = new FrontDoors({ log: silentLogger });
  const controller = async () => fleets.controller;
  const plane = {
    url: 'http://127.0.0.1:0',
    socketPath: '/nonexistent/control-plane.sock',
    tokens,
    journal,
    logs,
    frontDoors,
    fleets: controller,
    // The control plane's own use cases, over this harness's controller.
    rollout: (service: string, digest: Digest, options: Omit<RolloutRequest, 'service' | 'digest'> = {}) =>
      rolloutImage({ fleets: controller, frontDoors }, { service, digest, ...options }),
    rollback: (service: string, options: { actor?: string } = {}) =>
      rollbackFleet({ fleets: controller }, { service, ...options }),
    remediation: async () => {
      if (remediation === 'not-running') {
        throw new ServerError('REMEDIATION_NOT_RUNNING', 'the remediation loop is not running');
      }
      return remediation;
    },
    integrity: async () => ({
      incidents: { list: () => [] },
      monitor: {
        verifyInstance: async (id: string) => ({
          instance: id,
          service: 'web',
          digest: digestA,
          trusted: true,
          findings: [],
          entries: 0,
          bytes: 0,
          durationMs: 0,
        }),
      },
    }),
  } as unknown as ControlPlane;
  const limiter = new FailureLimiter({ clock: fleets.clock });
  const app = createApp({
    store: new LayoutStore(await tempLogsDir()),
    fleetApi: { plane, log: silentLogger },
    pullTokens: tokens,
    limiter,
  });
  /** A raw request, arriving over `connection`. */
  const request = (path: string, init: RequestInit & { connection?: Connection } = {}) => {
    const { connection = overTcp(), ...rest } = init;
    return app.request(path, rest, { connection });
  };
  /** The typed client, arriving over `connection` with `token`. */
  const client = (connection: Connection, token?: string) =>
    apiClient({
      kind: 'fetch',
      fetch: async (input, init) =>
        app.request(input instanceof Request ? input : String(input), init, { connection }),
      ...(token ? { token } : {}),
    });
  const tokenFor = (role: 'viewer' | 'operator' | 'releaser' | 'admin', name: string = role) =>
    tokens.create({ role, name, actor: 'local:alice' });
  return { app, request, client, tokens, tokenFor, journal, logs, fleets, limiter, remediation };
}
