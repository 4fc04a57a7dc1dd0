/**
 * A fleet's stable endpoint: one HTTP listener per service that reverse-proxies to the instances the
 * controller calls ready, so instances can come and go behind it without clients noticing. A
 * leaving instance is drained first (no new requests, in-flight ones finish); a request whose
 * backend refused or reset the connection before answering is retried once elsewhere when it is
 * idempotent. Hop-by-hop handling follows RFC 9110 §7.6.1.
 */
import {
  Agent,
  type ClientRequest,
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  request,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Logger, reachesItself } from '../common/index.js';
import { HerdError } from '../herd-error.js';
import type { FrontDoorLoad } from './types.js';

export type FrontDoorErrorCode =
  /** Something else already listens on the front door's port. */
  | 'PORT_TAKEN'
  /** The listener could not be opened for another reason (permissions, bad host). */
  | 'LISTEN_FAILED'
  /** A connection to the door's own address reaches something else: a NAT rule takes it. */
  | 'PORT_HIJACKED';

export class FrontDoorError extends HerdError<FrontDoorErrorCode> {}

export interface BackendAddress {
  host: string;
  port: number;
}

export interface FrontDoorOptions {
  /** 0 picks a free port; `port` reports the one bound. */
  port: number;
  /** Defaults to 127.0.0.1: the front door is local unless the caller says otherwise. */
  host?: string;
  /** Sent as `retry-after` with the 503 given when no backend is ready. */
  retryAfterSeconds?: number;
  log?: Pick<Logger, 'warn'>;
}

const idempotentRetryable = new Set(['GET', 'HEAD']);
/** Connection failures that mean the backend never saw the request, or dropped a pooled socket. */
const connectFailures = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH']);
/** How long a backend that refused a connection is passed over while others are ready. */
const ejectMs = 1_000;
/** Below the usual server keep-alive of 5 s, so a pooled socket is dropped before the backend drops it. */
const idleSocketMs = 4_000;

/** RFC 9110 §7.6.1; `proxy-connection` and `keep-alive` are the legacy ones seen in the wild. */
const hopByHop = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

interface Backend {
  readonly key: string;
  readonly address: BackendAddress;
  readonly agent: Agent;
  inFlight: number;
  /** Requests sent to it (each try of a retried one), since it was added: the autoscaler's rate. */
  requests: number;
  /** The integral of `inFlight` over time in request-milliseconds, up to `countedAt`. */
  inFlightMs: number;
  /** Epoch ms `inFlightMs` was last brought up to date. */
  countedAt: number;
  /** Still listed by the last `setBackends`. */
  listed: boolean;
  /** Out of rotation until a `setBackends` no longer lists it. */
  draining: boolean;
  ejectedUntil: number;
  readonly idleWaiters: Set<() => void>;
}

export class FrontDoor {
  readonly service: string;
  readonly host: string;
  readonly port: number;
  readonly #server: Server;
  readonly #retryAfter: string;
  readonly #log: Pick<Logger, 'warn'> | undefined;
  /** Listed backends plus unlisted ones that still have requests in flight. */
  readonly #backends = new Map<string, Backend>();
  #next = 0;
  #closed = false;

  private constructor(service: string, server: Server, options: FrontDoorOptions) {
    this.service = service;
    this.#server = server;
    this.host = options.host ?? '127.0.0.1';
    this.port = (server.address() as AddressInfo).port;
    this.#retryAfter = String(options.retryAfterSeconds ?? 1);
    this.#log = options.log;
  }

