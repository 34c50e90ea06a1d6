/** Enrichment lookups: a CSV file (key column → value columns) applied to each valid record. */
import fs from 'node:fs';
import type { Storage } from '@google-cloud/storage';
import { parseGcsUri } from '../gcs/client';
import type { EtlLookupConfig } from './config';
import type { LoadedLookup } from './enrich';

/** RFC 4180 CSV: quoted fields, doubled quotes, CRLF or LF. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    }
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      field = '';
      if (row.length > 1 || row[0] !== '') rows.push(row);
      row = [];
    } else field += c;
  }
  if (field !== '' || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

export class LookupError extends Error {
  constructor(
    readonly type: 'LookupFileMissing' | 'LookupFileInvalid',
    message: string,
    readonly retryable = false,
  ) {
    super(message);
  }
}


async function readLookupFile(file: string, storage: Storage): Promise<string> {
  if (file.startsWith('gs://')) {
    const { bucket, prefix } = parseGcsUri(file);
    const f = storage.bucket(bucket).file(prefix);
    const [exists] = await f.exists();
    if (!exists) throw new LookupError('LookupFileMissing', `the lookup file ${file} does not exist`);
    return (await f.download())[0].toString('utf8');
  }
  try {
    return await fs.promises.readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new LookupError('LookupFileMissing', `the lookup file ${file} cannot be read on this worker (${code ?? (err as Error).message})`);
  }
}

export async function loadLookup(cfg: EtlLookupConfig, storage: Storage, where: string): Promise<LoadedLookup> {
  let text: string;
  try {
    text = await readLookupFile(cfg.file, storage);
  } catch (err) {
    if (err instanceof LookupError) throw new LookupError(err.type, `${where}.file: ${err.message}. Put the file there (or fix the path) and retry the run.`);
    throw err;
  }
  const rows = parseCsv(text.replace(/^\uFEFF/, ''));
  if (rows.length === 0) throw new LookupError('LookupFileInvalid', `${where}.file: ${cfg.file} is empty (it needs a header line with "${cfg.key_column}")`);
  const header = rows[0].map((h) => h.trim());
  const need = [cfg.key_column, ...Object.values(cfg.columns)];
  const missing = need.filter((c) => !header.includes(c));
  if (missing.length) {
    throw new LookupError('LookupFileInvalid', `${where}: ${cfg.file} has no column ${missing.map((m) => `"${m}"`).join(', ')} (its columns: ${header.join(', ')})`);
  }
  const keyIdx = header.indexOf(cfg.key_column);
  const table = new Map<string, Record<string, string>>();
  for (const r of rows.slice(1)) {
    const values: Record<string, string> = {};
    for (const [out, col] of Object.entries(cfg.columns)) values[out] = (r[header.indexOf(col)] ?? '').trim();
    table.set((r[keyIdx] ?? '').trim(), values);
  }
  return { config: cfg, file: cfg.file, table };
}

export { enrich, type LoadedLookup } from './enrich';
