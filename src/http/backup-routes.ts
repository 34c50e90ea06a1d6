/**
 * The seed's backup API (seed 003), as durable workflow runs like `/transfer`:
 *   POST /sync            {"dataset": "...", "tables": "a,b" | ["a","b"], "date"?: "YYYY-MM-DD", "backup"?: "..."}
 *   POST /sync/{dataset}  {"tables"?: ..., "date"?: ..., "backup"?: ...}
 * → 200 {dataset, success, errors, tables: [...]} when the run finishes (a run with failed tables
 * is still a 200: `errors` counts them, as the seed's answer does).
 */
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { z } from 'zod';
import type { Config } from '../config';
import { parseRunDate } from '../config';
import { runUrl } from '../activities/notify';
import { describeFailure } from '../workflows/describe-failure';
import { configuredBackups, startBackup, today } from '../backup/starter';
import type { ApiResponse } from './server';

const TABLE = /^[A-Za-z0-9_]{1,1024}$/;
const tablesField = z
  .union([z.string().max(16_384), z.array(z.string().max(1024)).max(10_000)])
  .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((t) => t.trim()).filter(Boolean))
  .refine((list) => list.every((t) => TABLE.test(t)), "must be table ids (letters, digits, '_'), comma-separated or a list");
const syncBody = z.strictObject({
  dataset: z.string().regex(/^[A-Za-z0-9_]{1,1024}$/, "must be a BigQuery dataset id (letters, digits, '_')").optional(),
  tables: tablesField.optional(),
  date: z.string().optional(),
  backup: z.string().max(64).optional(),
});

const bad = (message: string): ApiResponse => ({ status: 400, body: { error: 'bad_request', message } });

/** Answers /sync routes; undefined for any other path. */
export async function backupRoute(method: string, path: string, body: () => unknown, client: Client, config: Config): Promise<ApiResponse | undefined> {
  const m = /^\/sync(?:\/([^/]+))?\/?$/.exec(path);
  if (!m) return undefined;
  if (method !== 'POST') return { status: 405, body: { error: 'method_not_allowed', message: `method: ${method} is not allowed on ${path}; use POST` }, headers: { allow: 'POST' } };
  let fromPath: string | undefined;
  try {
    fromPath = m[1] === undefined ? undefined : decodeURIComponent(m[1]);
  } catch {
    return bad('path: malformed percent-encoding in the dataset');
  }
  const raw = body();
  const parsed = syncBody.safeParse(raw ?? {});
  if (!parsed.success) return bad(parsed.error.issues.map((i) => `body${i.path.length ? `/${i.path.join('/')}` : ''}: ${i.message}`).join('; '));
  const dataset = fromPath ?? parsed.data.dataset;
  if (!dataset) return bad('body/dataset: required (or POST /sync/{dataset})');
  if (fromPath && !/^[A-Za-z0-9_]{1,1024}$/.test(fromPath)) return bad("path/dataset: must be a BigQuery dataset id (letters, digits, '_')");
  const all = configuredBackups(config);
  const candidates = Object.entries(all).filter(([name, b]) => (parsed.data.backup ? name === parsed.data.backup : b.dataset === dataset));
  if (candidates.length === 0) {
    return { status: 404, body: { error: 'unknown_dataset', message: `no backup is configured for dataset "${dataset}"${parsed.data.backup ? ` named "${parsed.data.backup}"` : ''}; configured: ${Object.values(all).map((b) => b.dataset).join(', ') || 'none'}` } };
  }
  if (candidates.length > 1) return bad(`body/backup: ${candidates.length} backups cover dataset "${dataset}" (${candidates.map(([n]) => n).join(', ')}); name one`);
  const [name, b] = candidates[0];
  if (b.dataset !== dataset) return bad(`body/backup: backup "${name}" backs up dataset "${b.dataset}", not "${dataset}"`);
  let date: string;
  try {
    date = parseRunDate(parsed.data.date ?? today());
  } catch (err) {
    return bad(`body/date: ${(err as Error).message}`);
  }
  const handle = await startBackup(client, config, { backup: name, date, tables: parsed.data.tables });
  try {
    const result = await handle.result();
    return { status: 200, body: { ...result, url: runUrl(config, handle.workflowId) } };
  } catch (err) {
    if (!(err instanceof WorkflowFailedError)) throw err;
    const f = describeFailure(err.cause);
    return { status: 502, body: { dataset, error: f.type, message: f.message, workflow_id: handle.workflowId } };
  }
}

const syncRequest = {
  type: 'object',
  additionalProperties: false,
  properties: {
    dataset: { type: 'string', description: 'the BigQuery dataset of a configured backup (POST /sync only)' },
    tables: { oneOf: [{ type: 'string', example: 'a,b' }, { type: 'array', items: { type: 'string' } }], description: 'only these tables (views are always skipped)' },
    date: { type: 'string', format: 'date', description: 'logical date (default today, UTC): the {date} folder' },
    backup: { type: 'string', description: 'the backup name, when several cover the dataset' },
  },
};
const syncAnswer = {
  description: "the seed's answer {dataset, success, errors, tables: [...]} (+ backup, date, destination, skipped_views, workflow_id, url); a run with failed tables is a 200 with errors > 0",
};
const syncErrors = {
  400: { description: 'invalid body; the message names the field' },
  404: { description: 'no backup is configured for the dataset' },
  405: { description: 'only POST' },
  502: { description: 'the run failed as a whole (e.g. the dataset is gone)' },
};

/** The /sync paths of the OpenAPI document. */
export const backupOpenApiPaths = {
  '/sync': { post: { summary: 'back a dataset up now (BackupWorkflow): tables → Parquet → destination', requestBody: { content: { 'application/json': { schema: { ...syncRequest, required: ['dataset'] } } } }, responses: { 200: syncAnswer, ...syncErrors } } },
  '/sync/{dataset}': {
    post: {
      summary: 'back this dataset up now (BackupWorkflow)',
      parameters: [{ name: 'dataset', in: 'path', required: true, schema: { type: 'string' } }],
      requestBody: { required: false, content: { 'application/json': { schema: syncRequest } } },
      responses: { 200: syncAnswer, ...syncErrors },
    },
  },
};
