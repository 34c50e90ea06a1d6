/** What the ETL activities share: the pipeline's config, its SFTP endpoint, GCS lines. */
import readline from 'node:readline';
import type { Storage } from '@google-cloud/storage';
import { ApplicationFailure } from '@temporalio/activity';
import type { Config } from '../config';
import { sftpConnection } from '../config';
import { sftpEndpointFor } from '../activities/sftp-endpoint';
import type { SftpEndpoint } from '../sftp';
import type { EtlPipelineConfig } from './config';
import { runFiles, stagingPrefix } from './naming';

export function getPipeline(config: Config, name: string): EtlPipelineConfig {
  const p = config.etl?.pipelines?.[name];
  if (!p) {
    const known = Object.keys(config.etl?.pipelines ?? {});
    throw ApplicationFailure.create({
      type: 'UnknownPipeline',
      nonRetryable: true,
      message: `etl.pipelines has no pipeline "${name}"${known.length ? ` (known: ${known.join(', ')})` : ' (none is configured)'}`,
    });
  }
  return p;
}

/** The named SFTP connection (`default`: the top-level `sftp` block) as an endpoint, from the worker's own config. */
export function etlSftp(config: Config, name: string): { endpoint: SftpEndpoint; directory: string; tempSuffix: string } {
  let conn: ReturnType<typeof sftpConnection>;
  try {
    conn = sftpConnection(config, name);
  } catch (err) {
    throw ApplicationFailure.create({ type: 'UnknownSftpConnection', nonRetryable: true, message: (err as Error).message });
  }
  return { endpoint: sftpEndpointFor(config, name), directory: conn.directory, tempSuffix: conn.temp_suffix };
}

export function remoteBase(config: Config, pipeline: string, p: EtlPipelineConfig): string {
  return (p.remote_base ?? `${etlSftp(config, p.sftp).directory}/etl/${pipeline}`).replace(/\/+$/, '') || '/';
}

/** GCS object names of the run's three staged files. */
export function stagedObjects(pipeline: string, p: EtlPipelineConfig, stamp: string) {
  const prefix = stagingPrefix(pipeline, p.staging_prefix);
  const f = runFiles(stamp);
  return { prefix, raw: prefix + f.raw, processed: prefix + f.processed, dlq: prefix + f.dlq, relative: f };
}

/** Lines of a GCS object, streamed. */
export async function* gcsLines(storage: Storage, bucket: string, name: string): AsyncGenerator<string> {
  const stream = storage.bucket(bucket).file(name).createReadStream({ validation: false });
  const rl = readline.createInterface({ input: stream, crlfDelay: Infinity });
  try {
    for await (const line of rl) if (line !== '') yield line;
  } finally {
    rl.close();
    stream.destroy();
  }
}

export { recordId } from './rows';
