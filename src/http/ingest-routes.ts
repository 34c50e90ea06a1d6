/**
 * The ingest family's HTTP API under the seed's base path `/data/api/v1`: jobs (start, list,
 * status, cancel) and data availability, per tenant (`X-Tenant-Id`). A token may be limited to
 * some tenants (`ingest.api_tokens`); asking for another tenant answers 403 whether or not that
 * tenant exists. `http.auth_token` may act for every tenant; with no token configured the API is open.
 */
import type http from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { WorkflowFailedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { z } from 'zod';
import type { Config } from '../config';
import { runUrl } from '../activities/notify';
import { postgresPool, postgresSettings } from '../postgres/client';
import { availability, availabilityBreakdown, getJob, listJobs } from '../ingest/jobs-repo';
import { JOB_ID_PATTERN, JOB_STATUSES, type IngestJob, type JobStatus } from '../ingest/job';
import { buildIngestInput, IngestInputError, startIngestJob } from '../ingest/start';
import { ingestConfig, isEventType } from '../ingest/tenants';
import { isRunDate } from '../config/date';
import type { EventType } from '../ingest/event-types';

export const INGEST_BASE_PATH = '/data/api/v1';

interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

class IngestHttpError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

const startBody = z.strictObject({
  start_date: z.string({ error: 'is required, as YYYY-MM-DD' }),
  end_date: z.string({ error: 'is required, as YYYY-MM-DD' }),
  data_types: z.array(z.string()).optional(),
  event_types: z.array(z.string()).optional(),
});

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

const ALLOW: [RegExp, string][] = [
  [/^\/ingest\/start$/, 'POST'],
  [/^\/ingest\/jobs$/, 'GET'],
  [/^\/ingest\/[^/]+\/cancel$/, 'POST'],
  [/^\/ingest\/[^/]+$/, 'GET'],
  [/^\/availability$/, 'GET'],
  [/^\/availability\/breakdown$/, 'GET'],
];

export function createIngestRoutes(deps: { config: Config; client: Client }) {
  const { config, client } = deps;
  const pool = () => postgresPool(postgresSettings(config));

  /** The tenants the request's bearer token may act for (`*`: all), or a 401. */
  function allowedTenants(headers: http.IncomingHttpHeaders): '*' | string[] {
    const admin = config.http.auth_token;
    const limited = Object.values(ingestConfig(config).api_tokens);
    if (!admin && limited.length === 0) return '*';
    const auth = headers.authorization;
    const given = auth?.startsWith('Bearer ') ? auth.slice(7) : undefined;
    if (given !== undefined) {
      if (admin && same(given, admin)) return '*';
      const tenants = new Set<string>();
      for (const t of limited) if (same(given, t.token)) t.tenants.forEach((x) => tenants.add(x));
      if (tenants.size) return [...tenants];
    }
    throw new IngestHttpError(401, 'unauthorized', 'send Authorization: Bearer <token> (http.auth_token or one of ingest.api_tokens)');
  }

  function tenantOf(headers: http.IncomingHttpHeaders, allowed: '*' | string[]): string {
    const raw = headers['x-tenant-id'];
    const tenant = Array.isArray(raw) ? raw[0] : raw;
    if (!tenant || tenant.trim() === '') throw new IngestHttpError(400, 'bad_request', 'header/X-Tenant-Id: required: the tenant the request is for');
    if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/.test(tenant)) throw new IngestHttpError(400, 'bad_request', "header/X-Tenant-Id: must be a tenant ID (1-64 letters, digits, '_' or '-')");
    // permission before existence: a token never learns whether another tenant exists
    if (allowed !== '*' && !allowed.includes(tenant)) throw new IngestHttpError(403, 'forbidden', 'header/X-Tenant-Id: this token may not act for that tenant');
    if (!Object.prototype.hasOwnProperty.call(ingestConfig(config).tenants, tenant)) {
      throw new IngestHttpError(404, 'unknown_tenant', `header/X-Tenant-Id: unknown tenant "${tenant}"`);
    }
    return tenant;
  }

  function intParam(q: URLSearchParams, name: string, def: number, max: number): number {
    const v = q.get(name);
    if (v === null) return def;
    if (!/^\d{1,7}$/.test(v) || Number(v) > max) throw new IngestHttpError(400, 'bad_request', `query/${name}: must be a whole number from 0 to ${max}`);
    return Number(v);
  }

  function dateParam(q: URLSearchParams, name: string): string | undefined {
    const v = q.get(name);
    if (v === null) return undefined;
    if (!isRunDate(v)) throw new IngestHttpError(400, 'bad_request', `query/${name}: must be a date YYYY-MM-DD`);
    return v;
  }

  function eventTypesParam(q: URLSearchParams): EventType[] | undefined {
    const v = q.get('event_types');
    if (v === null) return undefined;
    const list = v.split(',').map((s) => s.trim());
    const bad = list.find((t) => !isEventType(t));
    if (bad !== undefined) throw new IngestHttpError(400, 'bad_request', `query/event_types: unknown event type ${JSON.stringify(bad.slice(0, 40))}`);
    return list.filter(isEventType);
  }

  async function jobOf(tenant: string, rawId: string): Promise<IngestJob> {
    let jobId: string;
    try {
      jobId = decodeURIComponent(rawId);
    } catch {
      throw new IngestHttpError(400, 'bad_request', 'path/job_id: malformed percent-encoding');
    }
    if (!JOB_ID_PATTERN.test(jobId)) throw new IngestHttpError(404, 'unknown_job', `path/job_id: no job ${JSON.stringify(jobId.slice(0, 80))}`);
    const job = await getJob(pool(), jobId);
    // another tenant's job is as unknown as a job that does not exist
    if (!job || job.tenant_id !== tenant) throw new IngestHttpError(404, 'unknown_job', `path/job_id: no job ${jobId} for this tenant`);
    return job;
  }

  async function urlOf(jobId: string): Promise<string | undefined> {
    try {
      const d = await client.workflow.getHandle(jobId).describe();
      return runUrl(config, jobId, d.runId);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw err;
    }
  }

  async function route(method: string, sub: string, q: URLSearchParams, tenant: string, body: () => unknown): Promise<Reply> {
    if (method === 'POST' && sub === '/ingest/start') {
      const parsed = startBody.safeParse(body());
      if (!parsed.success) {
        throw new IngestHttpError(400, 'bad_request', parsed.error.issues.map((i) => `body${i.path.length ? `/${i.path.join('/')}` : ''}: ${i.message}`).join('; '));
      }
      let input;
      try {
        input = buildIngestInput(config, { tenant, ...parsed.data });
      } catch (err) {
        if (err instanceof IngestInputError) throw new IngestHttpError(err.status, err.status === 404 ? 'unknown_tenant' : 'bad_request', `body/${err.message}`);
        throw err;
      }
      const handle = await startIngestJob(client, config, input);
      const { runId } = await handle.describe();
      const job: IngestJob = {
        job_id: input.job_id,
        tenant_id: tenant,
        status: 'queued',
        data_types: input.data_types,
        start_date: input.start_date,
        end_date: input.end_date,
        records_processed: {},
        created_at: new Date().toISOString(),
      };
      return { status: 202, body: { ...job, url: runUrl(config, input.job_id, runId) } };
    }
    if (method === 'GET' && sub === '/ingest/jobs') {
      const status = q.get('status');
      if (status !== null && !JOB_STATUSES.includes(status as JobStatus)) throw new IngestHttpError(400, 'bad_request', `query/status: must be one of ${JOB_STATUSES.join(', ')}`);
      const limit = Math.max(1, intParam(q, 'limit', 20, 200));
      const offset = intParam(q, 'offset', 0, 1_000_000);
      const r = await listJobs(pool(), { tenants: [tenant], status: (status ?? undefined) as JobStatus | undefined, limit, offset });
      return { status: 200, body: { ...r, limit, offset } };
    }
    const cancel = /^\/ingest\/([^/]+)\/cancel$/.exec(sub);
    if (method === 'POST' && cancel) {
      const job = await jobOf(tenant, cancel[1]);
      if (job.status === 'completed' || job.status === 'failed') throw new IngestHttpError(409, 'not_running', `job ${job.job_id} is ${job.status}; nothing to cancel`);
      const handle = client.workflow.getHandle(job.job_id);
      await handle.cancel();
      const done = await Promise.race([
        handle.result().then(
          (r: IngestJob) => r,
          (err: unknown) => ((err instanceof WorkflowFailedError ? (err.cause as { details?: unknown[] })?.details?.[0] : undefined) as IngestJob | undefined),
        ),
        new Promise<undefined>((r) => setTimeout(() => r(undefined), 30_000).unref()),
      ]);
      return { status: done ? 200 : 202, body: done ?? { ...job, status: job.status, message: 'cancel requested; the job stops at its activities next heartbeat' } };
    }
    const one = /^\/ingest\/([^/]+)$/.exec(sub);
    if (method === 'GET' && one) {
      const job = await jobOf(tenant, one[1]);
      return { status: 200, body: { ...job, url: await urlOf(job.job_id) } };
    }
    if (method === 'GET' && sub === '/availability') {
      return { status: 200, body: { tenant_id: tenant, event_types: await availability(pool(), tenant, eventTypesParam(q)) } };
    }
    if (method === 'GET' && sub === '/availability/breakdown') {
      const from = dateParam(q, 'start_date') ?? dateParam(q, 'from');
      const to = dateParam(q, 'end_date') ?? dateParam(q, 'to');
      if (from && to && to < from) throw new IngestHttpError(400, 'bad_request', `query/end_date: ${to} is before start_date ${from}`);
      return { status: 200, body: { tenant_id: tenant, dates: await availabilityBreakdown(pool(), tenant, { types: eventTypesParam(q), from, to }) } };
    }
    const allow = ALLOW.find(([re]) => re.test(sub))?.[1];
    if (allow) throw new IngestHttpError(405, 'method_not_allowed', `method: ${method} is not allowed on ${INGEST_BASE_PATH}${sub}; use ${allow}`);
    throw new IngestHttpError(404, 'not_found', `no route ${method} ${INGEST_BASE_PATH}${sub.slice(0, 200)}; see /openapi.json`);
  }

  /** Handles every request under /data/api/v1 (auth included). */
  async function handle(method: string, url: string, headers: http.IncomingHttpHeaders, body: () => unknown): Promise<Reply> {
    const u = new URL(url, 'http://x');
    const sub = u.pathname.slice(INGEST_BASE_PATH.length) || '/';
    try {
      const allowed = allowedTenants(headers);
      const known = ALLOW.some(([re]) => re.test(sub));
      if (!known) throw new IngestHttpError(404, 'not_found', `no route ${method} ${u.pathname.slice(0, 200)}; see /openapi.json`);
      const tenant = tenantOf(headers, allowed);
      return await route(method, sub, u.searchParams, tenant, body);
    } catch (err) {
      if (err instanceof IngestHttpError) {
        const r: Reply = { status: err.status, body: { error: err.code, message: err.message } };
        if (err.status === 405) r.headers = { allow: ALLOW.find(([re]) => re.test(sub))?.[1] ?? 'GET' };
        return r;
      }
      throw err;
    }
  }

  return { handle };
}

