/**
 * Forwards lines as RFC 5424 messages over UDP, one message per datagram (RFC 5426). UDP gives no
 * delivery guarantee; a send error is logged once per outage and the line is not retried.
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { hostname } from 'node:os';
import type { Logger } from '../../common/index.js';
import type { LogEntry, LogSink } from '../types.js';
import { datagramOf, formatSyslogMessage } from './syslog-message.js';

export interface UdpSyslogForwarderOptions {
  host: string;
  port: number;
  log: Pick<Logger, 'info' | 'warn'>;
  hostname?: string;
}

export class UdpSyslogForwarder implements LogSink {
  private readonly socket: Socket;
  private readonly host: string;
  private failing = false;
  private inFlight = 0;
  private closed = false;

  constructor(private readonly options: UdpSyslogForwarderOptions) {
    this.socket = createSocket(isIPv6(options.host) ? 'udp6' : 'udp4');
    this.socket.on('error', (error) => this.failed(error));
    this.socket.unref();
    this.host = options.hostname ?? hostname();
  }

  write(entries: readonly LogEntry[]): void {
    if (this.closed) return;
    for (const entry of entries) {
      this.inFlight++;
      const datagram = datagramOf(formatSyslogMessage(entry, { hostname: this.host }));
      this.socket.send(datagram, this.options.port, this.options.host, (error) => {
        this.inFlight--;
        if (error) this.failed(error);
        else if (this.failing) {
          this.failing = false;
          this.options.log.info({ target: this.target() }, 'syslog forwarding resumed');
        }
      });
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    // Sends complete quickly (no connection); wait for them so the last lines leave.
    for (let i = 0; i < 50 && this.inFlight > 0; i++) await new Promise((r) => setTimeout(r, 10));
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }

  private failed(error: Error): void {
    if (this.failing) return;
    this.failing = true;
    this.options.log.warn({ target: this.target(), error: String(error) }, 'syslog forwarding failed');
  }

  private target(): string {
    return `udp://${this.options.host}:${this.options.port}`;
  }
}
