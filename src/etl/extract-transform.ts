/**
 * `etlExtractTransform`: extract and transform in one pass, page by page. Each record is parsed
 * once (with its page), validated, enriched and written to the three files while the next page is
 * on its way: the raw line is the record's text as the source sent it (json-slices.ts), the
 * processed line that text with the lookups' columns appended, the dead letter that text inside
 * `{line, id, rule, error_reason, record}`. The records are staged in GCS in chunks, three part
 * objects per chunk (raw, processed, dead letters), composed into the run's three files at the
 * end — the same files `etlExtract` + `etlTransform` stage.
 *
 * Resumable as before: after each stored chunk the activity heartbeats the next `skip`, the parts
 * and the counts; a retried attempt (on any worker) resumes at the page the last one stopped at,
 * after re-reading its own raw parts to rebuild the ids already seen (a repeated id is a dead letter
 * naming the line it was first processed from). Requests are tried and backed off as in extract.ts.
 */
import { activityInfo, ApplicationFailure, Context, heartbeat, log } from '@temporalio/activity';
import type { Storage } from '@google-cloud/storage';
import type { Config } from '../config';
import { toApplicationFailure } from '../activities/failures';
import type { SftpPool } from '../sftp';
import { etlSftp, getPipeline, stagedObjects } from './common';
import { composeInOrder, extractFailure, pageRequester, PART_BYTES, PART_RECORDS, secretsOf, type ExtractResult, type Page, type PageRequest } from './extract';
import { keepAliveGetter, type Get } from './http-get';
import { objectWriterFor } from '../gcs/object-writer';
import { listElementTexts } from './json-slices';
import { inlineStage, type Stage } from './stage-client';
import type { LoadedLookup } from './lookups';
import { loadPipelineLookups, type TransformResult } from './transform';
import { fastAcceptFor, schemaForPipeline } from './validation';
import { SqliteLoadError, SqliteRunLoad } from './sqlite-load';
import type { TableCounts } from './db';

export interface ExtractTransformInput {
  pipeline: string;
  stamp: string;
}

export type ExtractTransformResult = ExtractResult &
  TransformResult & {
    /** the run's rows as committed to its SQLite database on the way (the save then only publishes) */
    rows_loaded?: TableCounts;
  };

export interface ExtractTransformProgress {
  next_skip: number;
  records: number;
  pages: number;
  bytes: number;
  processed: number;
  dead_lettered: number;
  reasons: Record<string, number>;
  parts: { raw: string[]; processed: string[]; dlq: string[] };
  rows_loaded?: TableCounts;
  done?: boolean;
}

type Kind = 'raw' | 'processed' | 'dlq';
const KINDS: Kind[] = ['raw', 'processed', 'dlq'];

/**
 * The lookups' columns as text to append to a record's own text, when that gives the same record
 * as enriching the object: every added field is top-level, not an integer-like key (those would
 * sort first), added once. Otherwise undefined: the enriched object is serialised.
 */
export function appendableColumns(lookups: LoadedLookup[]): string[] | undefined {
  const keys = lookups.flatMap((l) => Object.keys(l.config.columns));
  if (keys.some((k) => k.includes('.') || /^\d+$/.test(k) || k === '__proto__')) return undefined;
  return new Set(keys).size === keys.length ? keys : undefined;
}

/**
 * Opens a pooled SFTP session for the save that follows, without waiting for it: the handshake
 * (and, if the worker has not opened the key yet, its bcrypt KDF on a thread) then happens while
 * the parts are composed instead of at the start of the save. A failure is left for the save to
 * report.
 */
export function warmSftpSession(config: Config, pool: SftpPool, connection: string): void {
  try {
    const { endpoint } = etlSftp(config, connection);
    pool.withSession(endpoint, async () => undefined).catch(() => undefined);
  } catch {
    /* the save reports it */
  }
}

/**
 * The committed rows, when they are the records staged kind by kind; otherwise undefined (logged),
 * and the save loads the run again from the staged files, replacing them.
 */
