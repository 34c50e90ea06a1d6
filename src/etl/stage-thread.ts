/**
 * The record-staging thread of the one-pass extract (see stage-client.ts): parses each record's
 * text, validates, enriches and stages it (stager.ts), and hands each chunk's three texts back as
 * transferred buffers, which come back to be filled again once they are stored.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { RecordStager, STAGE_KINDS } from './stager';
import { fastAcceptFor, schemaForPipeline } from './validation';
import type { FromStageThread, StageThreadData, ToStageThread } from './stage-client';

const port = parentPort!;
const data = workerData as StageThreadData;
let failed = false;
try {
  const ctx = { schema: schemaForPipeline(data.pipeline, data.rules), lookups: data.lookups, fast: fastAcceptFor(data.pipeline, data.rules), seen: new Map<string, number>() };
  const stager = new RecordStager(ctx, data.appended, data.line);
  port.on('message', (m: ToStageThread) => {
    if (failed) return;
    try {
      if (m.type === 'take') stager.take(m.texts);
      else if (m.type === 'remember') m.texts.forEach((t, i) => stager.remember(t, m.first + i));
      else if (m.type === 'recycle') stager.recycle(m.kind, Buffer.from(m.buf));
      else {
        const c = stager.cut();
        const out: FromStageThread = { type: 'cut', records: c.records, processed_n: c.processed_n, dead: c.dead, reasons: c.reasons, parts: [] };
        const transfer: ArrayBuffer[] = [];
        for (const k of STAGE_KINDS) {
          const b = c[k];
          if (b.length === 0) continue;
          // the whole buffer goes (it is its own ArrayBuffer), with how much of it is filled
          out.parts.push({ kind: k, buf: b.buffer as ArrayBuffer, length: b.length });
          transfer.push(b.buffer as ArrayBuffer);
        }
        port.postMessage(out, transfer);
      }
    } catch (err) {
      failed = true;
      port.postMessage({ type: 'error', message: (err as Error)?.stack ?? String(err) } satisfies FromStageThread);
    }
  });
} catch (err) {
  port.postMessage({ type: 'error', message: (err as Error)?.stack ?? String(err) } satisfies FromStageThread);
}
