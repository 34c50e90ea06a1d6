import fs from 'node:fs';
import path from 'node:path';
import { Client as PgClient } from 'pg';
import { credentialsPath, stackLayout, type StackLayout } from './layout';
import { isPortOpen, waitUntil } from './probes';
import { runningPid, startDaemon, stopDaemon, tailLog } from './processes';
import { serviceDefs, type StartContext } from './services';
import { KEY_USER, PASSWORD_USER, prepareSshd, UPLOAD_DIR } from './sshd';
import { PG_DATABASE, PG_USER, preparePostgres } from './postgres';
import { demoYaml } from './demo-data';
import type { StackInfo } from './stack-info';
import { writeDemoConfig } from './demo-config';
import { seedGcs } from './seed';
import { seedIngestSftp, startIngestDemoSeed, withIngestDemo } from './seed-ingest';
import { seedBackup } from './seed-backup';
import { outsideDirs } from './outside-dirs';
import { stackInfoOrThrow } from './stack-check';

const USAGE = `Usage: npm run stack -- <command>

Commands:
  up        start every service of the local stack (idempotent), wait for health, seed demo data
  down      stop exactly the processes \`up\` started (by PID); state is kept
  status    show which services run (exit code 1 if any is down)
  purge     down, then delete all local state (.stack/)
  info      print the stack's endpoints and demo credentials file as JSON

Environment: BQSFTP_STACK_DIR (state folder), BQSFTP_<SERVICE>_PORT to move a port.`;

function log(msg: string): void {
  process.stdout.write(`${msg}\n`);
}

function readPrevious(layout: StackLayout): StackInfo | undefined {
  try {
    return JSON.parse(fs.readFileSync(credentialsPath(layout), 'utf8')) as StackInfo;
  } catch {
    return undefined;
  }
}

