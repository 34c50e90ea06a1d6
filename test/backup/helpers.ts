import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Config } from '../../src/config';
import { testConfig } from '../helpers/config';
import { stack, uniqueId } from '../helpers/stack';
import { storage } from '../helpers/export';
import { BACKUP_DEMO_DATASET } from '../../src/stack/seed-backup';

export { BACKUP_DEMO_DATASET };

/** A config with one backup of the demo dataset (name unique per test) and a private SFTP folder. */
export function backupTestConfig(backup: Record<string, unknown>, overrides: Record<string, unknown> = {}): { config: Config; name: string } {
  const name = uniqueId('bk').replace(/-/g, '_');
  const config = testConfig({ ...overrides, backups: { [name]: { dataset: BACKUP_DEMO_DATASET, ...backup } } });
  return { config, name };
}

let pythonReady = false;
/** pyarrow from PyPI: the independent Parquet reader (installed with pip if missing). */
export function ensurePyarrow(): void {
  if (pythonReady) return;
  const probe = spawnSync('python3', ['-c', 'import pyarrow, pyarrow.parquet'], { stdio: 'ignore' });
  if (probe.status !== 0) execFileSync('python3', ['-m', 'pip', 'install', '--quiet', 'pyarrow'], { stdio: 'inherit' });
  pythonReady = true;
}

export interface ParquetFacts {
  rows: number;
  columns: string[];
  types: Record<string, string>;
  compression: string[];
  sample: Record<string, unknown>[];
}

const PY = `
import json, sys, pyarrow.parquet as pq
files = sys.argv[1:]
rows = 0; cols = None; types = None; comp = set(); sample = []
for f in files:
    pf = pq.ParquetFile(f)
    rows += pf.metadata.num_rows
    s = pf.schema_arrow
    cols = [n for n in s.names]; types = {n: str(s.field(n).type) for n in s.names}
    for g in range(pf.metadata.num_row_groups):
        rg = pf.metadata.row_group(g)
        for c in range(rg.num_columns): comp.add(rg.column(c).compression)
    if not sample:
        sample = pf.read_row_group(0).slice(0, 5).to_pylist() if pf.metadata.num_row_groups else []
finite = lambda v: str(v) if isinstance(v, float) and v != v or v in (float('inf'), float('-inf')) else v  # NaN/inf: not JSON
sample = [{k: finite(v) for k, v in r.items()} for r in sample]
print(json.dumps({"rows": rows, "columns": cols, "types": types, "compression": sorted(comp), "sample": sample}, default=str, ensure_ascii=False))
`;

/** What pyarrow sees in these Parquet files (read together as one table). */
export function readParquet(files: string[]): ParquetFacts {
  ensurePyarrow();
  return JSON.parse(execFileSync('python3', ['-c', PY, ...files], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })) as ParquetFacts;
}

/** Downloads GCS objects to a temp folder (for pyarrow). */
export async function downloadGcs(bucket: string, names: string[]): Promise<string[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bqsftp-bk-'));
  const out: string[] = [];
  for (const n of names) {
    const local = path.join(dir, path.basename(n));
    await storage().bucket(bucket).file(n).download({ destination: local });
    out.push(local);
  }
  return out;
}

export async function gcsNames(bucket: string, prefix: string): Promise<string[]> {
  const [files] = await storage().bucket(bucket).getFiles({ prefix, autoPaginate: true });
  return files.map((f) => f.name).sort();
}

export function stagingBucket(): string {
  return stack().gcs.bucket;
}
