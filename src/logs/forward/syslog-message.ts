/**
 * RFC 5424 syslog messages and RFC 6587 octet-counting frames, as pure functions.
 * https://www.rfc-editor.org/rfc/rfc5424#section-6 (format), #section-6.3 (structured data),
 * https://www.rfc-editor.org/rfc/rfc6587#section-3.4.1 (octet counting over TCP).
 */
import type { LogEntry } from '../types.js';

/** facility 1 = user-level messages (RFC 5424 §6.2.1). */
const facilityUser = 1;
/** stdout is informational (6), stderr is error (3): the closest a line's stream says. */
const severityOf = { stdout: 6, stderr: 3 } as const;
/**
 * The SD-ID's enterprise number is 32473, reserved for documentation (RFC 5612): herd has no
 * private enterprise number of its own.
 */
export const structuredDataId = 'herd@32473';

/** The UTF-8 BOM marks MSG as UTF-8 (RFC 5424 §6.4). */
const bom = '\u{feff}';

export function formatSyslogMessage(entry: LogEntry, options: { hostname: string }): string {
  const pri = facilityUser * 8 + severityOf[entry.stream];
  const timestamp = new Date(entry.time).toISOString();
  const header = [
    `<${pri}>1`,
    timestamp,
    headerField(options.hostname, 255),
    headerField(entry.service, 48),
    headerField(entry.instance, 128),
    headerField(entry.stream, 32),
  ].join(' ');
  const data = `[${structuredDataId} service="${paramValue(entry.service)}" instance="${paramValue(entry.instance)}" revision="${paramValue(entry.revision)}"]`;
  return `${header} ${data} ${bom}${entry.text}`;
}

/** `MSG-LEN SP SYSLOG-MSG`, MSG-LEN in octets. */
export function frameOctetCounting(message: string): Buffer {
  const body = Buffer.from(message, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length} `, 'ascii'), body]);
}

/**
 * One datagram per message (RFC 5426); longer messages are cut at a character boundary so the
 * datagram stays deliverable.
 */
export function datagramOf(message: string, maxBytes = 8192): Buffer {
  const body = Buffer.from(message, 'utf8');
  if (body.length <= maxBytes) return body;
  let end = maxBytes;
  // Back up over UTF-8 continuation bytes (10xxxxxx).
  while (end > 0 && (body[end]! & 0xc0) === 0x80) end--;
  return body.subarray(0, end);
}

/** Header fields are PRINTUSASCII without spaces, or "-" when empty (RFC 5424 §6.2). */
function headerField(value: string, maxLength: number): string {
  const cleaned = value.replace(/[^\x21-\x7e]/g, '_').slice(0, maxLength);
  return cleaned === '' ? '-' : cleaned;
}

/** `"`, `\` and `]` are escaped in PARAM-VALUE (RFC 5424 §6.3.3). */
function paramValue(value: string): string {
  return value.replace(/["\\\]]/g, (c) => `\\${c}`);
}
