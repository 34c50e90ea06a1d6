import { loadConfig } from '../../src/config';
import { clientFor } from '../../src/cli/config-option';
import { printResult } from '../../src/cli/runs';
import { runUrl } from '../../src/activities/notify';
import { DEMO_DATE } from '../../src/stack/demo-data';
import { requireStack } from '../../src/stack/stack-check';
import { startExport } from '../../src/starter';
import { createWorker } from '../../src/worker';

/** The main job end to end on the local stack: product_data for the demo date. */
export async function run(): Promise<void> {
  const info = await requireStack();
  const config = loadConfig({ path: info.demoConfigPath });
  const exportName = 'product_data';
  const client = await clientFor(config);
  const worker = await createWorker({ config });
  process.stdout.write(`\nRunning export "${exportName}" for ${DEMO_DATE}: BigQuery → GCS → SFTP → verify …\n`);
  const handle = await startExport(client, config, { exportName, date: DEMO_DATE });
  const { runId } = await handle.describe();
  const result = await worker.runUntil(handle.result());
  const url = runUrl(config, handle.workflowId, runId);
  process.stdout.write('\n');
  printResult(result, url);
  process.stdout.write(`\nverify result:\n${JSON.stringify(result.verify, null, 2)}\n`);
  process.stdout.write(
    `\nOn the SFTP server (user ${info.sftp.passwordUser.username}): ${result.transfer.destination}` +
      `\nLocally: ${info.sftp.passwordUser.localRoot}${result.transfer.destination}` +
      `\n\nTry next:\n  npx bq-sftp worker -c ${info.demoConfigPath}        # a long-running worker` +
      `\n  npx bq-sftp run customer_data --date ${DEMO_DATE} -c ${info.demoConfigPath}` +
      `\n  ${info.temporal.uiUrl}  and  .tools/bin/temporal workflow list --query "ExportName='${exportName}'"` +
      `\n\nSee this run in the Temporal Web UI:\n  ${url}\n`,
  );
  await client.connection.close();
}
