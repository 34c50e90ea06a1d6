/**
 * Names of an ETL run and its files, shared by the workflow and the activities (no Node built-ins).
 *
 * A run is identified by its pipeline and a stamp `YYYYMMDD_HHMMSS` (UTC; the seed's file-name
 * stamp): workflow ID `etl-<pipeline>-<stamp>`, files `raw_users/records_<stamp>.jsonl`,
 * `processed_users/etl_<stamp>.jsonl` and `dlq/invalid_users_<stamp>.jsonl` under the staging
 * prefix in GCS and under the remote base on SFTP.
 */

export const RUN_STAMP_PATTERN = /^\d{8}_\d{6}$/;

export function runStamp(d: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}_${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
}

export function isRunStamp(s: string): boolean {
  if (!RUN_STAMP_PATTERN.test(s)) return false;
  const d = new Date(Date.UTC(+s.slice(0, 4), +s.slice(4, 6) - 1, +s.slice(6, 8), +s.slice(9, 11), +s.slice(11, 13), +s.slice(13, 15)));
  return runStamp(d) === s;
}

export function etlWorkflowId(pipeline: string, stamp: string): string {
  return `etl-${pipeline}-${stamp}`;
}

/** The three files of a run, relative to the staging prefix / remote base. */
export function runFiles(stamp: string): { raw: string; processed: string; dlq: string } {
  return {
    raw: `raw_users/records_${stamp}.jsonl`,
    processed: `processed_users/etl_${stamp}.jsonl`,
    dlq: `dlq/invalid_users_${stamp}.jsonl`,
  };
}

export function stagingPrefix(pipeline: string, configured?: string): string {
  const p = configured ?? `etl/${pipeline}/`;
  return p === '' || p.endsWith('/') ? p : `${p}/`;
}

export function etlScheduleId(taskQueue: string, pipeline: string): string {
  return `${taskQueue}-etl-${pipeline}`;
}
