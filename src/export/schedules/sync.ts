import { ScheduleNotFoundError, type Client } from '@temporalio/client';
import type { Config } from '../../config';
import { desiredSchedules, scheduleFingerprint, toScheduleOptions } from './desired';

export interface SyncPlan {
  create: string[];
  update: string[];
  delete: string[];
  unchanged: string[];
}

/** Makes this deployment's Temporal Schedules (those of its task queue) match the config; `dryRun` only plans. */
export async function syncSchedules(client: Client, config: Config, opts: { dryRun?: boolean } = {}): Promise<SyncPlan> {
  const desired = desiredSchedules(config);
  const existing = new Map<string, string | undefined>();
  // describe is consistent; the list (visibility) may lag behind a recent create or delete
  const describeOurs = async (id: string) => {
    try {
      const d = await client.schedule.getHandle(id).describe();
      if (d.memo?.bqSftpTaskQueue === config.temporal.task_queue) existing.set(id, d.memo?.bqSftpFingerprint as string | undefined);
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) throw err;
    }
  };
  const candidates = new Set(desired.map((d) => d.id));
  for await (const s of client.schedule.list()) {
    if (s.memo?.bqSftpTaskQueue === config.temporal.task_queue) candidates.add(s.scheduleId);
  }
  for (const id of candidates) await describeOurs(id);
  const plan: SyncPlan = { create: [], update: [], delete: [], unchanged: [] };
  for (const d of desired) {
    if (!existing.has(d.id)) plan.create.push(d.id);
    else if (existing.get(d.id) !== scheduleFingerprint(d)) plan.update.push(d.id);
    else plan.unchanged.push(d.id);
  }
  plan.delete = [...existing.keys()].filter((id) => !desired.some((d) => d.id === id)).sort();
  if (opts.dryRun) return plan;

  for (const d of desired) {
    const options = toScheduleOptions(d);
    if (plan.create.includes(d.id)) {
      await client.schedule.create(options);
    } else if (plan.update.includes(d.id)) {
      // memo cannot be changed by update: recreate so the stored fingerprint follows the spec
      await client.schedule.getHandle(d.id).delete();
      await client.schedule.create(options);
    }
  }
  for (const id of plan.delete) {
    try {
      await client.schedule.getHandle(id).delete();
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) throw err;
    }
  }
  return plan;
}
