/** The project's one zod gate: a value that fails its schema is a DpdkError 'EINVAL' naming the field. */
import type { z } from 'zod';
import { dpdkError } from './errors';

export function validate<T>(schema: z.ZodType<T>, value: unknown, op: string, what: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const where = issue && issue.path.length > 0 ? `.${issue.path.join('.')}` : '';
  throw dpdkError('EINVAL', op, `invalid ${what}${where}: ${issue?.message ?? 'invalid'}`);
}
