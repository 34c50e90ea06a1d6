// Pure naming rules shared by the workflow (deterministic sandbox), activities and the CLI.

export const EXPORT_FORMATS = ['CSV', 'JSON', 'AVRO', 'PARQUET'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** `export-<name>-<YYYY-MM-DD>`: one run per export and logical date. */
export function exportWorkflowId(exportName: string, date: string): string {
  return `export-${exportName}-${date}`;
}

export function dailyWorkflowId(date: string): string {
  return `daily-exports-${date}`;
}

/** 2025-01-08 → 20250108 */
export function compactDate(date: string): string {
  return date.replace(/-/g, '');
}

/** The dated GCS prefix a run exports into: `<export>/<YYYYMMDD>/`. */
export function exportObjectPrefix(exportName: string, date: string): string {
  return `${exportName}/${compactDate(date)}/`;
}

export function fileExtension(format: string, compression: string): string {
  const base = format.toLowerCase() === 'json' ? 'json' : format.toLowerCase();
  const gz = compression.toUpperCase() === 'GZIP' && (format === 'CSV' || format === 'JSON') ? '.gz' : '';
  return `${base}${gz}`;
}

/** Files of one run are `<Prefix>_<YYYYMMDD>-<12 digit index>.<ext>`; this is the part before the index. */
export function runFileStem(filePrefix: string, date: string): string {
  return `${filePrefix}_${compactDate(date)}-`;
}
