import { z } from 'zod';
import { hasControlChars } from '../config/schema';

const gcsPath = z
  .string()
  .regex(/^gs:\/\/[^/]+\/.+/, 'must be gs://<bucket>/<path>')
  .refine((p) => !hasControlChars(p), 'must not contain control characters')
  .refine((p) => !p.slice('gs://'.length).split('/').some((s) => s === '.' || s === '..'), "must not contain '.' or '..' segments");
const date = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be YYYY-MM-DD');

export const transferBody = z.strictObject({ export_name: z.string().min(1).max(64), gcs_path: gcsPath, date: date.optional() });
export const startRunBody = z.strictObject({ date: date.optional() });

export type TransferBody = z.infer<typeof transferBody>;

/** A 400 body that names the field: `body/gcs_path: must be gs://<bucket>/<path>`. */
export function describeIssues(err: z.ZodError): string {
  return err.issues.map((i) => `body${i.path.length ? `/${i.path.join('/')}` : ''}: ${i.message}`).join('; ');
}
