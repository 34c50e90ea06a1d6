import http from 'node:http';
import { randomUUID, timingSafeEqual } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, WorkflowFailedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Config } from '../config';
import { getExport, isConfigError, parseRunDate, yesterday } from '../config';
import { hasControlChars } from '../config/schema';
import { parseGcsUri } from '../gcs/client';
import { runUrl } from '../activities/notify';
import { startExport } from '../starter';
import { describeFailure } from '../workflows/describe-failure';
import { TransferWorkflow, VerifyWorkflow } from '../export/api-workflows';
import { openApiDocument } from './openapi';
import { createIngestRoutes, INGEST_BASE_PATH } from './ingest-routes';
import { backupRoute } from './backup-routes';
import { etlRoute } from './etl-routes';
import { describeIssues, startRunBody, transferBody, type TransferBody } from './schemas';

export interface ApiResponse {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

class HttpError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly headers?: Record<string, string>) {
    super(message);
  }
}

const MAX_BODY = 64 * 1024;
/** Temporal's default limit for a workflow ID. */
const MAX_WORKFLOW_ID = 1000;

/** The methods each route answers (for 405 and its Allow header). */
function allowedMethods(path: string): string | undefined {
  if (path === '/health' || path === '/openapi.json') return 'GET';
  if (path === '/transfer' || path === '/verify' || /^\/exports\/[^/]+\/runs$/.test(path)) return 'POST';
  if (/^\/runs\/[^/]+$/.test(path)) return 'GET';
  return undefined;
}

function decodeSegment(raw: string, field: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new HttpError(400, 'bad_request', `path: malformed percent-encoding in ${field}`);
  }
}

/** Request bodies are JSON; a body sent as anything else is refused rather than guessed at. */
function checkContentType(header: string | undefined): void {
  if (header === undefined) return;
  const type = header.split(';')[0].trim().toLowerCase();
  if (type === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(type)) return;
  const shown = JSON.stringify(header.length > 60 ? `${header.slice(0, 60)}…` : header);
  throw new HttpError(415, 'unsupported_media_type', `content-type: must be application/json (got ${shown})`);
}

