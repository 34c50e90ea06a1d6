/**
 * Where the one-pass extract stages its records (stager.ts), behind the small interface the
 * extract uses. (A thread of its own was tried: in bench P8 the second isolate's parse, JIT and
 * collections about doubled the worker's CPU per record for no gain in time on 2 cores.)
 */
import { RecordStager, type StageContext, type StagedChunk } from './stager';

export type Staged = StagedChunk & { release: () => void };

export interface Stage {
  /** stored raw lines of an earlier attempt, from line `first` on: their ids count as seen */
  remember(texts: string[], first: number): void;
  /** one page's records: their texts as sent, and the parsed records (used on this thread) */
  take(texts: string[], records: unknown[]): void;
  /** the chunk taken so far; `release` once its bytes are stored */
  cut(): Promise<Staged>;
  close(): Promise<void>;
}

/** On the activity's thread. */
export function inlineStage(ctx: StageContext, appended: string[] | undefined, line: number): Stage {
  const stager = new RecordStager(ctx, appended, line);
  return {
    remember: (texts, first) => texts.forEach((t, i) => stager.remember(t, first + i)),
    take: (texts, records) => stager.take(texts, records),
    cut: () => Promise.resolve(stager.cut()),
    close: async () => undefined,
  };
}
