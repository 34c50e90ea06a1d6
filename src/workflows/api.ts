import { proxyActivities } from '@temporalio/workflow';
import type { Activities, TransferSummary, VerifyResult } from '../activities';

export interface ApiTransferInput {
  exportName: string;
  date: string;
  gcsPath: string;
}

const heartbeatingTransfer = proxyActivities<Activities>({
  startToCloseTimeout: '12 hours',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '2 minutes', maximumAttempts: 10 },
});
const verification = proxyActivities<Activities>({
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 5 },
});

/** The HTTP API's POST /transfer, durable like any run. */
export async function TransferWorkflow(input: ApiTransferInput): Promise<TransferSummary> {
  return heartbeatingTransfer.transferFiles(input);
}

/** The HTTP API's POST /verify. */
export async function VerifyWorkflow(input: ApiTransferInput): Promise<VerifyResult> {
  return verification.verifySync(input);
}
