import type { DataConverter } from '@temporalio/common';
import { encryptionCodecFor, type EncryptionSettings } from './encryption';

/**
 * The data converter of a Temporal client or worker: undefined (the SDK default) unless
 * encryption is configured.
 *
 * Failure messages and stack traces are left as they are: encoding them too
 * (`DefaultFailureConverter({ encodeCommonAttributes: true })`) would have to be built into the
 * pre-bundled workflow code (src/temporal/workflow-bundle.ts), or workflow failures would still
 * be written in clear.
 */
export function dataConverterFor(encryption: EncryptionSettings | undefined): DataConverter | undefined {
  const codec = encryptionCodecFor(encryption);
  return codec ? { payloadCodecs: [codec] } : undefined;
}
