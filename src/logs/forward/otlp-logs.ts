/**
 * OTLP/HTTP logs as JSON: the body of `POST /v1/logs`, built from lines as a pure function.
 * https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding (64-bit integers are decimal
 * strings, enums may be numbers) and opentelemetry-proto logs/v1/logs.proto for the shape.
 */
import type { LogEntry } from '../types.js';

interface KeyValue {
  key: string;
  value: { stringValue: string };
}

export interface OtlpLogRecord {
  timeUnixNano: string;
  observedTimeUnixNano: string;
  /** SEVERITY_NUMBER_INFO = 9, SEVERITY_NUMBER_ERROR = 17. */
  severityNumber: number;
  severityText: string;
  body: { stringValue: string };
  attributes: KeyValue[];
}

export interface OtlpLogsRequest {
  resourceLogs: {
    resource: { attributes: KeyValue[] };
    scopeLogs: { scope: { name: string }; logRecords: OtlpLogRecord[] }[];
  }[];
}

const severity = {
  stdout: { severityNumber: 9, severityText: 'INFO' },
  stderr: { severityNumber: 17, severityText: 'ERROR' },
} as const;

/** One resource per service (`service.name`), so collectors group the lines as they would a service's own. */
export function otlpLogsRequest(entries: readonly LogEntry[], observedAt: number): OtlpLogsRequest {
  const byService = new Map<string, OtlpLogRecord[]>();
  for (const entry of entries) {
    const records = byService.get(entry.service) ?? [];
    records.push({
      timeUnixNano: nanos(entry.time),
      observedTimeUnixNano: nanos(observedAt),
      ...severity[entry.stream],
      body: { stringValue: entry.text },
      attributes: [
        attribute('service', entry.service),
        attribute('instance', entry.instance),
        attribute('revision', entry.revision),
        attribute('log.iostream', entry.stream),
      ],
    });
    byService.set(entry.service, records);
  }
  return {
    resourceLogs: [...byService].map(([service, logRecords]) => ({
      resource: { attributes: [attribute('service.name', service)] },
      scopeLogs: [{ scope: { name: 'herd' }, logRecords }],
    })),
  };
}

function attribute(key: string, value: string): KeyValue {
  return { key, value: { stringValue: value } };
}

function nanos(ms: number): string {
  return `${BigInt(Math.round(ms)) * 1_000_000n}`;
}
