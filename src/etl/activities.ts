import type { ActivityDeps } from '../activities';
import { createEtlExtract } from './extract';
import { createEtlTransform } from './transform';
import { createEtlSave } from './save';
import { createEtlReplayDlq } from './replay';

/** The ETL family's activities (seed 002): extract → transform (validate, dead-letter, enrich) → save (DB + SFTP). */
export function createEtlActivities(deps: ActivityDeps) {
  return {
    etlExtract: createEtlExtract(deps),
    etlTransform: createEtlTransform(deps),
    etlSave: createEtlSave(deps),
    etlReplayDlq: createEtlReplayDlq(deps),
  };
}

export type EtlActivities = ReturnType<typeof createEtlActivities>;
export type { ExtractInput, ExtractResult, ExtractProgress } from './extract';
export type { TransformInput, TransformResult, DeadLetter } from './transform';
export type { SaveInput, SaveResult, PublishedFile } from './save';
export type { ReplayInput, ReplayResult } from './replay';