  static async open(service: string, options: FrontDoorOptions): Promise<FrontDoor> {
    const host = options.host ?? '127.0.0.1';
    // A port a NAT rule takes elsewhere (common/reaches-itself.ts) would send the fleet's traffic
    // to whatever the rule names: on any port, it is kept bound and another taken; on a given
    // port, the door refuses to open there.
    const hijacked: Server[] = [];
    let server: Server;
    try {
      for (let attempt = 1; ; attempt += 1) {
        server = await FrontDoor.listen(service, host, options.port);
        const { port } = server.address() as AddressInfo;
        if (await reachesItself(server, { host, port })) break;
        hijacked.push(server);
        if (options.port || attempt >= 5) {
          throw new FrontDoorError(
            'PORT_HIJACKED',
            `front door for service ${service}: a connection to ${host}:${port} does not reach it: a firewall rule, such as a container engine's forward of a published port left by a container that is gone, sends it elsewhere; expected a port no NAT rule takes`,
          );
        }
      }
    } finally {
      for (const door of hijacked) door.close();
    }
    const door = new FrontDoor(service, server, options);
    server.on('request', (req, res) => door.#proxy(req, res));
    return door;
  }

  private static async listen(service: string, host: string, port: number): Promise<Server> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) => {
        reject(
          error.code === 'EADDRINUSE'
            ? new FrontDoorError(
                'PORT_TAKEN',
                `front door for service ${service}: port ${port} on ${host} is already in use, expected a free port`,
                { cause: error },
              )
            : new FrontDoorError(
                'LISTEN_FAILED',
                `front door for service ${service}: cannot listen on ${host}:${port}: ${error.code ?? error.message}`,
                { cause: error },
              ),
        );
      });
      server.listen(port, host, () => resolve());
    });
    return server;
  }

  get url(): string {
    return `http://${this.host.includes(':') ? `[${this.host}]` : this.host}:${this.port}`;
  }

  /**
   * The ready instances, replacing the previous list. A drained address stays out of rotation for
   * as long as it is listed, so a resync that still sees the leaving instance cannot bring it back.
   */
  setBackends(addresses: readonly BackendAddress[]): void {
    const wanted = new Map(addresses.map((address) => [keyOf(address), address]));
    for (const backend of this.#backends.values()) {
      if (wanted.has(backend.key)) continue;
      backend.listed = false;
      this.#forgetIfIdle(backend);
    }
    for (const [key, address] of wanted) {
      const known = this.#backends.get(key);
      if (known?.listed) continue;
      if (known) {
        // It had left and comes back before its last requests ended: a fresh start, not a drained one.
        known.listed = true;
        known.draining = false;
        continue;
      }
      this.#backends.set(key, {
        key,
        address: { host: address.host, port: address.port },
        agent: new Agent({ keepAlive: true, timeout: idleSocketMs }),
        inFlight: 0,
        requests: 0,
        inFlightMs: 0,
        countedAt: Date.now(),
        listed: true,
        draining: false,
        ejectedUntil: 0,
        idleWaiters: new Set(),
      });
    }
  }

  /**
   * Takes `address` out of rotation at once, and resolves when its in-flight requests have ended or
   * `timeoutMs` has passed, whichever comes first. The caller stops the instance afterwards.
   */
  drain(address: BackendAddress, options: { timeoutMs: number }): Promise<void> {
    const backend = this.#backends.get(keyOf(address));
    if (!backend) return Promise.resolve();
    backend.draining = true;
    if (backend.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        backend.idleWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, options.timeoutMs);
      backend.idleWaiters.add(done);
    });
  }

  /** The backends new requests go to: listed and not draining. */
  serving(): BackendAddress[] {
    return [...this.#backends.values()]
      .filter((backend) => backend.listed && !backend.draining)
      .map((backend) => ({ ...backend.address }));
  }

  /**
   * What each backend was sent so far, for the autoscaler: counters that only grow while the backend
   * is known (one forgotten and added again starts from 0), read twice to get a rate.
   */
  load(): FrontDoorLoad {
    const at = Date.now();
    const backends = [...this.#backends.values()].map((backend) => {
      countInFlight(backend, at);
      const { host, port } = backend.address;
      return {
        host,
        port,
        requests: backend.requests,
        inFlight: backend.inFlight,
        inFlightMs: backend.inFlightMs,
      };
    });
    return { at, backends };
  }

  /** In-flight requests per backend (`host:port`), for status pages and tests. */
  inFlight(): Record<string, number> {
    return Object.fromEntries([...this.#backends.values()].map((b) => [b.key, b.inFlight]));
  }

  /**
   * Stops accepting, lets in-flight requests run for up to `timeoutMs` (default 0), then cuts what
   * is left and releases every pooled backend connection.
   */
  async close(options: { timeoutMs?: number } = {}): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeIdleConnections();
    const deadline = Date.now() + (options.timeoutMs ?? 0);
    while (this.#totalInFlight() > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    this.#server.closeAllConnections();
    await closed;
    for (const backend of this.#backends.values()) backend.agent.destroy();
    this.#backends.clear();
  }

  #totalInFlight(): number {
    let total = 0;
    for (const backend of this.#backends.values()) total += backend.inFlight;
    return total;
  }

  /**
   * Least in-flight requests first, round-robin among equals, so slow backends get fewer new
   * requests and an idle fleet still spreads evenly. A backend that just refused a connection is
   * used only when nothing else is left.
   */
  #pick(exclude?: Backend): Backend | undefined {
    const ready = [...this.#backends.values()].filter((b) => b.listed && !b.draining);
    if (ready.length === 0) return undefined;
    const now = Date.now();
    const others = ready.filter((b) => b !== exclude);
    const healthy = others.filter((b) => b.ejectedUntil <= now);
    const pool = healthy.length > 0 ? healthy : others.length > 0 ? others : ready;
    const start = this.#next++ % pool.length;
    let best: Backend | undefined;
    for (let i = 0; i < pool.length; i++) {
      const candidate = pool[(start + i) % pool.length]!;
      if (!best || candidate.inFlight < best.inFlight) best = candidate;
    }
    return best;
  }

  #release(backend: Backend): void {
    countInFlight(backend, Date.now());
    backend.inFlight--;
    if (backend.inFlight > 0) return;
    for (const wake of [...backend.idleWaiters]) wake();
    this.#forgetIfIdle(backend);
  }

  #forgetIfIdle(backend: Backend): void {
    if (backend.listed || backend.inFlight > 0) return;
    this.#backends.delete(backend.key);
    backend.agent.destroy();
  }

  #proxy(req: IncomingMessage, res: ServerResponse): void {
    const method = req.method ?? 'GET';
    // Only a bodiless GET/HEAD can be replayed: its whole request is known before the first try.
    const replayable =
      idempotentRetryable.has(method) &&
      req.headers['content-length'] === undefined &&
      req.headers['transfer-encoding'] === undefined;
    const headers = forwardHeaders(req);
    let clientGone = false;
    res.on('close', () => {
      clientGone = true;
    });

    const attempt = (backend: Backend, retriesLeft: number) => {
      countInFlight(backend, Date.now());
      backend.inFlight++;
      backend.requests++;
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        this.#release(backend);
      };
      let upstream: ClientRequest;
      try {
        upstream = request({
          host: backend.address.host,
          port: backend.address.port,
          method,
          path: req.url ?? '/',
          headers,
          agent: backend.agent,
        });
      } catch (error) {
        release();
        this.#fail(res, 502, error);
        return;
      }
      let answered = false;
      const abandon = () => {
        if (!res.writableFinished) upstream.destroy();
      };
      res.once('close', abandon);

      upstream.on('response', (upstreamRes) => {
        answered = true;
        const status = upstreamRes.statusCode ?? 502;
        res.writeHead(status, upstreamRes.statusMessage, backHeaders(upstreamRes.headers));
        upstreamRes.pipe(res);
        upstreamRes.on('error', () => res.destroy());
        res.once('close', release);
      });
      upstream.on('error', (error: NodeJS.ErrnoException) => {
        res.off('close', abandon);
        if (answered) {
          // Part of the response is out already: the only honest signal left is a cut connection.
          res.destroy();
          release();
          return;
        }
        release();
        if (clientGone) return;
        const code = error.code ?? '';
        if (code === 'ECONNREFUSED') backend.ejectedUntil = Date.now() + ejectMs;
        const next =
          replayable && retriesLeft > 0 && connectFailures.has(code) ? this.#pick(backend) : undefined;
        this.#log?.warn(
          { service: this.service, backend: backend.key, code, retried: next !== undefined },
          'front door backend connection failed',
        );
        if (next) attempt(next, retriesLeft - 1);
        else this.#fail(res, 502, error);
      });

      if (replayable) upstream.end();
      else req.pipe(upstream);
    };

    const backend = this.#pick();
    if (!backend) {
      req.resume();
      res.writeHead(503, { 'retry-after': this.#retryAfter, 'content-type': 'text/plain; charset=utf-8' });
      res.end(`no ready instance of service ${this.service}\n`);
      return;
    }
    attempt(backend, 1);
  }

  #fail(res: ServerResponse, status: number, error: unknown): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const reason = (error as NodeJS.ErrnoException).code ?? 'error';
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(`bad gateway: service ${this.service} backend failed (${reason})\n`);
  }
}

