/**
 * Which forwarders to run, from settings (HERD_LOG_SYSLOG, HERD_LOG_OTLP or the control plane's
 * options). The URLs are checked here, at the edge; a bad one stops the start with a clear error
 * rather than silently forwarding nothing.
 */
import type { Clock, Logger } from '../../common/index.js';
import { LogError } from '../errors.js';
import type { LogSink } from '../types.js';
import { OtlpHttpForwarder } from './otlp-http-forwarder.js';
import { TcpSyslogForwarder } from './tcp-syslog-forwarder.js';
import { UdpSyslogForwarder } from './udp-syslog-forwarder.js';

export type ForwardTarget =
  | { kind: 'syslog-tcp'; host: string; port: number }
  | { kind: 'syslog-udp'; host: string; port: number }
  | { kind: 'otlp-http'; url: string };

/** `tcp://host:port` or `udp://host:port`. */
export function parseSyslogTarget(text: string): ForwardTarget {
  const url = parseUrl(text, 'syslog');
  const port = Number(url.port);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if ((url.protocol !== 'tcp:' && url.protocol !== 'udp:') || !host || !Number.isInteger(port) || port < 1) {
    throw new LogError(
      'TARGET_INVALID',
      `syslog target ${JSON.stringify(text)} is not usable: expected tcp://host:port or udp://host:port`,
    );
  }
  return { kind: url.protocol === 'tcp:' ? 'syslog-tcp' : 'syslog-udp', host, port };
}

/** An http(s) URL, the full path included (usually …/v1/logs). */
export function parseOtlpTarget(text: string): ForwardTarget {
  const url = parseUrl(text, 'OTLP');
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new LogError(
      'TARGET_INVALID',
      `OTLP target ${JSON.stringify(text)} is not usable: expected an http(s) URL like http://127.0.0.1:4318/v1/logs`,
    );
  }
  return { kind: 'otlp-http', url: url.toString() };
}

export function createForwarder(
  target: ForwardTarget,
  options: { log: Pick<Logger, 'info' | 'warn'>; clock?: Clock },
): LogSink {
  switch (target.kind) {
    case 'syslog-tcp':
      return new TcpSyslogForwarder({ host: target.host, port: target.port, ...options });
    case 'syslog-udp':
      return new UdpSyslogForwarder({ host: target.host, port: target.port, log: options.log });
    case 'otlp-http':
      return new OtlpHttpForwarder({ url: target.url, ...options });
  }
}

function parseUrl(text: string, what: string): URL {
  try {
    return new URL(text);
  } catch {
    throw new LogError('TARGET_INVALID', `${what} target ${JSON.stringify(text)} is not a URL`);
  }
}
