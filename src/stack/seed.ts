import { createStorage } from '../gcs/client';
import type { StackInfo } from './stack-info';

/** Creates the exports bucket on the GCS emulator (the BigQuery demo data comes from YAML). */
export async function seedGcs(info: StackInfo): Promise<void> {
  const storage = createStorage({ apiEndpoint: info.gcs.endpoint, projectId: info.gcs.projectId });
  const bucket = storage.bucket(info.gcs.bucket);
  const [exists] = await bucket.exists();
  if (!exists) await storage.createBucket(info.gcs.bucket);
}
