import { fileExtension, runFileStem } from './naming';

export interface ExportStatementInput {
  query: string;
  bucket: string;
  objectPrefix: string; // `<export>/<YYYYMMDD>/`
  filePrefix: string;
  date: string; // already validated YYYY-MM-DD
  format: string;
  compression: string;
  header: boolean;
  fieldDelimiter: string;
}

function sqlString(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/**
 * `{date}` and `{date_nodash}` are replaced by the run date, which reaches this function only
 * after strict validation (digits and dashes of a real calendar day), never as raw user text.
 * The date is also bound as the query parameter `@run_date` for queries that prefer it.
 */
export function renderQuery(query: string, date: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) throw new Error(`run date "${date}" is not YYYY-MM-DD`);
  return query.replace(/\{date\}/g, date).replace(/\{date_nodash\}/g, date.replace(/-/g, ''));
}

export function exportUri(i: Pick<ExportStatementInput, 'bucket' | 'objectPrefix' | 'filePrefix' | 'date' | 'format' | 'compression'>): string {
  return `gs://${i.bucket}/${i.objectPrefix}${runFileStem(i.filePrefix, i.date)}*.${fileExtension(i.format, i.compression)}`;
}

/** The `EXPORT DATA` statement for one run (Parquet/Avro work on real BigQuery only). */
export function buildExportStatement(i: ExportStatementInput): string {
  const options: string[] = [`uri=${sqlString(exportUri(i))}`, `format=${sqlString(i.format)}`, 'overwrite=true'];
  if (i.format === 'CSV') {
    options.push(`header=${i.header ? 'true' : 'false'}`, `field_delimiter=${sqlString(i.fieldDelimiter)}`);
  }
  if (i.compression !== 'NONE') options.push(`compression=${sqlString(i.compression)}`);
  return `EXPORT DATA OPTIONS(${options.join(', ')}) AS\n${renderQuery(i.query, i.date).trim().replace(/;\s*$/, '')}`;
}
