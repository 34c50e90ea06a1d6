import { Context, heartbeat } from '@temporalio/activity';
import { StringDecoder } from 'node:string_decoder';
import type pg from 'pg';
import type { Config } from '../config';
import type { SftpPool, RemoteEntry } from '../sftp';
import { isSftpError } from '../sftp/errors';
import { joinRemote } from '../sftp/paths';
import { classifyPgError } from '../postgres/client';
import { CsvReader, type CsvRecord } from './csv';
import { globToRegExp, REPORTS, type ReportKind, type ReportSpec } from './report-files';
import { getTenant, IngestError } from './tenants';
import { sftpEndpointForTenant } from './sftp';
import type * as PgpInbound from '../pgp/inbound';
import { lazyFunctions } from '../activities/lazy';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { inboundStream } = lazyFunctions(() => require('../pgp/inbound') as typeof PgpInbound, ['inboundStream']);

export interface IngestFileInput {
  jobId: string;
  tenant: string;
  kind: ReportKind;
}

export interface BadRowsReport {
  count: number;
  /** the first lines with a bad value, with the reason */
  lines: { line: number; error: string }[];
}

export interface IngestFileResult {
  kind: ReportKind;
  file: string;
  rows: number;
  bad_rows: BadRowsReport;
}

const BATCH = 1000;
const MAX_REPORTED = 50;

/** The newest file of the folder matching the pattern: latest mtime, then the greatest name. */
export function newestMatch(entries: RemoteEntry[], pattern: string): RemoteEntry | undefined {
  const re = globToRegExp(pattern);
  const files = entries.filter((e) => e.type === 'file' && re.test(e.name));
  files.sort((a, b) => b.mtime.getTime() - a.mtime.getTime() || (a.name < b.name ? 1 : a.name > b.name ? -1 : 0));
  return files[0];
}

async function upsertBatch(client: pg.PoolClient, spec: ReportSpec, tenant: string, file: string, batch: Map<string, (string | number | null)[]>): Promise<void> {
  if (batch.size === 0) return;
  const cols = spec.columns;
  const arrays: unknown[][] = cols.map(() => []);
  for (const values of batch.values()) values.forEach((v, i) => arrays[i].push(v));
  const names = cols.map((c) => c.name);
  const unnest = cols.map((c, i) => `$${i + 3}::${c.pgType}[]`).join(', ');
  const nonKey = names.filter((n) => n !== spec.key);
  const sql =
    `INSERT INTO ${spec.table} (tenant_id, source_file, ${names.join(', ')}) ` +
    `SELECT $1, $2, * FROM unnest(${unnest}) ` +
    `ON CONFLICT (tenant_id, ${spec.key}) DO UPDATE SET ${nonKey.map((n) => `${n} = EXCLUDED.${n}`).join(', ')}, source_file = EXCLUDED.source_file, updated_at = now() ` +
    `WHERE (${nonKey.map((n) => `${spec.table}.${n}`).join(', ')}) IS DISTINCT FROM (${nonKey.map((n) => `EXCLUDED.${n}`).join(', ')})`;
  await client.query(sql, [tenant, file, ...arrays]);
  batch.clear();
}

/**
 * Loads the newest users/locations report of a tenant's SFTP folder into PostgreSQL: streamed
 * through a CSV reader, checked row by row (bad rows skipped, counted and reported by line),
 * upserted on the natural key in batches inside one transaction, so the file loads whole or not at all.
 */
