/**
 * The SQLite load thread (see sqlite-load.ts): opens the database, starts the run's one
 * transaction (deleting the run's rows first), turns the staged files' bytes it is sent into rows
 * and inserts them as they come; commits when told to, rolls back on the first error (or when the
 * thread is ended without a commit: the transaction is never committed).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openSqlite, type RunSink } from './db';
import { RowSplitter, type Row, type RowKind } from './rows';
import type { FromLoadThread, LoadThreadData, ToLoadThread } from './sqlite-load';

const port = parentPort!;
const data = workerData as LoadThreadData;
const post = (m: FromLoadThread) => port.postMessage(m);
const errorOf = (err: unknown): FromLoadThread => ({ type: 'error', message: (err as Error)?.message ?? String(err), code: (err as { code?: string })?.code });

function insert(sink: RunSink, kind: RowKind, rows: Row[]): Promise<void> {
  // better-sqlite3 is synchronous: the rows are in (or the promise rejected) when the call returns
  if (kind === 'raw') return sink.raw(rows as never);
  if (kind === 'processed') return sink.processed(rows as never);
  return sink.dlq(rows as never);
}

try {
  const db = openSqlite(data.file);
  let sink: RunSink | undefined;
  let commit!: () => void;
  let fail!: (err: unknown) => void;
  const done = new Promise<void>((resolve, reject) => ((commit = resolve), (fail = reject)));
  const splitters: Partial<Record<RowKind, RowSplitter>> = {};
  let failed = false;
  const failWith = (err: unknown) => {
    failed = true;
    fail(err);
  };
  port.on('message', (m: ToLoadThread) => {
    if (failed) return;
    try {
      if (m.type === 'commit') return commit();
      const splitter = (splitters[m.kind] ??= new RowSplitter(m.kind));
      if (m.type === 'chunk') {
        insert(sink!, m.kind, splitter.push(Buffer.from(m.buf))).then(() => post({ type: 'credit' }), failWith);
      } else {
        insert(sink!, m.kind, splitter.end()).then(() => post({ type: 'rows', kind: m.kind, lines: splitter.lines }), failWith);
      }
    } catch (err) {
      failWith(err); // a line that is not what its file holds (rowOf)
    }
  });
  db.loadRun(data.pipeline, data.runId, { replace: true }, async (s) => {
    sink = s;
    await done;
  })
    .then(
      () => post({ type: 'committed' }),
      (err: unknown) => post(errorOf(err)),
    )
    .finally(() => {
      void db.close();
      port.close();
    });
} catch (err) {
  post(errorOf(err));
  port.close();
}
