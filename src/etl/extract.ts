/**
 * `etlExtract`: pages through the source (`limit`/`skip`) into the run's raw JSONL file in the GCS
 * bucket. Pages are gathered into part objects; after each part is stored, the activity
 * heartbeats the next `skip` and the parts so far, so a retried attempt resumes at the page where
 * the last one stopped instead of starting over. Each request is tried `source.attempts` times
 * with doubling backoff on HTTP 5xx/429/408, timeouts and connection errors; then the attempt
 * stores what it has and fails (retryable), and Temporal's retry resumes it.
 */
import { activityInfo, ApplicationFailure, Context, heartbeat, log } from '@temporalio/activity';
import type { Storage } from '@google-cloud/storage';
import type { Config } from '../config';
import type { EtlSourceConfig } from './config';
import { getPipeline, stagedObjects } from './common';
import { toApplicationFailure } from '../activities/failures';
import type { Get, GetResponse } from './http-get';

export interface ExtractInput {
  pipeline: string;
  stamp: string;
}

export interface ExtractResult {
  raw_object: string;
  records: number;
  pages: number;
  bytes: number;
  /** the `skip` this attempt started at (0 unless it resumed) */
  resumed_from_skip: number;
  attempts: number;
}

export interface ExtractProgress {
  next_skip: number;
  parts: string[];
  records: number;
  pages: number;
  bytes: number;
  done?: boolean;
}

export const PART_RECORDS = 5000;
export const PART_BYTES = 8 * 1024 * 1024;
const JSONL_TYPE = 'application/x-ndjson';

export class SourceError extends Error {
  constructor(
    message: string,
    readonly type: string,
    readonly retryable: boolean,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason as Error);
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), reject(signal.reason as Error)), { once: true });
  });
}

function requestHeaders(src: EtlSourceConfig): Record<string, string> {
  const h: Record<string, string> = { accept: 'application/json', ...src.headers };
  if (src.api_key) h[src.api_key_header] = src.api_key;
  if (src.auth_token) h[src.auth_header] = src.auth_scheme ? `${src.auth_scheme} ${src.auth_token}` : src.auth_token;
  return h;
}

/** Secret values to keep out of error messages. */
export function secretsOf(src: EtlSourceConfig): string[] {
  return [src.auth_token, src.api_key].filter((s): s is string => !!s);
}

function pageUrl(src: EtlSourceConfig, skip: number, limit: number): string {
  const u = new URL(src.url);
  u.searchParams.set(src.limit_param, String(limit));
  u.searchParams.set(src.skip_param, String(skip));
  return u.toString();
}

export interface Page {
  records: unknown[];
  total?: number;
  /** the body as received */
  text?: string;
}

/** One request: a page, or a SourceError saying whether to try again. */
export async function fetchOnce(doFetch: Get, src: EtlSourceConfig, skip: number, limit: number, page: number, signal: AbortSignal): Promise<Page> {
  const where = `page ${page} (skip=${skip}, limit=${limit}) of ${src.url}`;
  let res: GetResponse;
  let text: string;
  const timeout = AbortSignal.timeout(src.timeout_ms);
  try {
    res = await doFetch(pageUrl(src, skip, limit), { headers: requestHeaders(src), signal: AbortSignal.any([signal, timeout]) });
    text = await res.text();
  } catch (err) {
    if (signal.aborted) throw err;
    if (timeout.aborted) throw new SourceError(`no answer for ${where} within ${src.timeout_ms} ms`, 'SourceTimeout', true);
    const e = err as Error & { cause?: { code?: string } };
    throw new SourceError(`${where} could not be fetched: ${e.cause?.code ?? e.message}`, 'SourceUnavailable', true);
  }
  if (!res.ok) {
    const retryable = res.status >= 500 || res.status === 429 || res.status === 408;
    const ra = Number(res.headers.get('retry-after'));
    const hint = res.status === 401 || res.status === 403 ? ' (check the pipeline\'s auth_token / api_key)' : '';
    throw new SourceError(`${where} answered HTTP ${res.status}${hint}`, retryable ? 'SourceUnavailable' : 'SourceRefused', retryable, Number.isFinite(ra) && ra > 0 ? ra * 1000 : undefined);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    // a cut-off body can be a network hiccup: tried again, and permanent only when it persists
    throw new SourceError(`${where} answered with a body that is not JSON (${(err as Error).message}; ${text.length} bytes, starting ${JSON.stringify(text.slice(0, 60))})`, 'SourceMalformed', true);
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new SourceError(`${where} answered with JSON that is not an object (${Array.isArray(body) ? 'an array' : typeof body}); expected {"${src.records_key}": [...], "${src.total_key}": n}`, 'SourceShapeInvalid', false);
  }
  const obj = body as Record<string, unknown>;
  const records = obj[src.records_key];
  if (!Array.isArray(records)) {
    throw new SourceError(`${where}: "${src.records_key}" is not a list in the answer (its keys: ${Object.keys(obj).slice(0, 10).join(', ') || 'none'}); set source.records_key`, 'SourceShapeInvalid', false);
  }
  const total = obj[src.total_key];
  return { records, total: typeof total === 'number' && Number.isFinite(total) ? total : undefined, text };
}

