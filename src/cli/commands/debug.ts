/**
 * `herd debug <instance> --reason "…" [--ttl 10m] [-- program args…]`: break-glass. A program (a
 * shell by default) in one instance, bridged to this terminal through the control plane, which
 * journals the reason, takes the instance out of service, records the session and destroys the
 * instance when it ends (src/debug/README.md). With a terminal on both ends it is interactive (raw
 * mode, resizes follow); with stdin piped, what is piped is the program's input.
 */

import {
  attachDebugSession,
  DebugQuery,
  type DebugTerminal,
  describeTarget,
  InstanceParams,
} from '../../server/index.js';
import { checkedArguments } from '../api-arguments.js';
import { cliErrorOf, controlPlaneTarget } from '../control-plane-client.js';
import { CliError } from '../errors.js';

export interface DebugOptions {
  reason?: string;
  ttl: string;
}

/** The program's exit code when it exited, else 1; 2 for herd's own errors (main.ts). */
export async function debugCommand(
  instance: string,
  command: string[],
  options: DebugOptions,
): Promise<number> {
  if (options.reason === undefined) {
    throw new CliError(
      'ARGUMENT_INVALID',
      'herd debug: --reason is required: say why, it goes into the journal',
    );
  }
  const ttlSeconds = ttlOf(options.ttl);
  const tty = process.stdin.isTTY === true && process.stdout.isTTY === true;
  const { id } = checkedArguments('herd debug', InstanceParams, { id: instance });
  const query = checkedArguments('herd debug', DebugQuery, {
    reason: options.reason,
    ttl: String(ttlSeconds),
    ...(command.length > 0 ? { command } : {}),
  });
  const target = controlPlaneTarget();
  if (target.kind === 'fetch')
    throw new CliError('ARGUMENT_INVALID', 'herd debug needs a control plane socket or URL');
  const where = describeTarget(target);
  const size = tty ? { columns: process.stdout.columns, rows: process.stdout.rows } : undefined;
  const newline = (text: string) => (tty ? text.replace(/\n/g, '\r\n') : text);
  const terminal: DebugTerminal = {
    input: process.stdin as AsyncIterable<Buffer>,
    stdout: (data) => process.stdout.write(data),
    stderr: (data) => process.stderr.write(data),
    notice: (text) => process.stderr.write(newline(`herd: ${text}`)),
    onResize: (listener) => {
      const resized = () => listener({ columns: process.stdout.columns, rows: process.stdout.rows });
      process.stdout.on('resize', resized);
      return () => process.stdout.off('resize', resized);
    },
  };
  if (tty) process.stdin.setRawMode(true);
  try {
    const end = await attachDebugSession(
      target,
      {
        instance: id,
        reason: query.reason,
        ttlSeconds: query.ttl,
        ...(query.command ? { command: query.command } : {}),
        tty,
        ...(size ? { size } : {}),
      },
      terminal,
    );
    const how =
      end.ended === 'exit'
        ? `the program exited with ${end.exitCode ?? 'an unknown code'}`
        : `ended: ${end.ended}`;
    process.stderr.write(
      newline(
        `herd: debug session ${end.session} ${how}; instance ${end.instance.slice(0, 12)} ${end.destroyed ? 'destroyed' : 'out of service, destroyed at the next start'}; transcript ${end.transcript ?? 'kept in HERD_HOME/debug'}\n`,
      ),
    );
    return end.ended === 'exit' ? (end.exitCode ?? 1) : 1;
  } catch (error) {
    throw cliErrorOf(error, where);
  } finally {
    if (tty) process.stdin.setRawMode(false);
    // Nothing more is read: a terminal left open would keep herd running.
    process.stdin.destroy();
  }
}

/** `10m`, `90s`, `1h` or a number of seconds. */
function ttlOf(text: string): number {
  const match = /^(\d{1,6})(s|m|h)?$/.exec(text.trim());
  if (!match) {
    throw new CliError(
      'ARGUMENT_INVALID',
      `herd debug: --ttl ${JSON.stringify(text)}: expected a duration such as 90s, 10m or 1h`,
    );
  }
  return Number(match[1]) * { s: 1, m: 60, h: 3600 }[(match[2] ?? 's') as 's' | 'm' | 'h'];
}
