/** Starting ETL runs from the CLI, tests and the demo (one run per pipeline and stamp). */
import { WorkflowExecutionAlreadyStartedError, type Client, type WorkflowHandle } from '@temporalio/client';
import type { Config } from '../config';
import { EtlReplayDlqWorkflow, EtlWorkflow, type EtlInput } from './workflow';
import { etlWorkflowId, isRunStamp, runStamp } from './naming';

export class EtlInputError extends Error {}

export function checkPipeline(config: Config, pipeline: string): void {
  if (!config.etl.pipelines[pipeline]) {
    const known = Object.keys(config.etl.pipelines);
    throw new EtlInputError(`unknown pipeline "${pipeline}": ${known.length ? `known: ${known.join(', ')}` : 'etl.pipelines is empty in this config'}`);
  }
}

export function checkStamp(stamp: string, flag = '--run'): string {
  if (!isRunStamp(stamp)) throw new EtlInputError(`${flag}: "${stamp}" is not a run id YYYYMMDD_HHMMSS (UTC), e.g. ${runStamp(new Date())}`);
  return stamp;
}

/**
 * Starts EtlWorkflow for a pipeline and stamp (default: now). A second start of the same run
 * while it runs joins it; after it closed, it runs again (and replaces its rows).
 */
export async function startEtlRun(client: Client, config: Config, opts: { pipeline: string; stamp?: string }): Promise<WorkflowHandle<typeof EtlWorkflow>> {
  checkPipeline(config, opts.pipeline);
  const stamp = checkStamp(opts.stamp ?? runStamp(new Date()));
  const input: EtlInput = { pipeline: opts.pipeline, stamp };
  const workflowId = etlWorkflowId(opts.pipeline, stamp);
  try {
    return await client.workflow.start(EtlWorkflow, {
      taskQueue: config.temporal.task_queue,
      workflowId,
      args: [input],
      workflowIdConflictPolicy: 'USE_EXISTING',
      staticSummary: `ETL ${opts.pipeline} run ${stamp}: source → validate/DLQ → enrich → database + SFTP`,
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return client.workflow.getHandle(workflowId);
    throw err;
  }
}

export async function startEtlReplay(client: Client, config: Config, opts: { pipeline: string; stamp: string }): Promise<WorkflowHandle<typeof EtlReplayDlqWorkflow>> {
  checkPipeline(config, opts.pipeline);
  checkStamp(opts.stamp);
  return client.workflow.start(EtlReplayDlqWorkflow, {
    taskQueue: config.temporal.task_queue,
    workflowId: `${etlWorkflowId(opts.pipeline, opts.stamp)}-replay-${runStamp(new Date())}`,
    args: [{ pipeline: opts.pipeline, stamp: opts.stamp }],
    workflowIdConflictPolicy: 'USE_EXISTING',
    staticSummary: `ETL ${opts.pipeline} run ${opts.stamp}: replay dead letters`,
  });
}
