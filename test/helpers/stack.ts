import crypto from 'node:crypto';
import { readStackInfo, type StackInfo } from '../../src/stack/stack-info';

process.env.METADATA_SERVER_DETECTION = 'none';

let cached: StackInfo | undefined;
/** The running local stack (started by `npm test` / `npm run stack -- up`). */
export function stack(): StackInfo {
  cached ??= readStackInfo();
  return cached;
}

export function uniqueId(prefix: string): string {
  return `${prefix}-${crypto.randomBytes(4).toString('hex')}`;
}

export function sha256(data: Buffer): string {
  return crypto.createHash('sha256').update(data).digest('hex');
}