function tokenMatches(header: string | undefined, token: string): boolean {
  const given = Buffer.from(header?.startsWith('Bearer ') ? header.slice(7) : '');
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

function parseJson(raw: string): unknown {
  if (raw.trim() === '') return {};
  try {
    return JSON.parse(raw);
  } catch {
    throw new HttpError(400, 'bad_request', 'body: is not valid JSON');
  }
}

/** The HTTP API; every transfer and verify runs as a Temporal workflow, so it is durable. */
export function createApi(deps: { config: Config; client: Client; configPath?: string }) {
  const { config, client } = deps;
  const ingestApi = createIngestRoutes({ config, client });
  const taskQueue = config.temporal.task_queue;

  /** `field` names where the name came from: `body/export_name` or `path/name`. */
  function exportOr404(name: string, field: string) {
    try {
      return getExport(config, name);
    } catch (err) {
      if (isConfigError(err)) throw new HttpError(404, 'unknown_export', `${field}: ${err.message}`);
      throw err;
    }
  }

  function transferInput(body: TransferBody) {
    exportOr404(body.export_name, 'body/export_name');
    let bucket: string;
    let prefix: string;
    try {
      ({ bucket, prefix } = parseGcsUri(body.gcs_path));
    } catch (err) {
      throw new HttpError(400, 'bad_request', `body/gcs_path: ${(err as Error).message}`);
    }
    if (bucket !== config.gcs.bucket || !prefix.startsWith(`${body.export_name}/`)) {
      throw new HttpError(400, 'bad_request', `body/gcs_path: must be under gs://${config.gcs.bucket}/${body.export_name}/`);
    }
    const fromPath = /\/(\d{4})(\d{2})(\d{2})\/?$/.exec(prefix);
    const raw = body.date ?? (fromPath ? `${fromPath[1]}-${fromPath[2]}-${fromPath[3]}` : undefined);
    if (!raw) throw new HttpError(400, 'bad_request', 'body/date: required when gcs_path does not end in /YYYYMMDD/');
    let date: string;
    try {
      date = parseRunDate(raw);
    } catch (err) {
      throw new HttpError(400, 'bad_request', `body/date: ${(err as Error).message}`);
    }
    return { exportName: body.export_name, date, gcsPath: body.gcs_path.endsWith('/') ? body.gcs_path : `${body.gcs_path}/` };
  }

  /** `?wait=false`: answer 202 at once with where to poll; `wait=true` (the default) holds the request until the run ends. */
  function waitFor(query: URLSearchParams): boolean {
    const wait = query.get('wait');
    if (wait === null || wait === 'true') return true;
    if (wait === 'false') return false;
    throw new HttpError(400, 'bad_request', `query/wait: must be true or false (got ${JSON.stringify(wait.length > 40 ? `${wait.slice(0, 40)}…` : wait)})`);
  }

  async function runDurably(kind: 'transfer' | 'verify', body: unknown, query: URLSearchParams): Promise<ApiResponse> {
    const wait = waitFor(query);
    const parsed = transferBody.safeParse(body);
    if (!parsed.success) throw new HttpError(400, 'bad_request', describeIssues(parsed.error));
    const input = transferInput(parsed.data);
    const workflowId = `${kind}-${input.exportName}-${input.date}`;
    const workflow = kind === 'transfer' ? TransferWorkflow : VerifyWorkflow;
    let handle;
    try {
      handle = await client.workflow.start(workflow, { taskQueue, workflowId, args: [input], workflowIdConflictPolicy: 'USE_EXISTING' });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      handle = client.workflow.getHandle(workflowId);
    }
    if (!wait) {
      const { runId } = await handle.describe();
      const location = `/runs/${encodeURIComponent(workflowId)}`;
      return { status: 202, headers: { location }, body: { workflow_id: workflowId, run_id: runId, status_url: location, url: runUrl(config, workflowId, runId) } };
    }
    try {
      const result = (await handle.result()) as object;
      return { status: 200, body: { ...result, workflow_id: workflowId } };
    } catch (err) {
      if (!(err instanceof WorkflowFailedError)) throw err;
      const f = describeFailure(err.cause);
      return { status: 502, body: { error: f.type, message: f.message, workflow_id: workflowId } };
    }
  }

  /** `body()` reads the JSON body, only once the route is known (an unknown route is a 404 whatever its body). */
  async function route(method: string, path: string, body: () => unknown, query: URLSearchParams = new URLSearchParams()): Promise<ApiResponse> {
    const backup = await backupRoute(method, path, body, client, config);
    if (backup) return backup;
    const etl = await etlRoute(method, path, body, query, client, config);
    if (etl) return etl;
    if (method === 'POST' && path === '/transfer') return runDurably('transfer', body(), query);
    if (method === 'POST' && path === '/verify') return runDurably('verify', body(), query);
    const start = /^\/exports\/([^/]+)\/runs$/.exec(path);
    if (method === 'POST' && start) {
      const name = decodeSegment(start[1], 'the export name');
      exportOr404(name, 'path/name');
      const parsed = startRunBody.safeParse(body());
      if (!parsed.success) throw new HttpError(400, 'bad_request', describeIssues(parsed.error));
      let date: string;
      try {
        date = parseRunDate(parsed.data.date ?? yesterday());
      } catch (err) {
        throw new HttpError(400, 'bad_request', `body/date: ${(err as Error).message}`);
      }
      const handle = await startExport(client, config, { exportName: name, date });
      const { runId } = await handle.describe();
      return { status: 202, body: { workflow_id: handle.workflowId, run_id: runId, url: runUrl(config, handle.workflowId, runId) } };
    }
    const run = /^\/runs\/([^/]+)$/.exec(path);
    if (method === 'GET' && run) {
      const workflowId = decodeSegment(run[1], 'the workflow ID');
      if (workflowId.length > MAX_WORKFLOW_ID || hasControlChars(workflowId)) {
        throw new HttpError(400, 'bad_request', `path/workflowId: must be a workflow ID: at most ${MAX_WORKFLOW_ID} characters, no control characters`);
      }
      const handle = client.workflow.getHandle(workflowId);
      try {
        const d = await handle.describe();
        const out: Record<string, unknown> = { workflow_id: workflowId, run_id: d.runId, status: d.status.name, url: runUrl(config, workflowId, d.runId) };
        if (d.status.name === 'COMPLETED') out.result = await handle.result();
        if (d.status.name === 'FAILED') {
          await handle.result().catch((err: unknown) => {
            const f = describeFailure(err instanceof WorkflowFailedError ? err.cause : err);
            out.error = { type: f.type, message: f.message };
          });
        }
        return { status: 200, body: out };
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) throw new HttpError(404, 'unknown_run', `no run with workflow ID "${workflowId}"`);
        throw err;
      }
    }
    const allow = allowedMethods(path);
    if (allow) throw new HttpError(405, 'method_not_allowed', `method: ${method} is not allowed on ${path}; use ${allow}`, { allow });
    throw new HttpError(404, 'not_found', `no route ${method} ${path.length > 200 ? `${path.slice(0, 200)}…` : path}; see /openapi.json`);
  }

  /** One request, already read: routing, auth and errors, independent of the transport. */
  async function handle(method: string, url: string, headers: http.IncomingHttpHeaders, rawBody: string): Promise<ApiResponse> {
    const parsedUrl = new URL(url, 'http://x');
    const path = parsedUrl.pathname;
    try {
      if (method === 'GET' && path === '/health') {
        const temporalOk = await client.connection.workflowService.getSystemInfo({}).then(() => true, () => false);
        return {
          status: temporalOk ? 200 : 503,
          // no config path or other internals: /health answers without a token
          body: { status: temporalOk ? 'healthy' : 'unhealthy', timestamp: new Date().toISOString(), temporal: temporalOk ? 'ok' : 'unreachable' },
        };
      }
      if (method === 'GET' && path === '/openapi.json') return { status: 200, body: openApiDocument };
      // the ingest routes authorise per tenant themselves (tenant-limited tokens)
      if (path === INGEST_BASE_PATH || path.startsWith(`${INGEST_BASE_PATH}/`)) return await ingestApi.handle(method, url, headers, () => { if (rawBody.trim() !== '') checkContentType(headers['content-type']); return parseJson(rawBody); });
      const token = config.http.auth_token;
      if (token && !tokenMatches(headers.authorization, token)) {
        return { status: 401, body: { error: 'unauthorized', message: 'send Authorization: Bearer <token> (http.auth_token)' } };
      }
      return await route(method, path, () => {
        if (rawBody.trim() !== '') checkContentType(headers['content-type']);
        return parseJson(rawBody);
      }, parsedUrl.searchParams);
    } catch (err) {
      if (err instanceof HttpError) return { status: err.status, body: { error: err.code, message: err.message }, headers: err.headers };
      // the error's own text may name hosts, paths or worse: it goes to the server's log, the client gets an id to quote
      const id = randomUUID();
      process.stderr.write(`bq-sftp API: internal error ${id} on ${method} ${path}: ${(err as Error)?.stack ?? String(err)}\n`);
      return { status: 500, body: { error: 'internal', message: `internal error ${id}; the server log has the details` } };
    }
  }

  function listener(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooBig = false;
    const done = (r: ApiResponse) => {
      if (!res.headersSent) res.writeHead(r.status, { ...r.headers, 'content-type': 'application/json' }).end(JSON.stringify(r.body));
    };
    req.on('data', (chunk: Buffer) => {
      if (tooBig) return; // the rest is read and dropped: memory stays bounded and the client still gets the answer
      size += chunk.length;
      if (size > MAX_BODY) {
        tooBig = true;
        chunks.length = 0;
        done({ status: 413, body: { error: 'too_large', message: `body: larger than ${MAX_BODY} bytes` } });
      } else chunks.push(chunk);
    });
    req.on('error', () => undefined); // a client that goes away mid-request is not our failure
    req.on('end', () => {
      if (!tooBig) void handle(req.method ?? 'GET', req.url ?? '/', req.headers, Buffer.concat(chunks).toString('utf8')).then(done);
    });
  }

  return { handle, server: () => http.createServer(listener) };
}
