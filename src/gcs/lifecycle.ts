import type { LifecycleRule as StorageLifecycleRule, Storage } from '@google-cloud/storage';

export interface LifecycleRule {
  action: { type: string; storageClass?: string };
  condition: { age?: number; matchesPrefix?: string[]; [k: string]: unknown };
}

export function expirationRule(prefix: string, days: number): LifecycleRule {
  return { action: { type: 'Delete' }, condition: { age: days, matchesPrefix: [prefix] } };
}

const isExpirationOf = (r: LifecycleRule, prefix: string) =>
  r.action?.type === 'Delete' && r.condition?.matchesPrefix?.length === 1 && r.condition.matchesPrefix[0] === prefix;

/**
 * The bucket's rules with exactly one "delete after `days`" rule for `prefix`; other rules are
 * kept as they are. Undefined when the bucket already has it.
 */
export function withExpirationRule(existing: LifecycleRule[], prefix: string, days: number): LifecycleRule[] | undefined {
  const ours = existing.filter((r) => isExpirationOf(r, prefix));
  if (ours.length === 1 && ours[0].condition.age === days) return undefined;
  return [...existing.filter((r) => !isExpirationOf(r, prefix)), expirationRule(prefix, days)];
}

/** `gcs.expiration_days` as a lifecycle rule on one export's prefix (idempotent). */
export async function ensureExpiration(storage: Storage, bucket: string, prefix: string, days: number): Promise<boolean> {
  const b = storage.bucket(bucket);
  const [metadata] = await b.getMetadata();
  const rules = withExpirationRule((metadata.lifecycle?.rule ?? []) as LifecycleRule[], prefix, days);
  if (!rules) return false;
  await b.setMetadata({ lifecycle: { rule: rules as StorageLifecycleRule[] } });
  return true;
}
