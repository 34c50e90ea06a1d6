import { proxyActivities } from '@temporalio/workflow';
import type { Activities, TransferSummary, VerifyResult } from '../activities';
import { heartbeatingTransferOptions, verificationOptions } from '../workflows/activity-options';

export interface ApiTransferInput {
  exportName: string;
  date: string;
  gcsPath: string;
}

const heartbeatingTransfer = proxyActivities<Activities>(heartbeatingTransferOptions);
const verification = proxyActivities<Activities>(verificationOptions);

/** The HTTP API's POST /transfer, durable like any run. */
export async function TransferWorkflow(input: ApiTransferInput): Promise<TransferSummary> {
  return heartbeatingTransfer.transferFiles(input);
}

/** The HTTP API's POST /verify. */
export async function VerifyWorkflow(input: ApiTransferInput): Promise<VerifyResult> {
  return verification.verifySync(input);
}
