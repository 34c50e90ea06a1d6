/**
 * The fault suite's counts: printed at the end of each file and appended to
 * `.stack/logs/fault-figures.jsonl`, where the closing note's figures come from.
 */
import fs from 'node:fs';
import path from 'node:path';
import { stackLayout } from '../../../src/stack/layout';

const FILE = path.join(stackLayout().logsDir, 'fault-figures.jsonl');

export function reportFigures(caseId: string, figures: Record<string, unknown>): void {
  const line = `${caseId}: ${Object.entries(figures)
    .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(', ')}`;
  process.stdout.write(`# FIGURES ${line}\n`);
  fs.mkdirSync(path.dirname(FILE), { recursive: true });
  fs.appendFileSync(FILE, JSON.stringify({ case: caseId, at: new Date().toISOString(), ...figures }) + '\n');
}

/** The number of trials: BQSFTP_FAULT_TRIALS overrides every case's default (e.g. 1 for a quick look). */
export function trials(defaultCount: number): number {
  const raw = Number(process.env.BQSFTP_FAULT_TRIALS);
  return Number.isInteger(raw) && raw > 0 ? raw : defaultCount;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every 50 ms until it returns a value, or throws after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => T | undefined | Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    await sleep(50);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
