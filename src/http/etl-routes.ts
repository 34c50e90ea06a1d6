/**
 * The ETL family's HTTP routes (seed 002), the CLI's `etl` verbs for services that don't speak
 * Temporal; every run is a durable EtlWorkflow like the CLI's:
 *   POST /etl/pipelines/{pipeline}/runs        {"run"?: "YYYYMMDD_HHMMSS"}  → 202 {workflow_id, run_id, url} (?wait=true: 200 with the result)
 *   GET  /etl/runs?pipeline=&limit=                                         → 200 {runs: [...]}, newest first
 *   GET  /etl/pipelines/{pipeline}/dlq?run=&limit=                          → 200 {dead_letters: [...], reasons} (from the pipeline's database)
 *   POST /etl/pipelines/{pipeline}/replay-dlq  {"run": "YYYYMMDD_HHMMSS"}   → 200 the replay's result (?wait=false: 202)
 * An unknown pipeline answers 404, a bad run id or limit 400 naming the field, a failed run 502.
 */
import { WorkflowFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { z } from 'zod';
import type { Config } from '../config';
import { runUrl } from '../activities/notify';
import { describeFailure } from '../workflows/describe-failure';
import { openEtlDb } from '../etl/db';
import { isRunStamp } from '../etl/naming';
import { startEtlReplay, startEtlRun } from '../etl/starter';
import type { ApiResponse } from './server';

const runId = z.string().refine(isRunStamp, 'must be a run id YYYYMMDD_HHMMSS (UTC)');
const runBody = z.strictObject({ run: runId.optional() });
const replayBody = z.strictObject({ run: runId });

const bad = (message: string): ApiResponse => ({ status: 400, body: { error: 'bad_request', message } });
const issues = (err: z.ZodError) => err.issues.map((i) => `body${i.path.length ? `/${i.path.join('/')}` : ''}: ${i.message}`).join('; ');

function decode(raw: string): string | undefined {
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}

/** `?wait=`: true/false or the route's default; undefined when it is neither */
function waitOf(query: URLSearchParams, dflt: boolean): boolean | undefined {
  const w = query.get('wait');
  return w === null ? dflt : w === 'true' ? true : w === 'false' ? false : undefined;
}

function limitOf(query: URLSearchParams, dflt: number, max: number): number | undefined {
  const v = query.get('limit');
  if (v === null) return dflt;
  return /^\d{1,7}$/.test(v) && Number(v) >= 1 && Number(v) <= max ? Number(v) : undefined;
}

function safeParse(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
}

async function answer(config: Config, handle: WorkflowHandle, wait: boolean): Promise<ApiResponse> {
  const { runId: temporalRunId } = await handle.describe();
  const url = runUrl(config, handle.workflowId, temporalRunId);
  const location = `/runs/${encodeURIComponent(handle.workflowId)}`;
  if (!wait) return { status: 202, headers: { location }, body: { workflow_id: handle.workflowId, run_id: temporalRunId, status_url: location, url } };
  try {
    const result = (await handle.result()) as object;
    return { status: 200, body: { ...result, workflow_id: handle.workflowId, url } };
  } catch (err) {
    if (!(err instanceof WorkflowFailedError)) throw err;
    const f = describeFailure(err.cause);
    return { status: 502, body: { error: f.type, message: f.message, workflow_id: handle.workflowId, url } };
  }
}

const ROUTES: [RegExp, string][] = [
  [/^\/etl\/runs$/, 'GET'],
  [/^\/etl\/pipelines\/[^/]+\/runs$/, 'POST'],
  [/^\/etl\/pipelines\/[^/]+\/dlq$/, 'GET'],
  [/^\/etl\/pipelines\/[^/]+\/replay-dlq$/, 'POST'],
];

/** Answers /etl/… routes; undefined for any other path. */
export async function etlRoute(method: string, path: string, body: () => unknown, query: URLSearchParams, client: Client, config: Config): Promise<ApiResponse | undefined> {
  if (path !== '/etl' && !path.startsWith('/etl/')) return undefined;
  const route = ROUTES.find(([re]) => re.test(path));
  if (!route) return { status: 404, body: { error: 'not_found', message: `no route ${method} ${path.length > 200 ? `${path.slice(0, 200)}…` : path}; see /openapi.json` } };
  if (method !== route[1]) return { status: 405, headers: { allow: route[1] }, body: { error: 'method_not_allowed', message: `method: ${method} is not allowed on ${path}; use ${route[1]}` } };

  if (path === '/etl/runs') {
    const limit = limitOf(query, 20, 1000);
    if (limit === undefined) return bad('query/limit: must be a whole number from 1 to 1000');
    const pipeline = query.get('pipeline');
    if (pipeline !== null && !config.etl.pipelines[pipeline]) return { status: 404, body: { error: 'unknown_pipeline', message: `query/pipeline: no pipeline "${pipeline.slice(0, 80)}" in etl.pipelines` } };
    const clauses = [`WorkflowType = 'EtlWorkflow'`];
    if (pipeline !== null) clauses.push(`WorkflowId STARTS_WITH 'etl-${pipeline}-'`);
    const runs: Record<string, unknown>[] = [];
    for await (const wf of client.workflow.list({ query: clauses.join(' AND ') })) {
      runs.push({ workflow_id: wf.workflowId, run_id: wf.runId, status: wf.status.name, start_time: wf.startTime.toISOString(), close_time: wf.closeTime?.toISOString(), url: runUrl(config, wf.workflowId, wf.runId) });
      if (runs.length >= limit) break;
    }
    return { status: 200, body: { runs } };
  }

  const name = decode(path.split('/')[3]);
  if (name === undefined) return bad('path/pipeline: malformed percent-encoding');
  const p = Object.prototype.hasOwnProperty.call(config.etl.pipelines, name) ? config.etl.pipelines[name] : undefined;
  if (!p) {
    const known = Object.keys(config.etl.pipelines);
    return { status: 404, body: { error: 'unknown_pipeline', message: `path/pipeline: no pipeline "${name.slice(0, 80)}" in etl.pipelines${known.length ? ` (known: ${known.join(', ')})` : ''}` } };
  }

  if (path.endsWith('/dlq')) {
    const run = query.get('run');
    if (run !== null && !isRunStamp(run)) return bad('query/run: must be a run id YYYYMMDD_HHMMSS (UTC)');
    const limit = limitOf(query, 100, 100_000);
    if (limit === undefined) return bad('query/limit: must be a whole number from 1 to 100000');
    const db = await openEtlDb(p.database, config.etl.sqlite_path);
    try {
      const rows = await db.deadLetters(name, run ?? undefined, limit);
      const reasons: Record<string, number> = {};
      for (const r of rows) reasons[r.rule] = (reasons[r.rule] ?? 0) + 1;
      const deadLetters = rows.map(({ data, ...r }) => ({ ...r, record: safeParse(data) }));
      return { status: 200, body: { pipeline: name, run: run ?? undefined, count: rows.length, truncated: rows.length >= limit, reasons, dead_letters: deadLetters } };
    } finally {
      await db.close();
    }
  }

  const isReplay = path.endsWith('/replay-dlq');
  const wait = waitOf(query, isReplay);
  if (wait === undefined) return bad('query/wait: must be true or false');
  const raw = body() ?? {};
  if (isReplay) {
    const parsed = replayBody.safeParse(raw);
    if (!parsed.success) return bad(issues(parsed.error));
    return answer(config, await startEtlReplay(client, config, { pipeline: name, stamp: parsed.data.run }), wait);
  }
  const parsed = runBody.safeParse(raw);
  if (!parsed.success) return bad(issues(parsed.error));
  return answer(config, await startEtlRun(client, config, { pipeline: name, stamp: parsed.data.run }), wait);
}

const pipelineParam = { name: 'pipeline', in: 'path', required: true, schema: { type: 'string' } };
const runParam = { name: 'run', in: 'query', required: false, schema: { type: 'string', example: '20250108_030000' } };
const limitParam = (d: number) => ({ name: 'limit', in: 'query', required: false, schema: { type: 'integer', default: d } });
const waitParam = (d: boolean) => ({ name: 'wait', in: 'query', required: false, schema: { type: 'string', enum: ['true', 'false'], default: String(d) } });
const runRequest = { type: 'object', additionalProperties: false, properties: { run: { type: 'string', example: '20250108_030000', description: 'the run id YYYYMMDD_HHMMSS (UTC; default now): the same id twice is one run, a finished one reruns and replaces its rows' } } };
const etlErrors = {
  400: { description: 'invalid run id, limit or body; the message names the field' },
  404: { description: 'no such pipeline in etl.pipelines' },
  405: { description: 'method not allowed on this path (see the Allow header)' },
};

/** The /etl paths of the OpenAPI document. */
export const etlOpenApiPaths = {
  '/etl/pipelines/{pipeline}/runs': {
    post: {
      summary: 'run a pipeline (EtlWorkflow): source → validate/dead letters → enrich → database + SFTP',
      parameters: [pipelineParam, waitParam(false)],
      requestBody: { required: false, content: { 'application/json': { schema: runRequest } } },
      responses: { 200: { description: 'wait=true: the result (counts raw/processed/dead_lettered, reasons by rule, files) + workflow_id, url' }, 202: { description: '{workflow_id, run_id, status_url, url}; poll GET /runs/{workflowId}' }, 502: { description: 'the run failed; error is the failure type' }, ...etlErrors },
    },
  },
  '/etl/runs': { get: { summary: 'ETL runs, newest first', parameters: [{ name: 'pipeline', in: 'query', required: false, schema: { type: 'string' } }, limitParam(20)], responses: { 200: { description: '{runs: [{workflow_id, run_id, status, start_time, close_time, url}]}' }, ...etlErrors } } },
  '/etl/pipelines/{pipeline}/dlq': { get: { summary: "a pipeline's dead letters with their reasons (from its database)", parameters: [pipelineParam, runParam, limitParam(100)], responses: { 200: { description: '{pipeline, run, count, truncated, reasons: {rule: n}, dead_letters: [{run_id, line, id, rule, error_reason, inserted_at, record}]}' }, ...etlErrors } } },
  '/etl/pipelines/{pipeline}/replay-dlq': {
    post: {
      summary: "re-validate a run's dead letters after a rule or lookup fix (EtlReplayDlqWorkflow)",
      parameters: [pipelineParam, waitParam(true)],
      requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['run'], additionalProperties: false, properties: { run: { type: 'string', example: '20250108_030000' } } } } } },
      responses: { 200: { description: '{replayed, recovered, still_dead, reasons, files} + workflow_id, url' }, 202: { description: 'wait=false: started' }, 502: { description: 'the replay failed (e.g. UnknownRun)' }, ...etlErrors },
    },
  },
};
