import { clientFor } from '../../src/cli/config-option';
import { runUrl } from '../../src/activities/notify';
import { DEMO_PIPELINE, writeEtlDemoConfig } from '../../src/etl/demo-config';
import { startEtlRun } from '../../src/etl/starter';
import { requireStack } from '../../src/stack/stack-check';
import { createWorker } from '../../src/worker';

/**
 * The ETL family (seed 002) end to end: the demo pipeline pages the stack's users API (10,000
 * users, 7 % invalid in known ways), validates them with dead letters, enriches the rest from
 * departments.csv, loads SQLite and publishes the three JSONL files to SFTP as the key +
 * passphrase user — one EtlWorkflow.
 */
export async function run(): Promise<void> {
  const info = await requireStack();
  const { path: configPath, config } = writeEtlDemoConfig(info);
  const p = config.etl.pipelines[DEMO_PIPELINE];
  const w = (s: string) => process.stdout.write(`${s}\n`);
  w(`\nETL pipeline "${DEMO_PIPELINE}": ${p.source.url} (limit/skip, ${p.source.page_size} per page) → validate → enrich from ${p.lookups[0].file}`);
  w(`  → SQLite ${config.etl.sqlite_path} + SFTP ${config.sftp!.username}@${config.sftp!.host}:${config.sftp!.port}${p.remote_base} (key + passphrase)\n`);
  const client = await clientFor(config);
  const worker = await createWorker({ config });
  try {
    const handle = await startEtlRun(client, config, { pipeline: DEMO_PIPELINE });
    const { runId } = await handle.describe();
    w(`Running ${handle.workflowId} …`);
    const r = await worker.runUntil(handle.result());
    w(`\n${r.counts.raw} raw = ${r.counts.processed} processed + ${r.counts.dead_lettered} dead letters (${r.extract.pages} pages)`);
    w('Dead letters by rule:');
    for (const [rule, n] of Object.entries(r.reasons).sort((a, b) => b[1] - a[1])) w(`  ${String(n).padStart(6)}  ${rule}`);
    w(`\n${r.database} rows: raw_users ${r.rows.raw}, processed_users ${r.rows.processed}, dlq_users ${r.rows.dlq}`);
    w('Files on SFTP (written as .partial, renamed into place):');
    for (const f of r.files) w(`  ${f.remote_path}  ${f.bytes} bytes  sha256 ${f.sha256.slice(0, 16)}…`);
    w(
      `\nTry next:\n  npx bq-sftp etl dlq ${DEMO_PIPELINE} --run ${r.run_id} -n 5 -c ${configPath}\n` +
        `  npx bq-sftp etl runs -c ${configPath}\n  npx bq-sftp etl replay-dlq ${DEMO_PIPELINE} --run ${r.run_id} -c ${configPath}   (with a worker running)\n`,
    );
    w(`See this run in the Temporal Web UI:\n  ${runUrl(config, handle.workflowId, runId)}\n`);
  } finally {
    await client.connection.close();
    await worker.deps.sftpPool.closeAll();
  }
}
