import fs from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { repoRoot, type StackLayout } from './layout';
import { httpStatus, isPortOpen, sshBanner } from './probes';
import type { StartSpec } from './processes';
import { findSshd, type SshdPrepared } from './sshd';
import type { PostgresPrepared } from './postgres';
import { PG_USER } from './postgres';

/** Custom search attributes the workflows set, registered on the dev server at start. */
/** How the Temporal dev server opens its SQLite store (`--sqlite-pragma`). */
export const TEMPORAL_SQLITE_PRAGMAS = ['journal_mode=wal', 'synchronous=normal'];

export const SEARCH_ATTRIBUTES = ['ExportName', 'ExportDate', 'ExportStatus', 'InboxName', 'InboxStatus'] as const;

export interface ServiceDef {
  name: string;
  title: string;
  ports: number[];
  /** Builds the start command; may prepare files first. */
  start: (ctx: StartContext) => StartSpec;
  healthy: () => Promise<boolean>;
  endpoint: string;
  healthTimeoutMs: number;
}

export interface StartContext {
  sshd?: SshdPrepared;
  postgres?: PostgresPrepared;
  demoYamlPath: string;
}

function tool(layout: StackLayout, name: string): string {
  const p = path.join(layout.toolsBin, name);
  if (!fs.existsSync(p)) throw new Error(`${p} is missing: run \`npm run setup\` first (it builds the pinned servers).`);
  return p;
}

async function temporalHealthy(address: string): Promise<boolean> {
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ address, connectTimeout: 1000 });
    await connection.workflowService.getSystemInfo({});
    return true;
  } catch {
    return false;
  } finally {
    await connection?.close().catch(() => undefined);
  }
}

