import path from 'node:path';

/** Where everything of the local stack lives: one git-ignored folder in the repo. */
export const repoRoot = path.resolve(__dirname, '..', '..');

function envPort(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`${name}=${raw} is not a port number (1-65535)`);
  }
  return port;
}

export interface StackLayout {
  stateDir: string;
  toolsBin: string;
  logsDir: string;
  pidsDir: string;
  ports: {
    temporal: number;
    temporalUi: number;
    gcs: number;
    bigquery: number;
    bigqueryGrpc: number;
    sftp: number;
    postgres: number;
    usersApi: number;
  };
  projectId: string;
  bucket: string;
  dataset: string;
  host: string;
}

export function stackLayout(env: NodeJS.ProcessEnv = process.env): StackLayout {
  const stateDir = path.resolve(env.BQSFTP_STACK_DIR || path.join(repoRoot, '.stack'));
  return {
    stateDir,
    toolsBin: path.resolve(env.BQSFTP_TOOLS_DIR || path.join(repoRoot, '.tools'), 'bin'),
    logsDir: path.join(stateDir, 'logs'),
    pidsDir: path.join(stateDir, 'pids'),
    ports: {
      temporal: envPort('BQSFTP_TEMPORAL_PORT', 7233),
      temporalUi: envPort('BQSFTP_TEMPORAL_UI_PORT', 8233),
      gcs: envPort('BQSFTP_GCS_PORT', 4443),
      bigquery: envPort('BQSFTP_BIGQUERY_PORT', 9050),
      bigqueryGrpc: envPort('BQSFTP_BIGQUERY_GRPC_PORT', 9060),
      sftp: envPort('BQSFTP_SFTP_PORT', 2222),
      postgres: envPort('BQSFTP_POSTGRES_PORT', 5433),
      usersApi: envPort('BQSFTP_USERS_API_PORT', 8099),
    },
    projectId: 'bq-sftp-demo',
    bucket: 'bq-sftp-exports',
    dataset: 'demo',
    host: '127.0.0.1',
  };
}

/** The file `stack up` writes with every endpoint and the generated demo credentials. */
export function credentialsPath(layout: StackLayout): string {
  return path.join(layout.stateDir, 'stack.json');
}
