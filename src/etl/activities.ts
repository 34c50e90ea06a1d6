import type { ActivityDeps } from '../activities';
import { createEtlExtract } from './extract';
import { createEtlExtractTransform } from './extract-transform';
import { createEtlTransform } from './transform';
import { createEtlSave } from './save';
import { createEtlReplayDlq } from './replay';

/**
 * The ETL family's activities (seed 002): extract+transform in one pass (validate, dead-letter,
 * enrich; `etlExtract` and `etlTransform` stay for runs started before it) → save (DB + SFTP).
 */
export function createEtlActivities(deps: ActivityDeps) {
  return {
    etlExtract: createEtlExtract(deps),
    etlExtractTransform: createEtlExtractTransform(deps),
    etlTransform: createEtlTransform(deps),
    etlSave: createEtlSave(deps),
    etlReplayDlq: createEtlReplayDlq(deps),
  };
}

export type EtlActivities = ReturnType<typeof createEtlActivities>;
export type { ExtractInput, ExtractResult, ExtractProgress } from './extract';
export type { ExtractTransformInput, ExtractTransformResult, ExtractTransformProgress } from './extract-transform';
export type { TransformInput, TransformResult, DeadLetter } from './transform';
export type { SaveInput, SaveResult, PublishedFile } from './save';
export type { ReplayInput, ReplayResult } from './replay';