/** The services to manage: all, or the subset named in BQSFTP_STACK_SERVICES (e.g. "gcs,postgres"). */
export function serviceDefs(layout: StackLayout, env: NodeJS.ProcessEnv = process.env): ServiceDef[] {
  const only = (env.BQSFTP_STACK_SERVICES ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const all = allServiceDefs(layout);
  const unknown = only.filter((n) => !all.some((d) => d.name === n));
  if (unknown.length) throw new Error(`BQSFTP_STACK_SERVICES names unknown services: ${unknown.join(', ')} (known: ${all.map((d) => d.name).join(', ')})`);
  return only.length ? all.filter((d) => only.includes(d.name)) : all;
}

function allServiceDefs(layout: StackLayout): ServiceDef[] {
  const { host, ports, stateDir } = layout;
  const codec = process.env.BQSFTP_UI_CODEC_ENDPOINT;
  return [
    {
      name: 'gcs',
      title: 'Cloud Storage (fake-gcs-server)',
      ports: [ports.gcs],
      endpoint: `http://${host}:${ports.gcs}`,
      healthTimeoutMs: 30_000,
      start: () => {
        fs.mkdirSync(path.join(stateDir, 'gcs'), { recursive: true });
        return {
          name: 'gcs',
          command: tool(layout, 'fake-gcs-server'),
          args: ['-scheme', 'http', '-host', host, '-port', String(ports.gcs), '-backend', 'filesystem',
            '-filesystem-root', path.join(stateDir, 'gcs'), '-external-url', `http://${host}:${ports.gcs}`,
            '-public-host', `${host}:${ports.gcs}`, '-log-level', 'warn'],
        };
      },
      healthy: async () => (await httpStatus(`http://${host}:${ports.gcs}/_internal/healthcheck`)) === 200,
    },
    {
      name: 'bigquery',
      title: 'BigQuery (bigquery-emulator)',
      ports: [ports.bigquery, ports.bigqueryGrpc],
      endpoint: `http://${host}:${ports.bigquery}`,
      healthTimeoutMs: 60_000,
      start: (ctx) => ({
        name: 'bigquery',
        command: tool(layout, 'bigquery-emulator'),
        args: ['--project', layout.projectId, '--host', host, '--port', String(ports.bigquery),
          '--grpc-port', String(ports.bigqueryGrpc), '--data-from-yaml', ctx.demoYamlPath, '--log-level', 'warn'],
        // the emulator writes EXPORT DATA results to this GCS (scheme required)
        env: { ...process.env, STORAGE_EMULATOR_HOST: `http://${host}:${ports.gcs}` },
      }),
      healthy: async () =>
        (await httpStatus(`http://${host}:${ports.bigquery}/bigquery/v2/projects/${layout.projectId}/datasets`)) === 200,
    },
    {
      name: 'temporal',
      title: 'Temporal dev server + Web UI',
      ports: [ports.temporal, ports.temporalUi],
      endpoint: `${host}:${ports.temporal}  (Web UI http://${host}:${ports.temporalUi})`,
      healthTimeoutMs: 90_000,
      start: () => ({
        name: 'temporal',
        command: tool(layout, 'temporal'),
        args: ['server', 'start-dev', '--ip', host, '--port', String(ports.temporal), '--ui-port', String(ports.temporalUi),
          '--db-filename', path.join(stateDir, 'temporal.db'), '--log-level', 'warn',
          // SQLite's default rollback journal syncs the disk on every write and the server writes
          // ~9 times per child workflow: in WAL mode a burst of runs (an inbox's batches, a
          // fan-out) costs the server about half the CPU. A dev store: a power cut may lose the
          // last writes, a crash of the server does not.
          ...TEMPORAL_SQLITE_PRAGMAS.flatMap((p) => ['--sqlite-pragma', p]),
          ...SEARCH_ATTRIBUTES.flatMap((a) => ['--search-attribute', `${a}=Keyword`]),
          ...(codec ? ['--ui-codec-endpoint', codec] : [])],
      }),
      healthy: async () =>
        (await temporalHealthy(`${host}:${ports.temporal}`)) && (await httpStatus(`http://${host}:${ports.temporalUi}/`)) === 200,
    },
    {
      name: 'sftp',
      title: 'SFTP (OpenSSH sshd, internal-sftp)',
      ports: [ports.sftp],
      endpoint: `sftp://${host}:${ports.sftp}`,
      healthTimeoutMs: 20_000,
      start: (ctx) => {
        const sshd = findSshd();
        if (!sshd) throw new Error('sshd not found: run `npm run setup` (installs Debian `openssh-server`).');
        if (!ctx.sshd) throw new Error('sshd was not prepared');
        return { name: 'sftp', command: sshd, args: ['-D', '-e', '-f', ctx.sshd.configPath] };
      },
      healthy: async () => (await sshBanner(host, ports.sftp))?.startsWith('SSH-2.0-') ?? false,
    },
    {
      name: 'postgres',
      title: 'PostgreSQL',
      ports: [ports.postgres],
      endpoint: `postgres://${PG_USER}@${host}:${ports.postgres}/bqsftp`,
      healthTimeoutMs: 30_000,
      start: (ctx) => {
        const pg = ctx.postgres;
        if (!pg) throw new Error('postgres was not prepared');
        return {
          name: 'postgres',
          command: path.join(pg.bin, 'postgres'),
          args: ['-D', pg.dataDir, '-p', String(ports.postgres), '-c', `listen_addresses=${host}`, '-k', pg.socketDir],
          uid: pg.owner?.uid,
          gid: pg.owner?.gid,
        };
      },
      healthy: () => isPortOpen(host, ports.postgres),
    },
    {
      // the ETL family's source (src/etl/users-api-server.ts): a deterministic users API + departments.csv
      name: 'users_api',
      title: 'users API (ETL source)',
      ports: [ports.usersApi],
      endpoint: `http://${host}:${ports.usersApi}/users`,
      healthTimeoutMs: 30_000,
      start: () => ({
        name: 'users_api',
        command: process.execPath,
        args: ['--import', 'tsx', path.join(repoRoot, 'src/etl/users-api-server.ts'), '--host', host, '--port', String(ports.usersApi),
          '--departments-out', path.join(stateDir, 'etl', 'departments.csv')],
        cwd: repoRoot,
      }),
      healthy: async () => (await httpStatus(`http://${host}:${ports.usersApi}/health`)) === 200,
    },
  ];
}