const error = { type: 'object', properties: { error: { type: 'string' }, message: { type: 'string' } }, required: ['error', 'message'] };
const errs = (extra: Record<number, string> = {}) =>
  Object.fromEntries(
    Object.entries({ 400: 'invalid request; the message names the field', 401: 'missing or wrong bearer token', 403: 'the token may not act for that tenant', 404: 'unknown tenant, job or route', ...extra }).map(([k, d]) => [
      k,
      { description: d, content: { 'application/json': { schema: error } } },
    ]),
  );
const tenantHeader = { name: 'X-Tenant-Id', in: 'header', required: true, schema: { type: 'string' } };
const job = {
  type: 'object',
  properties: {
    job_id: { type: 'string', example: 'job_20250131_abc123' },
    tenant_id: { type: 'string' },
    status: { type: 'string', enum: JOB_STATUSES },
    data_types: { type: 'array', items: { type: 'string', enum: ['events', 'users', 'locations'] } },
    start_date: { type: 'string', format: 'date' },
    end_date: { type: 'string', format: 'date' },
    records_processed: { type: 'object', additionalProperties: { type: 'integer' } },
    created_at: { type: 'string', format: 'date-time' },
    started_at: { type: 'string', format: 'date-time' },
    completed_at: { type: 'string', format: 'date-time' },
    error_message: { type: 'string' },
  },
};