/**
 * One front door per service, under the names the fleet controller calls. Backends set before a
 * service's door is open are kept and applied when it opens, so wiring order does not matter; a
 * service without a door (no published port) just has its calls recorded.
 */
export class FrontDoors {
  readonly #doors = new Map<string, FrontDoor>();
  readonly #opening = new Map<string, Promise<FrontDoor>>();
  readonly #pending = new Map<string, BackendAddress[]>();
  readonly #host: string | undefined;
  readonly #drainTimeoutMs: number;
  readonly #log: Pick<Logger, 'warn'> | undefined;

  constructor(options: { host?: string; drainTimeoutMs?: number; log?: Pick<Logger, 'warn'> } = {}) {
    this.#host = options.host;
    this.#drainTimeoutMs = options.drainTimeoutMs ?? 30_000;
    this.#log = options.log;
  }

  /** Opens the service's door, or returns the one already open (or opening). */
  open(service: string, options: { port: number }): Promise<FrontDoor> {
    const existing = this.#doors.get(service);
    if (existing) return Promise.resolve(existing);
    // Two callers racing to open the same service must share one listener, not bind two.
    let opening = this.#opening.get(service);
    if (!opening) {
      opening = FrontDoor.open(service, {
        port: options.port,
        ...(this.#host === undefined ? {} : { host: this.#host }),
        ...(this.#log === undefined ? {} : { log: this.#log }),
      })
        .then((door) => {
          this.#doors.set(service, door);
          door.setBackends(this.#pending.get(service) ?? []);
          this.#pending.delete(service);
          return door;
        })
        .finally(() => this.#opening.delete(service));
      this.#opening.set(service, opening);
    }
    return opening;
  }

  get(service: string): FrontDoor | undefined {
    return this.#doors.get(service);
  }

  setBackends(service: string, addresses: readonly BackendAddress[]): void {
    const door = this.#doors.get(service);
    if (door) door.setBackends(addresses);
    else this.#pending.set(service, [...addresses]);
  }

  /** What the service's door sends new requests to now (the pending list before it opens). */
  serving(service: string): BackendAddress[] {
    const door = this.#doors.get(service);
    return door ? door.serving() : [...(this.#pending.get(service) ?? [])];
  }

  /** What the service's door sent each backend so far; undefined before it opens. */
  load(service: string): FrontDoorLoad | undefined {
    return this.#doors.get(service)?.load();
  }

  /** Waits `options.timeoutSeconds` at most, else the registry's `drainTimeoutMs`. */
  drain(service: string, address: BackendAddress, options?: { timeoutSeconds: number }): Promise<void> {
    const door = this.#doors.get(service);
    if (!door) {
      const pending = this.#pending.get(service);
      if (pending)
        this.#pending.set(
          service,
          pending.filter((a) => keyOf(a) !== keyOf(address)),
        );
      return Promise.resolve();
    }
    const timeoutMs = options === undefined ? this.#drainTimeoutMs : options.timeoutSeconds * 1000;
    return door.drain(address, { timeoutMs });
  }

  async close(service: string, options: { timeoutMs?: number } = {}): Promise<void> {
    const door = this.#doors.get(service);
    this.#doors.delete(service);
    this.#pending.delete(service);
    await door?.close(options);
  }

  async closeAll(options: { timeoutMs?: number } = {}): Promise<void> {
    await Promise.all([...this.#doors.keys()].map((service) => this.close(service, options)));
  }
}

/** Brings the in-flight integral up to `now`: called before every change of `inFlight`, and to read it. */
function countInFlight(backend: Backend, now: number): void {
  backend.inFlightMs += backend.inFlight * (now - backend.countedAt);
  backend.countedAt = now;
}

function keyOf(address: BackendAddress): string {
  return `${address.host}:${address.port}`;
}

/** Names listed in `Connection` are hop-by-hop for this message too (RFC 9110 §7.6.1). */
function hopByHopOf(headers: IncomingHttpHeaders): Set<string> {
  const names = new Set(hopByHop);
  const connection = headers.connection;
  if (connection) {
    for (const name of connection.split(',')) names.add(name.trim().toLowerCase());
  }
  return names;
}

function forwardHeaders(req: IncomingMessage): IncomingHttpHeaders {
  const drop = hopByHopOf(req.headers);
  const headers: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (!drop.has(name)) headers[name] = value;
  }
  // The front door has already answered `expect: 100-continue` to the client itself.
  delete headers.expect;
  const client = req.socket.remoteAddress ?? 'unknown';
  const prior = req.headers['x-forwarded-for'];
  headers['x-forwarded-for'] = prior ? `${prior}, ${client}` : client;
  headers['x-forwarded-proto'] ??= 'http';
  if (req.headers.host !== undefined) headers['x-forwarded-host'] ??= req.headers.host;
  return headers;
}

function backHeaders(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const drop = hopByHopOf(headers);
  const kept: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!drop.has(name)) kept[name] = value;
  }
  return kept;
}
