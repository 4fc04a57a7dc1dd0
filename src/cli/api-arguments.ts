/**
 * A command's arguments checked with the fleet API's own schemas (../server/api-schemas.ts)
 * before anything is sent, so `herd scale web many` fails here, naming the argument, exactly as
 * the control plane would refuse it.
 */
import type { z } from 'zod';
import { describeProblems } from '../server/index.js';
import { CliError } from './errors.js';

export function checkedArguments<Schema extends z.ZodType>(
  command: string,
  schema: Schema,
  value: unknown,
): z.output<Schema> {
  const parsed = schema.safeParse(value, { reportInput: true });
  if (parsed.success) return parsed.data;
  throw new CliError('ARGUMENT_INVALID', `${command}: ${describeProblems(parsed.error)}`);
}
