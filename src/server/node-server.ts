/**
 * The Node adapter: serves a web-standard app with @hono/node-server, and tells the app how each
 * request arrived (`connection`, see authenticate.ts). TCP binds to 127.0.0.1 unless told
 * otherwise. The Unix socket is created with mode 0600, so only the user who started the server
 * (and root) can connect to it: requests on it act as that user.
 */
import { lstat, rm } from 'node:fs/promises';
import type { IncomingMessage, Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { userInfo } from 'node:os';
import type { Duplex } from 'node:stream';
import { createAdaptorServer, type HttpBindings } from '@hono/node-server';
import { reachesItself } from '../common/index.js';
import type { Connection } from './authenticate.js';
import { ServerError } from './errors.js';
import { type UpgradeSocket, writeResponse } from './upgrade.js';

export interface FetchApp {
  fetch(
    request: Request,
    env: { connection: Connection; upgrade?: UpgradeSocket },
  ): Response | Promise<Response>;
}

export interface RunningServer {
  /** e.g. `http://127.0.0.1:41234`, with the port the system chose when asked for 0. */
  url: string;
  close(): Promise<void>;
}

/**
 * What one TCP client may hold. Anyone who can reach the port may open connections before any
 * token is looked at, so a client that sends its headers or body a byte at a time (slowloris)
 * is cut off (408) once `headersMs` or `requestMs` pass, instead of Node's 60 s and 5 min, and
 * gives its file descriptor back. Answers are not limited: a log followed or a blob pulled may
 * stream for as long as it takes. (No cap on connections: `server.maxConnections` made the
 * podman e2e's remote rollout fail with `fetch failed`, not understood yet.)
 */
export interface ConnectionLimits {
  headersMs: number;
  requestMs: number;
  /** How often Node looks for connections past their deadline. */
  checkEveryMs: number;
}

export const defaultConnectionLimits: ConnectionLimits = {
  headersMs: 10_000,
  requestMs: 30_000,
  checkEveryMs: 2_000,
};

export async function startServer(options: {
  app: FetchApp;
  port?: number;
  host?: string;
  limits?: Partial<ConnectionLimits>;
}): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  const limits = { ...defaultConnectionLimits, ...options.limits };
  const create = (): Server => {
    const server = createAdaptorServer({
      fetch: (request, bindings) => {
        const remoteAddress = (bindings as HttpBindings).incoming.socket.remoteAddress ?? 'unknown';
        return options.app.fetch(request, { connection: { transport: 'tcp', remoteAddress } });
      },
      serverOptions: {
        headersTimeout: limits.headersMs,
        requestTimeout: limits.requestMs,
        connectionsCheckingInterval: limits.checkEveryMs,
      },
    }) as Server;
    server.on('upgrade', (incoming: IncomingMessage, socket: Duplex, head: Buffer) => {
      const remoteAddress = incoming.socket.remoteAddress ?? 'unknown';
      void upgradeThroughApp(options.app, { incoming, socket, head }, { transport: 'tcp', remoteAddress });
    });
    return server;
  };
  // A port whose connections a NAT rule takes elsewhere (reaches-itself.ts) is no address to give
  // the engine or a client. Asked for any port, herd keeps such a one bound, so the kernel cannot
  // hand it out again, and listens anew; asked for that port, it says why it cannot serve there.
  const hijacked: Server[] = [];
  try {
    for (let attempt = 1; ; attempt += 1) {
      const server = create();
      await listening(server, (done) => server.listen(options.port ?? 0, host, done));
      const info = server.address() as AddressInfo;
      if (await reachesItself(server, { host: info.address, port: info.port })) {
        const shownHost = info.family === 'IPv6' ? `[${info.address}]` : info.address;
        return { url: `http://${shownHost}:${info.port}`, close: () => closeServer(server) };
      }
      hijacked.push(server);
      if (options.port || attempt >= 5) {
        throw new ServerError(
          'PORT_HIJACKED',
          `a connection to ${info.address}:${info.port} does not reach herd's own server there${attempt > 1 ? ` (nor on ${attempt - 1} other ports)` : ''}: a firewall rule, such as a container engine's forward of a published port left by a container that is gone, sends it elsewhere; expected a port no NAT rule takes (iptables-save -t nat shows them)`,
        );
      }
    }
  } finally {
    await Promise.all(hijacked.map((server) => closeServer(server)));
  }
}

