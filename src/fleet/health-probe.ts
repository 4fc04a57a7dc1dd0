/**
 * Runs a spec's health check against an instance from outside it, over the network, the way a load
 * balancer would. There is no exec path on purpose (docs/architecture.md, "Immutability").
 */
import { type ClientRequest, request } from 'node:http';
import { connect } from 'node:net';
import type { HealthCheck } from '../specfile/index.js';

/** Where the check's port is reachable from herd: the engine's published `127.0.0.1:<port>`. */
export interface ProbeAddress {
  host: string;
  port: number;
}

export class HttpTcpProber {
  /**
   * True when the instance answers in time: any 2xx or 3xx to `GET health.path`, or an accepted TCP
   * connection. `health.port` is the container port; `address` is where the engine published it.
   * Never rejects: an unreachable, slow or broken instance is simply unhealthy.
   */
  async check(address: ProbeAddress, health: HealthCheck): Promise<boolean> {
    const timeoutMs = Math.max(1, health.timeoutSeconds * 1000);
    try {
      switch (health.kind) {
        case 'http':
          return await probeHttp(address, health.path, timeoutMs);
        case 'tcp':
          return await probeTcp(address, timeoutMs);
      }
    } catch {
      return false;
    }
  }
}

function probeHttp(address: ProbeAddress, path: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), timeoutMs);
    const settle = (healthy: boolean) => {
      clearTimeout(timer);
      resolve(healthy);
    };
    let req: ClientRequest;
    try {
      // agent: false gives each probe its own connection, so a pooled socket can't hide a dead listener.
      req = request({
        host: address.host,
        port: address.port,
        path,
        method: 'GET',
        agent: false,
        signal: abort.signal,
        headers: { connection: 'close', 'user-agent': 'herd-health/1' },
      });
    } catch {
      // An unusable path or host is refused before any I/O; it is the check that is broken.
      settle(false);
      return;
    }
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      // The status decides; the body is not awaited, so a streaming endpoint can't stall the probe.
      req.destroy();
      settle(status >= 200 && status < 400);
    });
    req.on('error', () => settle(false));
    req.end();
  });
}

function probeTcp(address: ProbeAddress, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: address.host, port: address.port });
    const timer = setTimeout(() => settle(false), timeoutMs);
    function settle(healthy: boolean) {
      clearTimeout(timer);
      socket.destroy();
      resolve(healthy);
    }
    socket.on('connect', () => settle(true));
    socket.on('error', () => settle(false));
  });
}