async function ensureDatabase(layout: StackLayout): Promise<boolean> {
  const client = new PgClient({ host: layout.host, port: layout.ports.postgres, user: PG_USER, database: 'postgres' });
  try {
    await client.connect();
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [PG_DATABASE]);
    if (!rowCount) await client.query(`CREATE DATABASE ${PG_DATABASE}`);
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function up(layout: StackLayout = stackLayout()): Promise<StackInfo | undefined> {
  fs.mkdirSync(layout.stateDir, { recursive: true });
  const defs = serviceDefs(layout);
  const previous = readPrevious(layout);

  // Refuse early and by name when a port is held by something that is not ours.
  for (const def of defs) {
    if (runningPid(layout.pidsDir, def.name) !== undefined) continue;
    for (const port of def.ports) {
      if (await isPortOpen(layout.host, port)) {
        throw new Error(
          `port ${port} (${def.title}) on ${layout.host} is already taken by another process. ` +
            `Stop that process, or move ours with BQSFTP_${def.name.toUpperCase()}_PORT.`,
        );
      }
    }
  }

  const demoYamlPath = path.join(layout.stateDir, 'bigquery-demo.yaml');
  fs.writeFileSync(demoYamlPath, withIngestDemo(layout, demoYaml(layout.projectId, layout.dataset)));
  const wanted = (name: string) => defs.some((d) => d.name === name);
  const ctx: StartContext = {
    demoYamlPath,
    sshd: wanted('sftp')
      ? prepareSshd(layout, previous && { passphrase: previous.sftp.keyUser.passphrase })
      : undefined,
    postgres: wanted('postgres') ? preparePostgres(layout) : undefined,
  };

  const started: string[] = [];
  for (const def of defs) {
    const pid = runningPid(layout.pidsDir, def.name);
    if (pid !== undefined) {
      log(`  ${def.name.padEnd(9)} already running (pid ${pid})`);
      continue;
    }
    const newPid = startDaemon(def.start(ctx), layout.logsDir, layout.pidsDir);
    started.push(def.name);
    log(`  ${def.name.padEnd(9)} starting (pid ${newPid}) …`);
  }

  await Promise.all(
    defs.map(async (def) => {
      try {
        await waitUntil(def.title, async () => {
          if (runningPid(layout.pidsDir, def.name) === undefined) {
            throw new Error(`${def.title} exited during start-up. Last log lines:\n${tailLog(layout.logsDir, def.name)}`);
          }
          return def.healthy();
        }, def.healthTimeoutMs);
      } catch (err) {
        throw new Error(`${(err as Error).message}\n(log: ${path.join(layout.logsDir, `${def.name}.log`)})`);
      }
    }),
  );
  if (wanted('postgres')) await waitUntil('PostgreSQL database', () => ensureDatabase(layout), 20_000);
  if (defs.length < serviceDefs(layout, {}).length) return undefined; // a partial stack has no full endpoint file

  const sshd = ctx.sshd!;
  const chroot = sshd.chrootRoot;
  const info: StackInfo = {
    temporal: {
      address: `${layout.host}:${layout.ports.temporal}`,
      namespace: 'default',
      uiUrl: `http://${layout.host}:${layout.ports.temporalUi}`,
    },
    gcs: { endpoint: `http://${layout.host}:${layout.ports.gcs}`, projectId: layout.projectId, bucket: layout.bucket },
    bigquery: { endpoint: `http://${layout.host}:${layout.ports.bigquery}`, projectId: layout.projectId, dataset: layout.dataset },
    sftp: {
      host: layout.host,
      port: layout.ports.sftp,
      hostKeyFingerprint: sshd.hostKeyFingerprint,
      knownHostsLine: sshd.knownHostsLine,
      passwordUser: {
        username: PASSWORD_USER,
        password: sshd.password,
        directory: UPLOAD_DIR,
        localRoot: path.join(chroot, PASSWORD_USER),
      },
      keyUser: {
        username: KEY_USER,
        privateKeyPath: sshd.privateKeyPath,
        passphrase: sshd.passphrase,
        directory: UPLOAD_DIR,
        localRoot: path.join(chroot, KEY_USER),
      },
    },
    postgres: { host: layout.host, port: layout.ports.postgres, user: PG_USER, database: PG_DATABASE, socketDir: ctx.postgres!.socketDir },
    demoConfigPath: path.join(layout.stateDir, 'demo-config.json'),
  };
  fs.writeFileSync(credentialsPath(layout), JSON.stringify(info, null, 2), { mode: 0o600 });
  writeDemoConfig(info);
  await seedGcs(info);
  seedIngestSftp(info);
  const ingestSeed = process.env.BQSFTP_INGEST_DEMO === 'yaml' ? undefined : startIngestDemoSeed(info, credentialsPath(layout), layout.logsDir);
  if (ingestSeed) log(`  ingest demo tables: being created in the BigQuery emulator in the background (pid ${ingestSeed.pid}, 0.5–3 min, log ${ingestSeed.log})`);
  await seedBackup(info, layout.stateDir);
  if (started.length) log(`  started: ${started.join(', ')}`);
  return info;
}

export function printEndpoints(info: StackInfo): void {
  log('');
  log('Local stack is up:');
  log(`  Temporal          ${info.temporal.address}   namespace ${info.temporal.namespace}`);
  log(`  Temporal Web UI   ${info.temporal.uiUrl}`);
  log(`  Cloud Storage     ${info.gcs.endpoint}   bucket ${info.gcs.bucket}`);
  log(`  BigQuery          ${info.bigquery.endpoint}   project ${info.bigquery.projectId}, dataset ${info.bigquery.dataset}`);
  log(`  SFTP              ${info.sftp.host}:${info.sftp.port}   host key ${info.sftp.hostKeyFingerprint}`);
  log(`                    users ${info.sftp.passwordUser.username} (password), ${info.sftp.keyUser.username} (key + passphrase), folder ${info.sftp.passwordUser.directory}`);
  log(`  PostgreSQL        postgres://${info.postgres.user}@${info.postgres.host}:${info.postgres.port}/${info.postgres.database}`);
  log(`  Credentials       ${credentialsPath(stackLayout())} (generated, git-ignored)`);
  log(`  Demo config       ${info.demoConfigPath}`);
}

export async function down(layout: StackLayout = stackLayout()): Promise<string[]> {
  const stopped: string[] = [];
  for (const def of [...serviceDefs(layout)].reverse()) {
    if (await stopDaemon(layout.pidsDir, def.name)) stopped.push(def.name);
  }
  return stopped;
}

export interface ServiceStatus {
  name: string;
  title: string;
  running: boolean;
  healthy: boolean;
  pid?: number;
  endpoint: string;
}

export async function status(layout: StackLayout = stackLayout()): Promise<ServiceStatus[]> {
  return Promise.all(
    serviceDefs(layout).map(async (def) => {
      const pid = runningPid(layout.pidsDir, def.name);
      const healthy = pid !== undefined && (await def.healthy());
      return { name: def.name, title: def.title, running: pid !== undefined, healthy, pid, endpoint: def.endpoint };
    }),
  );
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const json = rest.includes('--json');
  switch (command) {
    case 'up': {
      log('Starting the local stack (state in .stack/) …');
      const info = await up();
      if (info) printEndpoints(info);
      else log('Partial stack is up.');
      return 0;
    }
    case 'down': {
      const stopped = await down();
      log(stopped.length ? `Stopped: ${stopped.join(', ')}` : 'Nothing of the stack was running.');
      return 0;
    }
    case 'purge': {
      const layout = stackLayout();
      await down(layout);
      const link = path.join(layout.stateDir, 'sftp');
      if (fs.existsSync(link) && fs.lstatSync(link).isSymbolicLink()) fs.rmSync(fs.realpathSync(link), { recursive: true, force: true });
      for (const dir of outsideDirs(layout)) fs.rmSync(dir, { recursive: true, force: true });
      fs.rmSync(layout.stateDir, { recursive: true, force: true });
      log(`Removed ${layout.stateDir}`);
      return 0;
    }
    case 'status': {
      const all = await status();
      if (json) log(JSON.stringify(all, null, 2));
      else for (const s of all) {
        const state = s.healthy ? 'up' : s.running ? 'running, not healthy' : 'down';
        log(`  ${s.name.padEnd(9)} ${state.padEnd(22)} ${s.pid ? `pid ${String(s.pid).padEnd(8)}` : ''.padEnd(12)} ${s.endpoint}`);
      }
      const allUp = all.every((s) => s.healthy);
      if (!json && !allUp) log(`The local stack is ${all.some((s) => s.healthy) ? 'partly ' : ''}down: start it with \`npm run stack -- up\`.`);
      return allUp ? 0 : 1;
    }
    case 'info': {
      log(JSON.stringify(stackInfoOrThrow(), null, 2));
      return 0;
    }
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      log(USAGE);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`Unknown stack command "${command}".\n${USAGE}\n`);
      return 2;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`stack: ${(err as Error).message}\n`);
      process.exit(1);
    },
  );
}
