/**
 * The log area as the control plane uses it: the store under HERD_HOME/logs, the forwarders from
 * the settings, and the collector once there is an engine. One `close` lets go of all of it, the
 * collector first so its last lines still reach the store and the forwarders.
 */
import type { Clock, Logger } from '../common/index.js';
import type { Engine } from '../engines/index.js';
import { createForwarder } from './forward/forward-targets.js';
import { LogCollector } from './log-collector.js';
import type { LogSettings } from './log-settings.js';
import { SegmentLogStore } from './segment-log-store.js';
import type { LogSink } from './types.js';

export interface ExternalizedLogs {
  store: SegmentLogStore;
  /** Starts following the engine's instances; a second call with the same engine does nothing. */
  startCollector(engine: Engine): LogCollector;
  /** `drainMs`: how long followers of just-removed instances may still read (see LogCollector.stop). */
  close(options?: { drainMs?: number }): Promise<void>;
}

export async function openExternalizedLogs(options: {
  dir: string;
  settings: LogSettings;
  log: Pick<Logger, 'info' | 'warn'>;
  clock?: Clock;
}): Promise<ExternalizedLogs> {
  const { settings, log } = options;
  const clock = options.clock ? { clock: options.clock } : {};
  const store = await SegmentLogStore.open({
    dir: options.dir,
    maxBytes: settings.maxBytes,
    maxAgeMs: settings.maxAgeMs,
    log,
    ...clock,
  });
  const forwarders: LogSink[] = settings.forward.map((target) => createForwarder(target, { log, ...clock }));
  let collector: LogCollector | undefined;
  return {
    store,
    startCollector(engine) {
      collector ??= new LogCollector({ engine, store, forwarders, log, ...clock });
      collector.start();
      return collector;
    },
    async close(closeOptions = {}) {
      await collector?.stop({ graceMs: closeOptions.drainMs ?? 0 });
      await Promise.allSettled([store.close(), ...forwarders.map((f) => f.close())]);
    },
  };
}
