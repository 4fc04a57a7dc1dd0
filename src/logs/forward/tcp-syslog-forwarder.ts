/**
 * Forwards lines as RFC 5424 messages over TCP with octet-counting framing (RFC 6587 §3.4.1). One
 * connection, opened when there is something to send and reopened after a failure with backoff.
 * Delivery is at most once: a message in flight when the connection breaks is not resent.
 */
import { connect, type Socket } from 'node:net';
import { hostname } from 'node:os';
import { backgroundClock, type Clock, type Logger } from '../../common/index.js';
import type { LogEntry, LogSink } from '../types.js';
import { BoundedQueue } from './bounded-queue.js';
import { formatSyslogMessage, frameOctetCounting } from './syslog-message.js';

export interface TcpSyslogForwarderOptions {
  host: string;
  port: number;
  clock?: Clock;
  log: Pick<Logger, 'info' | 'warn'>;
  /** Default 10 000 messages. */
  maxQueued?: number;
  /** Default 1000 ms, doubling to 30 s while the target stays away. */
  retryMs?: number;
  hostname?: string;
}

export class TcpSyslogForwarder implements LogSink {
  private readonly queue: BoundedQueue<Buffer>;
  private readonly clock: Clock;
  private readonly host: string;
  private socket: Socket | undefined;
  private connecting: Promise<Socket> | undefined;
  private pumping: Promise<void> | undefined;
  private retryAt = 0;
  private retryDelay: number;
  private cancelRetry: (() => void) | undefined;
  private failing = false;
  private closed = false;

  constructor(private readonly options: TcpSyslogForwarderOptions) {
    this.queue = new BoundedQueue(options.maxQueued ?? 10_000);
    this.clock = options.clock ?? backgroundClock;
    this.host = options.hostname ?? hostname();
    this.retryDelay = options.retryMs ?? 1000;
  }

  write(entries: readonly LogEntry[]): void {
    if (this.closed) return;
    for (const entry of entries) {
      this.queue.push(frameOctetCounting(formatSyslogMessage(entry, { hostname: this.host })));
    }
    this.pump();
  }

  /** Sends what is queued (giving up after `timeoutMs`), then closes the connection. */
  async close(options: { timeoutMs?: number } = {}): Promise<void> {
    this.closed = true;
    this.cancelRetry?.();
    const timeout = new Promise<void>((resolve) => this.clock.setTimer(options.timeoutMs ?? 2000, resolve));
    await Promise.race([this.pumping ?? Promise.resolve(), timeout]);
    const socket = this.socket;
    this.socket = undefined;
    if (socket) await new Promise<void>((resolve) => socket.end(resolve));
  }

  get droppedMessages(): number {
    return this.queue.dropped;
  }

  private pump(): void {
    if (this.pumping || this.clock.now() < this.retryAt) return;
    this.pumping = this.send().finally(() => {
      this.pumping = undefined;
      if (this.queue.length > 0 && !this.closed && this.clock.now() >= this.retryAt) this.pump();
    });
  }

  private async send(): Promise<void> {
    try {
      const socket = await this.connected();
      while (this.queue.length > 0) {
        const [frame] = this.queue.take(1);
        if (!socket.write(frame!)) await waitForDrain(socket);
      }
      if (this.failing) {
        this.failing = false;
        this.retryDelay = this.options.retryMs ?? 1000;
        this.options.log.info({ target: this.target() }, 'syslog forwarding resumed');
      }
    } catch (error) {
      this.socket?.destroy();
      this.socket = undefined;
      if (!this.failing) {
        this.options.log.warn(
          { target: this.target(), error: String(error) },
          'syslog forwarding failed; retrying with backoff',
        );
      }
      this.failing = true;
      this.retryAt = this.clock.now() + this.retryDelay;
      // The timer itself is the retry. It must not ask the clock whether the delay is over: a timer
      // may fire a millisecond before Date.now() says it is due, and pump() would then do nothing,
      // leaving the queue unsent until some later write.
      this.cancelRetry = this.clock.setTimer(this.retryDelay, () => {
        this.retryAt = 0;
        this.pump();
      });
      this.retryDelay = Math.min(this.retryDelay * 2, 30_000);
    }
  }

  private async connected(): Promise<Socket> {
    if (this.socket && !this.socket.destroyed) return this.socket;
    this.connecting ??= new Promise<Socket>((resolve, reject) => {
      const socket = connect({ host: this.options.host, port: this.options.port });
      socket.once('connect', () => {
        socket.off('error', reject);
        // A later error closes the socket; the next send sees it destroyed and reconnects.
        socket.on('error', () => socket.destroy());
        resolve(socket);
      });
      socket.once('error', reject);
    }).finally(() => {
      this.connecting = undefined;
    });
    this.socket = await this.connecting;
    return this.socket;
  }

  private target(): string {
    return `tcp://${this.options.host}:${this.options.port}`;
  }
}

function waitForDrain(socket: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    const onDrain = () => {
      socket.off('close', onClose);
      resolve();
    };
    const onClose = () => {
      socket.off('drain', onDrain);
      reject(new Error('syslog connection closed while sending'));
    };
    socket.once('drain', onDrain);
    socket.once('close', onClose);
  });
}
