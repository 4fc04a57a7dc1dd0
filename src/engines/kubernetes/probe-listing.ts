/**
 * The drift probe's output (probe/drift-probe.mjs), read: one JSON line per filesystem entry, then
 * a summary line that counts them. Pure. The log comes from the kubelet, which rotates a container's
 * log past its size limit and may lose its head or tail: a listing without its summary, with a
 * count that disagrees, or with any line that is not the probe's shape is an error naming the pod,
 * never an empty listing, which would read as "no drift".
 */
import { z } from 'zod';
import { EngineError } from '../engine.js';

/** One path the workload's process sees, as the probe read it. */
export interface ProbeEntry {
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'fifo' | 'socket';
  mode: number;
  uid: number;
  gid: number;
  size?: number;
  sha256?: string;
  target?: string;
  /** The probe could not read it (a file's bytes, a directory's names): compared by metadata only. */
  unreadable?: boolean;
}

export interface ProbeListing {
  entries: ProbeEntry[];
  /** The paths the probe was told to skip and met. */
  skipped: string[];
  /** The workload's pid in the pod's process namespace. */
  pid: number;
}

const ProbeEntry = z
  .object({
    path: z.string().startsWith('/'),
    type: z.enum(['file', 'dir', 'symlink', 'char', 'block', 'fifo', 'socket']),
    mode: z.number().int().min(0).max(0o7777),
    uid: z.number().int().nonnegative(),
    gid: z.number().int().nonnegative(),
    size: z.number().int().nonnegative().optional(),
    sha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/)
      .optional(),
    target: z.string().optional(),
    unreadable: z.literal(true).optional(),
  })
  .strict();

const ProbeSummary = z
  .object({
    summary: z
      .object({
        entries: z.number().int().nonnegative(),
        unreadable: z.number().int().nonnegative(),
        pid: z.number().int().positive(),
        skipped: z.array(z.string()),
      })
      .strict(),
  })
  .strict();

const ProbeFailure = z.object({ error: z.string() }).strict();

/** Pure: the listing in `log`, or EngineError OTHER saying what is wrong with it and naming `pod`. */
export function parseProbeListing(log: string, where: { pod: string; container: string }): ProbeListing {
  const from = `the drift probe ${where.container} of pod ${where.pod}`;
  const lines = log.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const entries: ProbeEntry[] = [];
  for (const [index, line] of lines.entries()) {
    const value = parseJson(line);
    // The probe prints JSON.stringify of each value: any other spelling of a line (a key twice, the
    // last of which JSON.parse keeps, as bytes written into the probe's output mid-line would make)
    // is not the probe's.
    if (value !== undefined && JSON.stringify(value) !== line) {
      throw new EngineError(
        'OTHER',
        `${from} printed line ${index + 1} that is not as the probe prints it: ${JSON.stringify(line.slice(0, 200))}; expected each line exactly as JSON.stringify spells its value (no key twice, no spaces)`,
      );
    }
    const failure = ProbeFailure.safeParse(value);
    if (failure.success) {
      throw new EngineError('OTHER', `${from} failed: ${failure.data.error.slice(0, 500)}`);
    }
    const summary = ProbeSummary.safeParse(value);
    if (summary.success) {
      if (index !== lines.length - 1) {
        throw new EngineError(
          'OTHER',
          `${from} printed ${lines.length - index - 1} lines after its summary (line ${index + 1}): expected the summary last`,
        );
      }
      const { entries: counted, pid, skipped } = summary.data.summary;
      if (counted !== entries.length) {
        throw new EngineError(
          'OTHER',
          `${from} listed ${entries.length} entries but its summary counts ${counted}: the log is incomplete (the kubelet rotates a large one)`,
        );
      }
      return { entries, pid, skipped };
    }
    const entry = ProbeEntry.safeParse(value);
    if (!entry.success) {
      throw new EngineError(
        'OTHER',
        `${from} printed line ${index + 1} that is not a listing entry: ${JSON.stringify(line.slice(0, 200))} (${entry.error.issues[0]?.path.join('.')}: ${entry.error.issues[0]?.message}); expected one JSON entry per line`,
      );
    }
    entries.push(entry.data);
  }
  throw new EngineError(
    'OTHER',
    `${from} printed ${entries.length} entries and no summary line: the listing is cut short; expected a summary line last`,
  );
}

function parseJson(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}