/**
 * Serves the app on a Unix socket at `socketPath`, mode 0600. A socket file left by a control
 * plane that died is replaced; one that still answers, or a path that is not a socket, is not.
 */
export async function startSocketServer(options: {
  app: FetchApp;
  socketPath: string;
}): Promise<RunningServer> {
  const { socketPath } = options;
  if (Buffer.byteLength(socketPath) > maxSocketPathBytes) {
    throw new ServerError(
      'SOCKET_PATH_TOO_LONG',
      `${socketPath} is ${Buffer.byteLength(socketPath)} bytes, and a Unix socket path can be at most ${maxSocketPathBytes}: expected a shorter HERD_HOME`,
    );
  }
  await removeStaleSocket(socketPath);
  const user = localUser();
  const server = createAdaptorServer({
    fetch: (request) => options.app.fetch(request, { connection: { transport: 'unix', user } }),
  }) as Server;
  server.on('upgrade', (incoming: IncomingMessage, socket: Duplex, head: Buffer) => {
    void upgradeThroughApp(options.app, { incoming, socket, head }, { transport: 'unix', user });
  });
  // The socket file is made by bind() inside listen(), synchronously, with the umask's mode: a
  // umask of 0177 makes it 0600 from its first moment, not after a chmod that comes too late.
  const umask = process.umask(0o177);
  try {
    await listening(server, (done) => server.listen(socketPath, done));
  } finally {
    process.umask(umask);
  }
  return {
    url: `unix:${socketPath}`,
    close: async () => {
      await closeServer(server);
      await rm(socketPath, { force: true });
    },
  };
}

/**
 * A request that asked to upgrade goes to the app like any other (authentication, permission,
 * validation), with its socket offered (upgrade.ts); what the app answers without taking the socket
 * is written on it as plain HTTP.
 */
async function upgradeThroughApp(
  app: FetchApp,
  raw: { incoming: IncomingMessage; socket: Duplex; head: Buffer },
  connection: Connection,
): Promise<void> {
  const { incoming, socket, head } = raw;
  let taken = false;
  const upgrade: UpgradeSocket = {
    take: () => {
      taken = true;
      return { socket, head };
    },
  };
  socket.on('error', () => socket.destroy());
  try {
    const headers = new Headers();
    for (const [name, value] of Object.entries(incoming.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    const url = new URL(incoming.url ?? '/', 'http://localhost');
    const request = new Request(url, { method: incoming.method ?? 'GET', headers });
    const response = await app.fetch(request, { connection, upgrade });
    if (!taken) await writeResponse(socket, response);
  } catch {
    if (!taken) socket.destroy();
  }
}

/** sockaddr_un's sun_path is 108 bytes on Linux, the last one the terminating NUL. */
const maxSocketPathBytes = 107;

/** `os.userInfo()` fails for a uid with no passwd entry (containers); the uid still names it. */
function localUser(): string {
  try {
    return userInfo().username;
  } catch {
    return `uid:${process.getuid?.() ?? 'unknown'}`;
  }
}

async function removeStaleSocket(socketPath: string): Promise<void> {
  const found = await lstat(socketPath).catch(() => undefined);
  if (!found) return;
  if (!found.isSocket()) {
    throw new ServerError(
      'SOCKET_IN_USE',
      `${socketPath} exists and is not a socket: expected herd's control plane socket`,
    );
  }
  const answers = await new Promise<boolean>((resolve) => {
    const probe = connect(socketPath);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (answers) {
    throw new ServerError('SOCKET_IN_USE', `another control plane answers on ${socketPath}`);
  }
  await rm(socketPath, { force: true });
}

function listening(server: Server, listen: (done: () => void) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    listen(() => {
      server.off('error', reject);
      resolve();
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise<void>((done, fail) => {
    server.close((error) => (error ? fail(error) : done()));
    // Idle keep-alive connections would hold close() open until they time out.
    server.closeAllConnections();
  });
}
