import type { ActivityOptions } from '@temporalio/workflow';

// One options object per kind of activity (DESIGN.md §2), shared by every workflow.
export const longBigQueryJobOptions: ActivityOptions = {
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '10 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes', maximumAttempts: 5 },
};
// The transfer heartbeats at least every `transfer.heartbeat_every_ms` (≤ 10 s), so a worker that
// died is noticed within 20 s and its attempt retried elsewhere.
export const heartbeatingTransferOptions: ActivityOptions = {
  startToCloseTimeout: '12 hours',
  heartbeatTimeout: '20 seconds',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '2 minutes', maximumAttempts: 10 },
};
export const verificationOptions: ActivityOptions = {
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 5 },
};
export const shortNotifyOptions: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '2 seconds', maximumAttempts: 3 },
};
