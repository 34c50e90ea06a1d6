/**
 * Where the one-pass extract stages its records (stager.ts): on the activity's thread (the
 * default), or, opted in, on a thread of its own when the pipeline's rules are all in its config,
 * so parsing each record, validating, enriching and encoding the three texts run beside the
 * fetching instead of between the pages (a rule added in code with `extendUserSchema` is known only
 * to this thread). Opt-in because the second isolate costs more CPU than it moves (bench P8). Both give the same bytes: the thread parses
 * each record from the text the source sent for it, which is the same record as the page's parse.
 */
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { EtlValidationConfig } from './config';
import type { LoadedLookup } from './enrich';
import { RecordStager, type StageContext, type StageKind, type StagedChunk } from './stager';

export interface StageThreadData {
  pipeline: string;
  rules: EtlValidationConfig;
  lookups: LoadedLookup[];
  appended: string[] | undefined;
  line: number;
}
export type ToStageThread =
  | { type: 'take'; texts: string[] }
  | { type: 'remember'; texts: string[]; first: number }
  | { type: 'cut' }
  | { type: 'recycle'; kind: StageKind; buf: ArrayBuffer };
export type FromStageThread =
  | { type: 'cut'; records: number; processed_n: number; dead: number; reasons: Record<string, number>; parts: { kind: StageKind; buf: ArrayBuffer; length: number }[] }
  | { type: 'error'; message: string };

export type Staged = StagedChunk & { release: () => void };

export interface Stage {
  /** stored raw lines of an earlier attempt, from line `first` on: their ids count as seen */
  remember(texts: string[], first: number): void;
  /** one page's records: their texts as sent, and the parsed records (used on this thread) */
  take(texts: string[], records: unknown[]): void;
  /** the chunk taken so far; `release` once its bytes are stored */
  cut(): Promise<Staged>;
  close(): Promise<void>;
}

/** On the activity's thread. */
export function inlineStage(ctx: StageContext, appended: string[] | undefined, line: number): Stage {
  const stager = new RecordStager(ctx, appended, line);
  return {
    remember: (texts, first) => texts.forEach((t, i) => stager.remember(t, first + i)),
    take: (texts, records) => stager.take(texts, records),
    cut: () => Promise.resolve(stager.cut()),
    close: async () => undefined,
  };
}

/** On a thread of its own (rules from the config only). */
export function threadStage(data: StageThreadData): Stage {
  const entry = path.join(__dirname, `stage-thread${path.extname(__filename)}`);
  // the same file as TypeScript (tsx) or compiled JavaScript (dist/)
  const worker = new Worker(`${entry.endsWith('.ts') ? "require('tsx/cjs');" : ''}require(${JSON.stringify(entry)});`, {
    eval: true,
    workerData: data,
    resourceLimits: { maxYoungGenerationSizeMb: 8 },
  });
  let failure: Error | undefined;
  let closed = false;
  const waiting: { resolve: (s: Staged) => void; reject: (e: Error) => void }[] = [];
  const fail = (err: Error) => {
    failure ??= err;
    for (const w of waiting.splice(0)) w.reject(failure);
  };
  worker.on('message', (m: FromStageThread) => {
    if (m.type === 'error') return fail(new Error(`staging the records failed: ${m.message}`));
    const bufs: Partial<Record<StageKind, Buffer>> = {};
    for (const p of m.parts) bufs[p.kind] = Buffer.from(p.buf, 0, p.length);
    const empty = Buffer.alloc(0);
    waiting.shift()?.resolve({
      raw: bufs.raw ?? empty,
      processed: bufs.processed ?? empty,
      dlq: bufs.dlq ?? empty,
      records: m.records,
      processed_n: m.processed_n,
      dead: m.dead,
      reasons: m.reasons,
      // the buffers go back to be filled again
      release: () => {
        if (closed || failure) return;
        for (const p of m.parts) worker.postMessage({ type: 'recycle', kind: p.kind, buf: p.buf } satisfies ToStageThread, [p.buf]);
      },
    });
  });
  worker.on('error', (e) => fail(e));
  worker.on('exit', () => fail(new Error('the record-staging thread ended')));
  const send = (m: ToStageThread) => {
    if (!closed && !failure) worker.postMessage(m);
  };
  return {
    remember: (texts, first) => send({ type: 'remember', texts, first }),
    take: (texts) => send({ type: 'take', texts }),
    cut: () => {
      if (failure) return Promise.reject(failure);
      const p = new Promise<Staged>((resolve, reject) => waiting.push({ resolve, reject }));
      send({ type: 'cut' });
      return p;
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await worker.terminate();
    },
  };
}
