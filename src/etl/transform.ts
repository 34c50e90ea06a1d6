/**
 * `etlTransform`: streams the run's raw file into the processed file (valid records, enriched
 * from the lookups) and the dead-letter file (`{line, id, rule, error_reason, record}`), both in
 * the GCS bucket. Nothing is held in memory but the lookups and the set of ids seen (a repeated
 * id is a dead letter). Rewrites both files from scratch, so a retry is safe.
 */
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { activityInfo, ApplicationFailure, heartbeat } from '@temporalio/activity';
import type { Storage } from '@google-cloud/storage';
import type { Config } from '../config';
import { toApplicationFailure } from '../activities/failures';
import { gcsLines, getPipeline, stagedObjects } from './common';
import { loadLookup, LookupError, type LoadedLookup } from './lookups';
import { processRecord } from './record';
export { processRecord, type DeadLetter } from './record';
import { fastAcceptFor, schemaForPipeline } from './validation';

export interface TransformInput {
  pipeline: string;
  stamp: string;
}

export interface TransformResult {
  raw: number;
  processed: number;
  dead_lettered: number;
  /** dead letters by rule (`<field>:<rule>`) */
  reasons: Record<string, number>;
  processed_object: string;
  dlq_object: string;
}


async function write(stream: Writable, chunk: string): Promise<void> {
  if (!stream.write(chunk)) await once(stream, 'drain');
}

/** Lines gathered into ~256 KiB writes (one write per line costs more than the validation). */
class LineBatcher {
  private buf = '';
  constructor(private readonly stream: Writable) {}
  async add(line: string): Promise<void> {
    this.buf += line;
    if (this.buf.length >= 262_144) await this.flush();
  }
  async flush(): Promise<void> {
    if (!this.buf) return;
    const b = this.buf;
    this.buf = '';
    await write(this.stream, b);
  }
}

async function finish(stream: Writable): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    stream.once('error', reject);
    stream.end(() => resolve());
  });
}

export async function loadPipelineLookups(config: Config, pipeline: string, storage: Storage): Promise<LoadedLookup[]> {
  const p = getPipeline(config, pipeline);
  try {
    return await Promise.all(p.lookups.map((l, i) => loadLookup(l, storage, `etl.pipelines.${pipeline}.lookups[${i}]`)));
  } catch (err) {
    if (err instanceof LookupError) {
      throw ApplicationFailure.create({ type: err.type, message: err.message, nonRetryable: !err.retryable, details: [{ attempt: activityInfo().attempt }] });
    }
    throw toApplicationFailure(err, 'Cloud Storage');
  }
}

export function createEtlTransform(deps: { config: Config; storage: Storage }) {
  return async function etlTransform(input: TransformInput): Promise<TransformResult> {
    const p = getPipeline(deps.config, input.pipeline);
    const objects = stagedObjects(input.pipeline, p, input.stamp);
    const lookups = await loadPipelineLookups(deps.config, input.pipeline, deps.storage);
    const schema = schemaForPipeline(input.pipeline, p.validation);
    const fast = fastAcceptFor(input.pipeline, p.validation);
    const bucket = deps.storage.bucket(deps.config.gcs.bucket);
    const opts = { resumable: false, contentType: 'application/x-ndjson', validation: false as const };

    const result: TransformResult = { raw: 0, processed: 0, dead_lettered: 0, reasons: {}, processed_object: objects.processed, dlq_object: objects.dlq };
    const ticker = setInterval(() => heartbeat({ lines: result.raw }), 5000);
    const processedOut = bucket.file(objects.processed).createWriteStream(opts);
    const dlqOut = bucket.file(objects.dlq).createWriteStream(opts);
    let outError: Error | undefined;
    processedOut.on('error', (e) => (outError ??= e));
    dlqOut.on('error', (e) => (outError ??= e));
    const processedLines = new LineBatcher(processedOut);
    const dlqLines = new LineBatcher(dlqOut);
    try {
      const ctx = { schema, lookups, fast, seen: new Map<string, number>() };
      for await (const text of gcsLines(deps.storage, deps.config.gcs.bucket, objects.raw)) {
        if (outError) throw outError;
        const line = ++result.raw;
        let rec: unknown;
        let r: ReturnType<typeof processRecord>;
        try {
          rec = JSON.parse(text);
          r = processRecord(rec, line, ctx);
        } catch (err) {
          r = { ok: false, dead: { line, id: null, rule: 'record:json', error_reason: `record: json — not valid JSON (${(err as Error).message})`, record: text } };
        }
        if (r.ok) {
          result.processed++;
          await processedLines.add(`${JSON.stringify(r.value)}\n`);
        } else {
          result.dead_lettered++;
          result.reasons[r.dead.rule] = (result.reasons[r.dead.rule] ?? 0) + 1;
          await dlqLines.add(`${JSON.stringify(r.dead)}\n`);
        }
      }
      await processedLines.flush();
      await dlqLines.flush();
      await Promise.all([finish(processedOut), finish(dlqOut)]);
      if (outError) throw outError;
    } catch (err) {
      processedOut.destroy();
      dlqOut.destroy();
      const code = (err as { code?: unknown }).code;
      if (code === 404) {
        throw ApplicationFailure.create({ type: 'StagedFileMissing', nonRetryable: true, message: `the raw file gs://${deps.config.gcs.bucket}/${objects.raw} is gone (expired or deleted): run the pipeline again` });
      }
      throw toApplicationFailure(err, 'Cloud Storage');
    } finally {
      clearInterval(ticker);
    }
    return result;
  };
}