/**
 * What a failed extract attempt throws: a source error with the records kept and where the retry
 * resumes (a body that stays malformed through every try is the source's problem, not a hiccup:
 * not retried), anything else as a storage failure.
 */
export function extractFailure(err: unknown, src: EtlSourceConfig, progress: { records: number; next_skip: number }, redact: (s: string) => string): Error {
  if (err instanceof SourceError) {
    return ApplicationFailure.create({
      type: err.type,
      message: `${redact(err.message)} (after ${src.attempts} tries; ${progress.records} records before it are kept and the retry resumes at skip=${progress.next_skip})`,
      nonRetryable: !err.retryable || err.type === 'SourceMalformed',
      details: [{ attempt: activityInfo().attempt, service: 'source', next_skip: progress.next_skip }],
    });
  }
  return toApplicationFailure(err, 'Cloud Storage');
}

/** A page asked for, its answer on the way; `abort` drops it (a page behind one that failed for good). */
export type PageRequest = { skip: number; limit: number; result: Promise<Page>; abort: AbortController };

/**
 * Starts page requests with the source's retries and backoff (Retry-After honoured); a request
 * aborted, or one whose attempt is cancelled, stops retrying. Log lines name the pipeline and
 * never a secret.
 */
export function pageRequester(opts: { doFetch: Get; src: EtlSourceConfig; signal: AbortSignal; pipeline: string; redact: (s: string) => string }) {
  const { doFetch, src, signal } = opts;
  const fetchPage = async (skip: number, limit: number, ahead: AbortSignal): Promise<Page> => {
    const page = Math.floor(skip / src.page_size) + 1;
    for (let attempt = 1; ; attempt++) {
      try {
        return await fetchOnce(doFetch, src, skip, limit, page, AbortSignal.any([signal, ahead]));
      } catch (err) {
        if (ahead.aborted || !(err instanceof SourceError) || !err.retryable || attempt >= src.attempts) throw err;
        const wait = err.retryAfterMs ?? src.backoff_ms * 2 ** (attempt - 1);
        log.warn('source request failed; trying again', { pipeline: opts.pipeline, page, attempt, wait_ms: wait, error: opts.redact(err.message) });
        await sleep(Math.min(wait, 60_000), AbortSignal.any([signal, ahead]));
      }
    }
  };
  return (skip: number, limit: number): PageRequest => {
    const abort = new AbortController();
    const result = fetchPage(skip, limit, abort.signal);
    result.catch(() => undefined); // awaited (or abandoned) by the caller
    return { skip, limit, result, abort };
  };
}

