/**
 * A route's params, query or JSON body, checked with a zod schema from api-schemas.ts before the
 * handler runs: 400 REQUEST_INVALID naming each wrong field, in the API's one error shape. The
 * validated value's type flows into the handler (`c.req.valid(target)`) and into the typed client.
 */
import type { ValidationTargets } from 'hono';
import { validator } from 'hono/validator';
import type { z } from 'zod';
import { apiError } from './api-error.js';
import { describeProblems } from './api-schemas.js';

const where = { param: 'path', query: 'query', json: 'body' } as const;

export function validate<Target extends 'param' | 'query' | 'json', Schema extends z.ZodType>(
  target: Target,
  schema: Schema,
) {
  return validator(target, (value: ValidationTargets[Target], c) => {
    const parsed = schema.safeParse(value, { reportInput: true });
    if (parsed.success) return parsed.data as z.output<Schema>;
    return c.json(apiError('REQUEST_INVALID', describeProblems(parsed.error, where[target])), 400);
  });
}
