/**
 * `etlReplayDlq`: re-validates a run's dead letters (from the database) with the pipeline's
 * current rules and lookups, after a rule or lookup fix. Recovered records move from dlq_users to
 * processed_users (one transaction); those still invalid keep their row with the new reason. Two
 * files record the replay — `processed_users/etl_<run>_replay_<stamp>.jsonl` and
 * `dlq/invalid_users_<run>_replay_<stamp>.jsonl` — staged in GCS and published to SFTP.
 */
import { Readable } from 'node:stream';
import { ApplicationFailure, heartbeat } from '@temporalio/activity';
import type { Storage } from '@google-cloud/storage';
import type { Config } from '../config';
import type { SftpPool } from '../sftp';
import { toApplicationFailure, withFailureMapping } from '../activities/failures';
import { getPipeline, remoteBase, etlSftp, stagedObjects } from './common';
import { openEtlDb } from './db';
import { loadPipelineLookups, processRecord, type DeadLetter } from './transform';
import { schemaForPipeline } from './validation';
import type { PublishedFile } from './save';
import type * as PgpDelivery from '../pgp/delivery';
import type * as PgpKeys from '../pgp/keys';
import { lazyFunctions } from '../activities/lazy';
/* eslint-disable @typescript-eslint/no-require-imports */
const { encryptDelivery } = lazyFunctions(() => require('../pgp/delivery') as typeof PgpDelivery, ['encryptDelivery']);
const { usableDeliveryKeys } = lazyFunctions(() => require('../pgp/keys') as typeof PgpKeys, ['usableDeliveryKeys']);
/* eslint-enable @typescript-eslint/no-require-imports */

export interface ReplayInput {
  pipeline: string;
  stamp: string;
  replayStamp: string;
}

export interface ReplayResult {
  pipeline: string;
  run_id: string;
  replayed: number;
  recovered: number;
  still_dead: number;
  reasons: Record<string, number>;
  files: PublishedFile[];
}

export function createEtlReplayDlq(deps: { config: Config; storage: Storage; sftpPool: SftpPool }) {
  return async function etlReplayDlq(input: ReplayInput): Promise<ReplayResult> {
    const p = getPipeline(deps.config, input.pipeline);
    const lookups = await loadPipelineLookups(deps.config, input.pipeline, deps.storage);
    const schema = schemaForPipeline(input.pipeline, p.validation);
    const objects = stagedObjects(input.pipeline, p, input.stamp);
    const suffix = `_replay_${input.replayStamp}.jsonl`;
    const rel = { processed: objects.relative.processed.replace(/\.jsonl$/, suffix), dlq: objects.relative.dlq.replace(/\.jsonl$/, suffix) };
    const result: ReplayResult = { pipeline: input.pipeline, run_id: input.stamp, replayed: 0, recovered: 0, still_dead: 0, reasons: {}, files: [] };
    const processedLines: string[] = [];
    const dlqLines: string[] = [];
    heartbeat();

    const db = await withFailureMapping('database', () => openEtlDb(p.database, deps.config.etl.sqlite_path));
    try {
      const dead = await db.deadLetters(input.pipeline, input.stamp);
      if (dead.length === 0 && (await db.counts(input.pipeline, input.stamp)).raw === 0) {
        throw ApplicationFailure.create({ type: 'UnknownRun', nonRetryable: true, message: `pipeline ${input.pipeline} has no saved run ${input.stamp} in its database` });
      }
      const seen = new Map((await db.processedIds(input.pipeline, input.stamp)).map((id) => [id, 0]));
      await db.loadRun(input.pipeline, input.stamp, { replace: false }, async (sink) => {
        const recovered: number[] = [];
        for (const d of dead) {
          result.replayed++;
          let rec: unknown = d.data;
          try {
            rec = JSON.parse(d.data);
          } catch {
            /* stays text: dead again below */
          }
          const r = typeof rec === 'string' && rec === d.data && d.rule === 'record:json'
            ? ({ ok: false, dead: { line: d.line, id: d.id, rule: d.rule, error_reason: d.error_reason, record: d.data } } as const)
            : processRecord(rec, d.line, { schema, lookups, seen });
          if (r.ok) {
            result.recovered++;
            recovered.push(d.line);
            const data = JSON.stringify(r.value);
            processedLines.push(data);
            const code = r.value.department_code;
            await sink.processed([{ id: r.id, data, department_code: typeof code === 'string' ? code : null }]);
          } else {
            result.still_dead++;
            result.reasons[r.dead.rule] = (result.reasons[r.dead.rule] ?? 0) + 1;
            dlqLines.push(JSON.stringify(r.dead satisfies DeadLetter));
            await sink.dlq([{ line: d.line, id: d.id, error_reason: r.dead.error_reason, rule: r.dead.rule, data: d.data }]);
          }
        }
        await sink.removeDlq(recovered);
      });
    } catch (err) {
      throw toApplicationFailure(err, 'database');
    } finally {
      await db.close();
    }

    try {
      const bucket = deps.storage.bucket(deps.config.gcs.bucket);
      const { endpoint, tempSuffix } = etlSftp(deps.config, p.sftp);
      const base = remoteBase(deps.config, input.pipeline, p);
      for (const [r, lines] of [
        [rel.processed, processedLines],
        [rel.dlq, dlqLines],
      ] as const) {
        const body = lines.map((l) => `${l}\n`).join('');
        await bucket.file(objects.prefix + r).save(body, { resumable: false, contentType: 'application/x-ndjson' });
        // with the pipeline's `pgp` block, encrypted (and signed) as etlSave's files are
        const pgp = p.pgp;
        const keys = pgp ? await usableDeliveryKeys(deps.config, input.pipeline, pgp, new Date(), `etl.pipelines.${input.pipeline}.pgp`) : undefined;
        const remote = `${base}/${r}${pgp ? pgp.suffix : ''}`;
        const dir = remote.slice(0, remote.lastIndexOf('/'));
        const plain = Readable.from([Buffer.from(body)]);
        const enc = pgp && keys ? encryptDelivery(plain, keys, pgp, { size: Buffer.byteLength(body), fileName: r.slice(r.lastIndexOf('/') + 1) }) : undefined;
        const pub = await deps.sftpPool.withSession(endpoint, async (s) => {
          await s.mkdirp(dir);
          return s.publishStream(enc?.stream ?? plain, dir, remote.slice(dir.length + 1), { hash: ['sha256'], tempSuffix: tempSuffix });
        });
        const measured = enc?.plaintext();
        result.files.push({ remote_path: remote, bytes: pub.bytes, sha256: pub.hashes.sha256, ...(measured ? { plaintext: { bytes: measured.bytes, sha256: measured.sha256 } } : {}) });
      }
    } catch (err) {
      throw toApplicationFailure(err, 'SFTP');
    }
    return result;
  };
}