export function createEtlExtract(deps: { config: Config; storage: Storage; fetch?: typeof fetch }) {
  return async function etlExtract(input: ExtractInput): Promise<ExtractResult> {
    const p = getPipeline(deps.config, input.pipeline);
    const src = p.source;
    const objects = stagedObjects(input.pipeline, p, input.stamp);
    const bucket = deps.storage.bucket(deps.config.gcs.bucket);
    const signal = Context.current().cancellationSignal;
    const doFetch = deps.fetch ?? fetch;
    const secrets = secretsOf(src);
    const redact = (s: string) => secrets.reduce((acc, sec) => acc.split(sec).join('***'), s);

    const previous = activityInfo().heartbeatDetails as ExtractProgress | undefined;
    const progress: ExtractProgress = previous ? { ...previous, parts: [...previous.parts] } : { next_skip: 0, parts: [], records: 0, pages: 0, bytes: 0 };
    const resumedFrom = progress.next_skip;
    if (previous) log.info('extract resumes', { pipeline: input.pipeline, next_skip: previous.next_skip, parts: previous.parts.length });

    const result = (): ExtractResult => ({
      raw_object: objects.raw,
      records: progress.records,
      pages: progress.pages,
      bytes: progress.bytes,
      resumed_from_skip: resumedFrom,
      attempts: activityInfo().attempt,
    });
    if (previous?.done) return result();

    const partPrefix = `${objects.prefix}raw_users/.parts/records_${input.stamp}/`;
    let buffer: string[] = [];
    let bufferBytes = 0;
    let bufferRecords = 0;
    let pending = { next_skip: progress.next_skip, pages: 0 };
    // liveness between stored parts: the last durable progress, never the buffered pages
    const ticker = setInterval(() => heartbeat(progress), 5000);

    // A full part is uploaded while the next pages are fetched (one upload in flight at most);
    // the heartbeat moves past a part only once it is stored, in order.
    let bufferStart = progress.next_skip;
    let fetchedSoFar = progress.records;
    let uploading: Promise<void> = Promise.resolve();
    const flush = async (wait = false) => {
      if (bufferRecords > 0 || pending.pages > 0) {
        const part = { data: buffer.join(''), records: bufferRecords, pages: pending.pages, nextSkip: pending.next_skip, startSkip: bufferStart };
        buffer = [];
        bufferBytes = 0;
        bufferRecords = 0;
        bufferStart = part.nextSkip;
        pending = { next_skip: part.nextSkip, pages: 0 };
        await uploading;
        uploading = (async () => {
          if (part.records > 0) {
            const name = `${partPrefix}${String(part.startSkip).padStart(12, '0')}.jsonl`;
            await bucket.file(name).save(part.data, { resumable: false, contentType: 'application/x-ndjson', validation: false });
            progress.parts.push(name);
            progress.bytes += Buffer.byteLength(part.data);
          }
          progress.records += part.records;
          progress.pages += part.pages;
          progress.next_skip = part.nextSkip;
          heartbeat(progress);
        })();
        uploading.catch(() => undefined); // surfaced by the next await
      }
      if (wait) await uploading;
    };

    try {
      heartbeat(progress);
      // One page ahead: the next request is sent as soon as a page arrives (it is known to be
      // needed then), and the page in hand is serialised while it travels.
      const limitAt = (fetched: number) => (src.max_records !== undefined ? Math.min(src.page_size, src.max_records - fetched) : src.page_size);
      const request = pageRequester({ doFetch, src, signal, pipeline: input.pipeline, redact });
      let next: PageRequest | undefined =
        src.max_records !== undefined && fetchedSoFar >= src.max_records ? undefined : request(pending.next_skip, limitAt(fetchedSoFar));
      try {
        while (next) {
          const { skip, limit } = next;
          const got = await next.result;
          next = undefined;
          const nextSkip = skip + got.records.length;
          fetchedSoFar += got.records.length;
          const fetched = fetchedSoFar;
          const end =
            got.records.length === 0 ||
            (src.max_records !== undefined && fetched >= src.max_records) ||
            (got.total !== undefined ? nextSkip >= got.total : got.records.length < limit);
          if (!end) next = request(nextSkip, limitAt(fetched));
          let chunk = '';
          for (const rec of got.records) chunk += `${JSON.stringify(rec)}\n`;
          buffer.push(chunk);
          bufferBytes += chunk.length;
          bufferRecords += got.records.length;
          pending = { next_skip: nextSkip, pages: pending.pages + 1 };
          if (bufferRecords >= PART_RECORDS || bufferBytes >= PART_BYTES) await flush();
        }
      } finally {
        next?.abort.abort();
      }
      await flush(true);
    } catch (err) {
      clearInterval(ticker);
      // keep what was fetched: the retry starts at the page that failed
      await flush(true).catch((e: unknown) => log.warn('could not store the pages fetched so far', { error: (e as Error).message }));
      throw extractFailure(err, src, progress, redact);
    }
    clearInterval(ticker);

    // one raw file: the parts composed in order (≤ 32 per compose call)
    try {
      await composeInOrder(deps.storage, deps.config.gcs.bucket, progress.parts, objects.raw, partPrefix);
      await Promise.all(progress.parts.map((n) => bucket.file(n).delete({ ignoreNotFound: true })));
    } catch (err) {
      throw toApplicationFailure(err, 'Cloud Storage');
    }
    progress.done = true;
    heartbeat(progress);
    if (progress.records === 0) log.warn('the source returned no records', { pipeline: input.pipeline });
    return result();
  };
}

/**
 * Composes `parts` in order into `dest` (through temporary objects under `tmpPrefix` when there are
 * more than 32), as JSONL. The content type travels in the compose request: setting it afterwards
 * is a metadata patch, which fake-gcs-server carries out by rewriting the whole object (it doubled
 * the compose's time at the extract's end).
 */
export async function composeInOrder(storage: Storage, bucketName: string, parts: string[], dest: string, tmpPrefix: string): Promise<void> {
  const bucket = storage.bucket(bucketName);
  const jsonl = (name: string) => {
    const f = bucket.file(name);
    f.metadata = { ...f.metadata, contentType: JSONL_TYPE };
    return f;
  };
  if (parts.length === 0) {
    await bucket.file(dest).save('', { resumable: false, contentType: JSONL_TYPE });
    return;
  }
  if (parts.length === 1) {
    await bucket.file(parts[0]).copy(bucket.file(dest)); // the part's own content type (JSONL)
    return;
  }
  let level = parts;
  let round = 0;
  const temps: string[] = [];
  while (level.length > 32) {
    const next: string[] = [];
    for (let i = 0; i < level.length; i += 32) {
      const name = `${tmpPrefix}compose-${round}-${i / 32}`;
      await bucket.combine(level.slice(i, i + 32), jsonl(name));
      next.push(name);
      temps.push(name);
    }
    level = next;
    round++;
  }
  await bucket.combine(level, jsonl(dest));
  await Promise.all(temps.map((n) => bucket.file(n).delete({ ignoreNotFound: true })));
}
