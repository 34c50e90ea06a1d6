/**
 * A deliberately incompatible ExportWorkflow for the replay test: it checks the SFTP folder
 * (verifySync) before exporting, so its first command differs from every recorded history's
 * (bqExport). Replaying a real ExportWorkflow history against it must fail.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { Activities, VerifyResult } from '../../src/activities';
import type { ExportInput } from '../../src/export/workflow';
import { verificationOptions, longBigQueryJobOptions } from '../../src/workflows/activity-options';

const verification = proxyActivities<Activities>(verificationOptions);
const longBigQueryJob = proxyActivities<Activities>(longBigQueryJobOptions);

export async function ExportWorkflow(input: ExportInput): Promise<VerifyResult> {
  const before = await verification.verifySync({ exportName: input.exportName, date: input.date } as Parameters<Activities['verifySync']>[0]);
  await longBigQueryJob.bqExport({ exportName: input.exportName, date: input.date } as Parameters<Activities['bqExport']>[0]);
  return before;
}