export async function loadReportFile(config: Config, pool: pg.Pool, sftpPool: SftpPool, input: IngestFileInput): Promise<IngestFileResult> {
  const ctx = Context.current();
  const signal = ctx.cancellationSignal;
  const t = getTenant(config, input.tenant);
  const spec = REPORTS[input.kind];
  const fileCfg = input.kind === 'users' ? t.users_file : t.locations_file;
  const field = `ingest.tenants.${input.tenant}.${input.kind}_file`;
  if (!fileCfg) throw new IngestError('IngestNotConfigured', `${field} is not set: add { "folder": "/upload/…", "pattern": "${input.kind}_*.csv" } to load ${input.kind}`);
  const endpoint = sftpEndpointForTenant(config, t.sftp);
  const where = `folder ${fileCfg.folder} on SFTP connection "${t.sftp}" (tenant ${input.tenant})`;
  let rowsOk = 0;
  const bad: BadRowsReport = { count: 0, lines: [] };
  const ticker = setInterval(() => heartbeat({ kind: input.kind, rows: rowsOk, bad_rows: bad.count }), 2000);
  try {
    return await sftpPool.withSession(endpoint, async (session) => {
      let entries: RemoteEntry[];
      try {
        entries = await session.list(fileCfg.folder);
      } catch (err) {
        if (isSftpError(err, 'SftpNoSuchFile')) {
          throw new IngestError('IngestFileNotFound', `no file matching "${fileCfg.pattern}" in ${where}: the folder does not exist. Upload the ${input.kind} report there or fix ${field}.folder.`);
        }
        throw err;
      }
      const match = newestMatch(entries, fileCfg.pattern);
      if (!match) {
        throw new IngestError('IngestFileNotFound', `no file matching "${fileCfg.pattern}" in ${where}. Upload the ${input.kind} report there or fix ${field}.folder / pattern.`);
      }
      const path = joinRemote(fileCfg.folder, match.name);
      const delimiter = fileCfg.delimiter.toLowerCase() === 'tab' ? '\t' : fileCfg.delimiter;
      const reader = new CsvReader(delimiter);
      const decoder = new StringDecoder('utf8');
      const client = await pool.connect();
      let released = false;
      try {
        await client.query('BEGIN');
        let header: number[] | undefined;
        let needFields = 0;
        const batch = new Map<string, (string | number | null)[]>();
        const keyIndex = spec.columns.findIndex((c) => c.name === spec.key);
        const handle = async (rec: CsvRecord) => {
          if (!header) {
            const names = rec.fields.map((h, i) => (i === 0 ? h.replace(/^\uFEFF/, '') : h).trim().toLowerCase());
            const missing = spec.columns.filter((c) => c.required && !names.includes(c.name)).map((c) => c.name);
            if (missing.length) {
              throw new IngestError('IngestBadHeader', `${input.kind} file ${path} lacks the required column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}: its header is "${rec.fields.join(delimiter).slice(0, 300)}"; required: ${spec.columns.filter((c) => c.required).map((c) => c.name).join(', ')}. Fix the file (or ${field}.delimiter).`);
            }
            header = spec.columns.map((c) => names.indexOf(c.name));
            needFields = names.length;
            return;
          }
          const values: (string | number | null)[] = [];
          let error: string | undefined;
          for (let i = 0; i < spec.columns.length && !error; i++) {
            const idx = header[i];
            const raw = idx >= 0 ? rec.fields[idx] ?? '' : '';
            const parsed = spec.columns[i].parse(raw);
            if (parsed.ok) values.push(parsed.value);
            else error = `${spec.columns[i].name} ${parsed.error}`;
          }
          if (!error && rec.fields.length < needFields) error = `has ${rec.fields.length} fields, fewer than the header's ${needFields}`;
          if (error) {
            bad.count++;
            if (bad.lines.length < MAX_REPORTED) bad.lines.push({ line: rec.line, error });
            return;
          }
          batch.set(String(values[keyIndex]), values);
          rowsOk++;
          if (batch.size >= BATCH) await upsertBatch(client, spec, input.tenant, path, batch);
        };
        // *.pgp/*.gpg/*.asc: decrypted (and the signature checked) while read; a failure ends the loop before COMMIT
        const { stream } = await inboundStream(config, path, session.createReadStream(path));
        const onAbort = () => stream.destroy(new IngestError('Cancelled', 'cancelled'));
        signal.addEventListener('abort', onAbort, { once: true });
        try {
          for await (const chunk of stream) {
            for (const rec of reader.push(decoder.write(chunk as Buffer))) await handle(rec);
          }
          for (const rec of [...reader.push(decoder.end()), ...reader.end()]) await handle(rec);
        } finally {
          signal.removeEventListener('abort', onAbort);
        }
        if (!header) throw new IngestError('IngestBadHeader', `${input.kind} file ${path} is empty: it needs a header line with ${spec.columns.filter((c) => c.required).map((c) => c.name).join(', ')}`);
        await upsertBatch(client, spec, input.tenant, path, batch);
        const total = rowsOk + bad.count;
        const share = total ? bad.count / total : 0;
        if (share > fileCfg.max_bad_share) {
          throw new IngestError(
            'IngestTooManyBadRows',
            `${input.kind} file ${path}: ${bad.count} of ${total} rows have a bad value (${(share * 100).toFixed(1)} % > ${field}.max_bad_share ${fileCfg.max_bad_share * 100} %); nothing was loaded. First bad lines: ${bad.lines.slice(0, 10).map((l) => `line ${l.line}: ${l.error}`).join('; ')}`,
          );
        }
        await client.query('COMMIT');
        client.release();
        released = true;
        return { kind: input.kind, file: path, rows: rowsOk, bad_rows: bad };
      } finally {
        if (!released) client.release(true);
      }
    });
  } catch (err) {
    if (signal.aborted) throw signal.reason ?? err;
    throw classifyPgError(err);
  } finally {
    clearInterval(ticker);
  }
}
