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

const inProcess = new Map<string, Promise<unknown>>();

/**
 * `gcs.expiration_days` as a lifecycle rule on one export's prefix (idempotent). The bucket's
 * rules are one field, so this is a read-modify-write: the write carries the metageneration it
 * read (ifMetagenerationMatch) and is redone on 412, so a concurrent export's rule is never lost;
 * within one process the updates of a bucket also take turns (the fan-out's children).
 */
export async function ensureExpiration(storage: Storage, bucket: string, prefix: string, days: number): Promise<boolean> {
  const before = inProcess.get(bucket) ?? Promise.resolve();
  const mine = before.catch(() => undefined).then(() => updateExpiration(storage, bucket, prefix, days));
  inProcess.set(bucket, mine);
  try {
    return await mine;
  } finally {
    if (inProcess.get(bucket) === mine) inProcess.delete(bucket);
  }
}

async function updateExpiration(storage: Storage, bucket: string, prefix: string, days: number): Promise<boolean> {
  const b = storage.bucket(bucket);
  for (let attempt = 1; ; attempt++) {
    const [metadata] = await b.getMetadata();
    const rules = withExpirationRule((metadata.lifecycle?.rule ?? []) as LifecycleRule[], prefix, days);
    if (!rules) return false;
    const metageneration = metadata.metageneration === undefined ? undefined : Number(metadata.metageneration);
    try {
      await b.setMetadata({ lifecycle: { rule: rules as StorageLifecycleRule[] } }, metageneration === undefined ? {} : { ifMetagenerationMatch: metageneration });
      return true;
    } catch (err) {
      // 412: someone changed the bucket since we read it; read again (bounded)
      if ((err as { code?: number }).code !== 412 || attempt >= 8) throw err;
      await new Promise((r) => setTimeout(r, 50 * attempt + Math.floor(Math.random() * 50)));
    }
  }
}