export function checkedRows(rows: TableCounts, staged: { records: number; processed: number; dead_lettered: number }): TableCounts | undefined {
  if (rows.raw === staged.records && rows.processed === staged.processed && rows.dlq === staged.dead_lettered) return rows;
  log.warn('the SQLite rows loaded during the extract do not match the staged records; the save loads them again', {
    rows,
    staged: { raw: staged.records, processed: staged.processed, dlq: staged.dead_lettered },
  });
  return undefined;
}

export function createEtlExtractTransform(deps: {
  config: Config;
  storage: Storage;
  fetch?: typeof fetch;
  sftpPool?: SftpPool;
}) {
  return async function etlExtractTransform(input: ExtractTransformInput): Promise<ExtractTransformResult> {
    const p = getPipeline(deps.config, input.pipeline);
    const src = p.source;
    const objects = stagedObjects(input.pipeline, p, input.stamp);
    const bucketName = deps.config.gcs.bucket;
    const bucket = deps.storage.bucket(bucketName);
    const writeObject = objectWriterFor(deps.storage);
    const signal = Context.current().cancellationSignal;
    const secrets = secretsOf(src);
    const redact = (s: string) => secrets.reduce((acc, sec) => acc.split(sec).join('***'), s);

    const previous = activityInfo().heartbeatDetails as ExtractTransformProgress | undefined;
    const progress: ExtractTransformProgress = previous
      ? { ...previous, reasons: { ...previous.reasons }, parts: { raw: [...previous.parts.raw], processed: [...previous.parts.processed], dlq: [...previous.parts.dlq] } }
      : { next_skip: 0, records: 0, pages: 0, bytes: 0, processed: 0, dead_lettered: 0, reasons: {}, parts: { raw: [], processed: [], dlq: [] } };
    const resumedFrom = progress.next_skip;
    const result = (): ExtractTransformResult => ({
      raw_object: objects.raw,
      records: progress.records,
      pages: progress.pages,
      bytes: progress.bytes,
      resumed_from_skip: resumedFrom,
      attempts: activityInfo().attempt,
      raw: progress.records,
      processed: progress.processed,
      dead_lettered: progress.dead_lettered,
      reasons: progress.reasons,
      processed_object: objects.processed,
      dlq_object: objects.dlq,
      ...(progress.rows_loaded ? { rows_loaded: progress.rows_loaded } : {}),
    });
    if (previous?.done) return result();

    const lookups = await loadPipelineLookups(deps.config, input.pipeline, deps.storage);
    const appended = appendableColumns(lookups);
    const stage = inlineStage({ schema: schemaForPipeline(input.pipeline, p.validation), lookups, fast: fastAcceptFor(input.pipeline, p.validation), seen: new Map<string, number>() }, appended, progress.records);
    // SQLite: the rows go in as the chunks are stored, on a thread of their own (sqlite-load.ts)
    const load = p.database.postgres_url ? undefined : new SqliteRunLoad({ file: p.database.sqlite_path ?? deps.config.etl.sqlite_path, pipeline: input.pipeline, runId: input.stamp });
    try {
      return await run(stage, load);
    } finally {
      await Promise.all([stage.close(), load?.close()]);
    }

    async function run(stage: Stage, load: SqliteRunLoad | undefined): Promise<ExtractTransformResult> {
      const partPrefix: Record<Kind, string> = {
        raw: `${objects.prefix}${objects.relative.raw.replace(/\.jsonl$/, '')}.parts/`,
        processed: `${objects.prefix}${objects.relative.processed.replace(/\.jsonl$/, '')}.parts/`,
        dlq: `${objects.prefix}${objects.relative.dlq.replace(/\.jsonl$/, '')}.parts/`,
      };

      const ticker = setInterval(() => heartbeat(progress), 5000);
      try {
        heartbeat(progress);
        if (previous) {
          // the ids seen so far, from this run's stored raw lines (what the earlier attempts kept)
          log.info('extract+transform resumes', { pipeline: input.pipeline, next_skip: previous.next_skip, parts: previous.parts.raw.length });
          // each stored part read once (at most PART_BYTES): its rows into this attempt's transaction,
          // and for the raw ones, the ids it holds
          let line = 0;
          for (const k of KINDS) {
            for (const part of previous.parts[k]) {
              const [bytes] = await bucket.file(part).download({ validation: false });
              if (load) await load.feed(k, bytes);
              if (k !== 'raw') continue;
              const texts = bytes.toString('utf8').split('\n').filter((t) => t !== '');
              for (let i = 0; i < texts.length; i += 1000) stage.remember(texts.slice(i, i + 1000), line + i + 1);
              line += texts.length;
            }
          }
        }
      } catch (err) {
        clearInterval(ticker);
        throw err instanceof SqliteLoadError ? toApplicationFailure(err, 'SQLite') : toApplicationFailure(err, 'Cloud Storage');
      }

      // the chunk being filled: its records are in the stage, stored as three part objects once it is full
      const emptyChunk = (at: number) => ({ records: 0, chars: 0, pages: 0, startSkip: at, nextSkip: at });
      let chunk = emptyChunk(progress.next_skip);
      let uploading: Promise<void> = Promise.resolve();
      const flush = async (wait = false) => {
        if (chunk.records > 0 || chunk.pages > 0) {
          const c = chunk;
          chunk = emptyChunk(c.nextSkip);
          const cutting = stage.cut(); // in order: after the chunk's records, before the next chunk's
          cutting.catch(() => undefined); // awaited below
          await uploading;
          uploading = (async () => {
            const staged = await cutting;
            const names: Partial<Record<Kind, string>> = {};
            const base = `${String(c.startSkip).padStart(12, '0')}.jsonl`;
            await Promise.all([
              ...KINDS.filter((k) => staged[k].length > 0).map(async (k) => {
                const name = partPrefix[k] + base;
                await writeObject(bucketName, name, staged[k], 'application/x-ndjson');
                names[k] = name;
              }),
              (async () => {
                if (load) for (const k of KINDS) if (staged[k].length > 0) await load.feed(k, staged[k]);
              })(),
            ]);
            for (const k of KINDS) if (names[k]) progress.parts[k].push(names[k]);
            progress.bytes += staged.raw.length;
            staged.release();
            progress.records += staged.records;
            progress.processed += staged.processed_n;
            progress.dead_lettered += staged.dead;
            for (const [r, n] of Object.entries(staged.reasons)) progress.reasons[r] = (progress.reasons[r] ?? 0) + n;
            progress.pages += c.pages;
            progress.next_skip = c.nextSkip;
            heartbeat(progress);
          })();
          uploading.catch(() => undefined); // surfaced by the next await
        }
        if (wait) await uploading;
      };

      /** one page's records into the stage: the texts the source sent for them (or serialised) */
      const take = (got: Page, text: string) => {
        const texts = listElementTexts(text, src.records_key, got.records.length) ?? got.records.map((rec) => JSON.stringify(rec) ?? 'null');
        stage.take(texts, got.records);
        chunk.records += texts.length;
        for (const t of texts) chunk.chars += t.length + 1;
      };

      let fetchedSoFar = progress.records;
      // one keep-alive connection through node:http (cheaper per page than fetch), ended below
      const getter = deps.fetch ? undefined : keepAliveGetter();
      const doFetch: Get = deps.fetch ?? getter!.get;
      try {
        // records asked for at `skip` (pages are full until the end, so skip = records before it)
        const limitAt = (skip: number) => (src.max_records !== undefined ? Math.min(src.page_size, src.max_records - skip) : src.page_size);
        const request = pageRequester({ doFetch, src, signal, pipeline: input.pipeline, redact });
        // Up to `source.concurrency` pages in flight, taken in order: the page in hand is processed
        // while the next ones travel (a round trip to a busy source costs more than the page's
        // processing). The first page goes alone: it tells the total. A page that fails for good
        // fails the attempt after the pages before it are stored; the ones after it are dropped.
        const inFlight: PageRequest[] = [];
        let total: number | undefined;
        let plannedSkip = chunk.nextSkip;
        let ended = src.max_records !== undefined && fetchedSoFar >= src.max_records;
        const plan = () => {
          const width = total === undefined ? 1 : src.concurrency;
          while (!ended && inFlight.length < width) {
            if (total !== undefined && plannedSkip >= total) break;
            const limit = limitAt(plannedSkip);
            if (limit <= 0) break;
            inFlight.push(request(plannedSkip, limit));
            plannedSkip += limit;
          }
        };
        const dropAll = () => {
          for (const r of inFlight.splice(0)) r.abort.abort();
        };
        try {
          plan();
          while (inFlight.length > 0) {
            const { skip, limit, result } = inFlight[0];
            const got = await result;
            inFlight.shift();
            const nextSkip = skip + got.records.length;
            fetchedSoFar += got.records.length;
            if (got.total !== undefined) total = got.total;
            ended =
              got.records.length === 0 ||
              (src.max_records !== undefined && fetchedSoFar >= src.max_records) ||
              (got.total !== undefined ? nextSkip >= got.total : got.records.length < limit);
            if (ended) dropAll();
            else if (inFlight.length > 0 && inFlight[0].skip !== nextSkip) {
              // a short page: the pages asked for after it start at the wrong skip; ask again from here
              dropAll();
              plannedSkip = nextSkip;
            }
            plan();
            take(got, got.text ?? '');
            chunk.pages++;
            chunk.nextSkip = nextSkip;
            if (chunk.records >= PART_RECORDS || chunk.chars >= PART_BYTES) await flush();
          }
        } finally {
          dropAll();
          getter?.close();
        }
        await flush(true);
      } catch (err) {
        clearInterval(ticker);
        // keep what was fetched: the retry starts at the page that failed
        await flush(true).catch((e: unknown) => log.warn('could not store the pages fetched so far', { error: (e as Error).message }));
        throw err instanceof SqliteLoadError ? toApplicationFailure(err, 'SQLite') : extractFailure(err, src, progress, redact);
      }
      clearInterval(ticker);
      // after the compose requests below are on their way
      const pool = deps.sftpPool;
      if (pool) setImmediate(() => warmSftpSession(deps.config, pool, p.sftp));

      // the run's three files: each kind's parts composed in order
      try {
        const dest: Record<Kind, string> = { raw: objects.raw, processed: objects.processed, dlq: objects.dlq };
        const committing = load?.commit().catch((e: unknown) => {
          throw toApplicationFailure(e, 'SQLite');
        });
        committing?.catch(() => undefined); // awaited below
        await Promise.all(KINDS.map((k) => composeInOrder(deps.storage, bucketName, progress.parts[k], dest[k], partPrefix[k])));
        // committed before the parts go: a retry after this point still finds what it resumes from
        if (committing) progress.rows_loaded = checkedRows(await committing, progress);
        // every part under the prefixes, also one an earlier attempt stored without living to heartbeat it
        const listed = await Promise.all(KINDS.map(async (k) => (await bucket.getFiles({ prefix: partPrefix[k] }))[0].map((f) => f.name)));
        const names = new Set([...KINDS.flatMap((k) => progress.parts[k]), ...listed.flat()]);
        await Promise.all([...names].map((n) => bucket.file(n).delete({ ignoreNotFound: true })));
      } catch (err) {
        throw err instanceof ApplicationFailure ? err : toApplicationFailure(err, 'Cloud Storage');
      }
      progress.done = true;
      heartbeat(progress);
      if (progress.records === 0) log.warn('the source returned no records', { pipeline: input.pipeline });
      return result();
    }
  };
}
