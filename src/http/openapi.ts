import { ingestOpenApiPaths } from './ingest-routes';
import { backupOpenApiPaths } from './backup-routes';
import { etlOpenApiPaths } from './etl-routes';

const error = { type: 'object', properties: { error: { type: 'string' }, message: { type: 'string' } }, required: ['error', 'message'] };
/** `?wait=false`: answer at once instead of holding the request until the run ends (hours for big runs). */
const waitParameter = {
  name: 'wait',
  in: 'query',
  required: false,
  schema: { type: 'string', enum: ['true', 'false'], default: 'true' },
  description: 'false: answer 202 at once with the run and a Location (GET /runs/{workflowId}) to poll',
};
const startedResponse = {
  description: 'wait=false: the run started (or was already running); poll the Location header',
  headers: { Location: { schema: { type: 'string' }, description: '/runs/{workflowId}' } },
};

const transferRequest = {
  type: 'object',
  required: ['export_name', 'gcs_path'],
  additionalProperties: false,
  properties: {
    export_name: { type: 'string' },
    gcs_path: { type: 'string', example: 'gs://bucket/product_data/20250108/' },
    date: { type: 'string', format: 'date', description: 'defaults to the YYYYMMDD segment of gcs_path' },
  },
};
const errors = {
  400: { description: 'invalid request; the message names the field', content: { 'application/json': { schema: error } } },
  401: { description: 'missing or wrong bearer token', content: { 'application/json': { schema: error } } },
  404: { description: 'unknown export or run', content: { 'application/json': { schema: error } } },
  405: { description: 'method not allowed on this path (see the Allow header)', content: { 'application/json': { schema: error } } },
  413: { description: 'body larger than 64 KiB', content: { 'application/json': { schema: error } } },
  415: { description: 'a body that is not sent as application/json', content: { 'application/json': { schema: error } } },
  502: { description: 'the run failed; error is the failure type', content: { 'application/json': { schema: error } } },
};

/** The OpenAPI 3 document served at /openapi.json. */
export const openApiDocument = {
  openapi: '3.0.3',
  info: { title: 'bq-sftp', version: '0.1.0', description: 'Durable BigQuery / GCS → SFTP transfers; every request runs as a Temporal workflow.' },
  components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
  security: [{ bearer: [] }],
  paths: {
    '/health': { get: { security: [], summary: 'liveness and Temporal reachability', responses: { 200: { description: 'healthy' }, 503: { description: 'Temporal unreachable' } } } },
    '/transfer': { post: { summary: 'copy every object under gcs_path to SFTP (TransferWorkflow)', parameters: [waitParameter], requestBody: { required: true, content: { 'application/json': { schema: transferRequest } } }, responses: { 200: { description: 'the seed /transfer response + workflow_id' }, 202: startedResponse, ...errors } } },
    '/verify': { post: { summary: 'compare gcs_path with the SFTP folder (VerifyWorkflow)', parameters: [waitParameter], requestBody: { required: true, content: { 'application/json': { schema: transferRequest } } }, responses: { 200: { description: 'the seed /verify response + workflow_id' }, 202: startedResponse, ...errors } } },
    '/exports/{name}/runs': { post: { summary: 'start ExportWorkflow for one date', parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }], requestBody: { content: { 'application/json': { schema: { type: 'object', properties: { date: { type: 'string', format: 'date' } } } } } }, responses: { 202: { description: '{workflow_id, run_id, url}' }, ...errors } } },
    '/runs/{workflowId}': { get: { summary: 'status and result of a run', parameters: [{ name: 'workflowId', in: 'path', required: true, schema: { type: 'string' } }], responses: { 200: { description: '{workflow_id, run_id, status, result?, error?, url}' }, ...errors } } },
    '/openapi.json': { get: { security: [], summary: 'this document', responses: { 200: { description: 'OpenAPI 3' } } } },
    ...ingestOpenApiPaths,
    ...backupOpenApiPaths,
    ...etlOpenApiPaths,
  },
};