/** The ingest routes for the OpenAPI document. */
export const ingestOpenApiPaths = {
  [`${INGEST_BASE_PATH}/ingest/start`]: {
    post: {
      summary: 'start an ingest job (IngestWorkflow)',
      parameters: [tenantHeader],
      requestBody: {
        required: true,
        content: {
          'application/json': {
            schema: {
              type: 'object',
              required: ['start_date', 'end_date'],
              additionalProperties: false,
              properties: {
                start_date: { type: 'string', format: 'date' },
                end_date: { type: 'string', format: 'date' },
                data_types: { type: 'array', items: { type: 'string', enum: ['events', 'users', 'locations'] } },
                event_types: { type: 'array', items: { type: 'string' } },
              },
            },
          },
        },
      },
      responses: { 202: { description: 'the queued job + url', content: { 'application/json': { schema: job } } }, ...errs() },
    },
  },
  [`${INGEST_BASE_PATH}/ingest/jobs`]: {
    get: {
      summary: "the tenant's jobs, newest first",
      parameters: [tenantHeader, { name: 'status', in: 'query', schema: { type: 'string', enum: JOB_STATUSES } }, { name: 'limit', in: 'query', schema: { type: 'integer' } }, { name: 'offset', in: 'query', schema: { type: 'integer' } }],
      responses: { 200: { description: '{jobs, total, limit, offset}' }, ...errs() },
    },
  },
  [`${INGEST_BASE_PATH}/ingest/{job_id}`]: {
    get: { summary: 'one job', parameters: [tenantHeader, { name: 'job_id', in: 'path', required: true, schema: { type: 'string' } }], responses: { 200: { description: 'the job', content: { 'application/json': { schema: job } } }, ...errs() } },
  },
  [`${INGEST_BASE_PATH}/ingest/{job_id}/cancel`]: {
    post: { summary: 'cancel a running job', parameters: [tenantHeader, { name: 'job_id', in: 'path', required: true, schema: { type: 'string' } }], responses: { 200: { description: 'the job, failed "cancelled"' }, 202: { description: 'cancel requested' }, ...errs({ 409: 'the job is not running' }) } },
  },
  [`${INGEST_BASE_PATH}/availability`]: {
    get: { summary: 'per event type: earliest and latest date, rows', parameters: [tenantHeader, { name: 'event_types', in: 'query', schema: { type: 'string' } }], responses: { 200: { description: '{tenant_id, event_types: [...]}' }, ...errs() } },
  },
  [`${INGEST_BASE_PATH}/availability/breakdown`]: {
    get: {
      summary: 'rows per date and event type',
      parameters: [tenantHeader, { name: 'start_date', in: 'query', schema: { type: 'string', format: 'date' } }, { name: 'end_date', in: 'query', schema: { type: 'string', format: 'date' } }, { name: 'event_types', in: 'query', schema: { type: 'string' } }],
      responses: { 200: { description: '{tenant_id, dates: [...]}' }, ...errs() },
    },
  },
};
