import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stackLayout } from '../src/stack/layout';
import { departmentsCsv } from '../src/etl/users-data';

const root = path.resolve(__dirname, '..');
const composeFile = path.join(root, 'docker-compose.yml');

/** Keys of a top-level YAML mapping block (`services:` → its two-space-indented keys). No YAML dependency. */
function topLevelBlockKeys(yaml: string, block: string): string[] {
  const lines = yaml.split('\n');
  const start = lines.findIndex((l) => l === `${block}:` || l.startsWith(`${block}: `));
  assert.ok(start >= 0, `no top-level "${block}:" in docker-compose.yml`);
  const keys: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (/^[^\s#]/.test(line)) break; // next top-level key
    const m = /^ {2}([A-Za-z0-9._-]+):\s*(#.*)?$/.exec(line);
    if (m) keys.push(m[1]);
  }
  return keys;
}

void test('docker-compose.yml defines the six services, the worker built from the Dockerfile', () => {
  const yaml = fs.readFileSync(composeFile, 'utf8');
  assert.ok(!yaml.includes('\t'), 'YAML must be indented with spaces');
  const services = topLevelBlockKeys(yaml, 'services');
  for (const s of ['temporal', 'gcs', 'bigquery', 'sftp', 'postgres', 'worker']) {
    assert.ok(services.includes(s), `service "${s}" is missing (found: ${services.join(', ')})`);
  }
  assert.match(yaml, /image: temporalio\/temporal:1\.5\.1/);
  assert.match(yaml, /image: fsouza\/fake-gcs-server:1\.55\.1/);
  assert.match(yaml, /image: ghcr\.io\/goccy\/bigquery-emulator:0\.8\.1/);
  assert.match(yaml, /STORAGE_EMULATOR_HOST: http:\/\/gcs:4443/);
  assert.match(yaml, /TEMPORAL_ADDRESS: temporal:7233/);
  assert.match(yaml, /CONFIG_PATH: \/app\/configs\/exports\.json/);
  assert.match(yaml, /- \.\/configs:\/app\/configs/);
  for (const sa of ['ExportName', 'ExportDate', 'ExportStatus']) assert.match(yaml, new RegExp(`- ${sa}=Keyword`));
});

const DOCKERFILE_INSTRUCTIONS = new Set([
  'FROM', 'RUN', 'CMD', 'LABEL', 'EXPOSE', 'ENV', 'ADD', 'COPY', 'ENTRYPOINT', 'VOLUME', 'USER',
  'WORKDIR', 'ARG', 'ONBUILD', 'STOPSIGNAL', 'HEALTHCHECK', 'SHELL', 'MAINTAINER',
]);

void test('the Dockerfile is well formed and runs the worker', () => {
  const text = fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8');
  const instructions: string[] = [];
  let continued = false;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const wasContinued = continued;
    continued = line.endsWith('\\');
    if (wasContinued || line === '' || line.startsWith('#')) continue;
    const word = line.split(/\s+/)[0].toUpperCase();
    assert.ok(DOCKERFILE_INSTRUCTIONS.has(word), `unknown Dockerfile instruction: ${line}`);
    instructions.push(line);
  }
  assert.equal(continued, false, 'the last line must not end with a continuation');
  assert.match(instructions[0], /^FROM node:20-bookworm-slim( AS build)?$/);
  assert.ok(instructions.some((l) => /^RUN npm install --omit=dev\b/.test(l)));
  const cmd = instructions.filter((l) => l.startsWith('CMD '));
  assert.equal(cmd.length, 1);
  assert.deepEqual(JSON.parse(cmd[0].slice(4)), ['node', 'bin/bq-sftp.js', 'worker']); // compiled code (test/package/dockerfile.test.ts)
  assert.ok(fs.existsSync(path.join(root, 'src/worker.ts')));
  for (const l of instructions.filter((i) => i.startsWith('COPY ') && !i.includes('--from='))) {
    const sources = l.split(/\s+/).slice(1, -1).filter((s) => !s.startsWith('--'));
    for (const s of sources) assert.ok(fs.existsSync(path.join(root, s)), `COPY source ${s} does not exist`);
  }
  const ignore = fs.readFileSync(path.join(root, '.dockerignore'), 'utf8').split('\n');
  for (const p of ['node_modules', '.stack', '.tools', '.git']) assert.ok(ignore.includes(p), `.dockerignore lacks ${p}`);
});

/** Compose v2 as built by `npm run setup` into .tools/bin (standalone `docker-compose`). */
function dockerCompose(args: string[], cwd = root) {
  const bin = path.join(stackLayout().toolsBin, 'docker-compose');
  assert.ok(fs.existsSync(bin), `${bin} is missing: run \`npm run setup\` (it builds Docker Compose v2.40.3)`);
  // standalone mode; no Docker daemon is needed for `config`
  return spawnSync(bin, args, { cwd, encoding: 'utf8', timeout: 60_000, env: { ...process.env, DOCKER_HOST: 'unix:///nonexistent' } });
}

void test('docker-compose config -q accepts docker-compose.yml', () => {
  const version = dockerCompose(['version', '--short']);
  assert.equal(version.status, 0, `docker-compose version failed:\n${version.stderr}`);
  const res = dockerCompose(['-f', composeFile, 'config', '-q']);
  assert.equal(res.status, 0, `docker-compose config -q failed:\n${res.stderr}`);
});

void test('docker-compose config -q rejects a service with an unknown key (the check really runs)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bqsftp-compose-'));
  try {
    const broken = path.join(dir, 'docker-compose.yml');
    fs.writeFileSync(broken, 'services:\n  app:\n    image: busybox\n    no_such_key: 1\n');
    const res = dockerCompose(['-f', broken, 'config', '-q'], dir);
    assert.notEqual(res.status, 0, 'a broken compose file must be refused');
    assert.match(res.stderr, /no_such_key/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

void test('docker-compose.yml runs the worker split: activities (lean, from the image) in `worker`, workflows in `workflows`, one task queue', () => {
  const res = dockerCompose(['-f', composeFile, 'config', '--format', 'json']);
  assert.equal(res.status, 0, `docker-compose config failed:\n${res.stderr}`);
  const cfg = JSON.parse(res.stdout) as { services: Record<string, { command?: string[]; build?: unknown; environment?: Record<string, string> }> };
  const half = (name: string) => {
    const s = cfg.services[name];
    assert.ok(s, `service "${name}" is missing`);
    assert.ok(s.build, `service "${name}" is built from the Dockerfile`);
    const cmd = s.command ?? [];
    assert.deepEqual(cmd.slice(0, 3), ['node', 'bin/bq-sftp.js', 'worker']);
    return { cmd, env: s.environment ?? {} };
  };
  const activities = half('worker');
  const workflows = half('workflows');
  assert.equal(activities.cmd[activities.cmd.indexOf('--only') + 1], 'activities');
  assert.equal(workflows.cmd[workflows.cmd.indexOf('--only') + 1], 'workflows');
  assert.equal(workflows.env.TEMPORAL_TASK_QUEUE, activities.env.TEMPORAL_TASK_QUEUE, 'both halves poll the same task queue');
  assert.equal(workflows.env.TEMPORAL_ADDRESS, activities.env.TEMPORAL_ADDRESS);
  assert.notEqual(workflows.cmd[workflows.cmd.indexOf('--metrics-port') + 1], activities.cmd[activities.cmd.indexOf('--metrics-port') + 1], 'each half serves its metrics on its own port');
});

void test('docker-compose.yml runs the ETL users API (compiled, port 8099) for the worker, which gets departments.csv as the data set has it', () => {
  const res = dockerCompose(['-f', composeFile, 'config', '--format', 'json']);
  assert.equal(res.status, 0, `docker-compose config failed:\n${res.stderr}`);
  const cfg = JSON.parse(res.stdout) as {
    services: Record<string, { command?: string[]; ports?: { target: number; published: string }[]; healthcheck?: { test: string[] }; depends_on?: Record<string, { condition: string }>; configs?: { source: string; target: string }[] }>;
    configs: Record<string, { content?: string }>;
  };
  const api = cfg.services.users_api;
  assert.ok(api, 'service "users_api" is missing');
  const cmd = api.command ?? [];
  assert.equal(cmd[1], 'dist/etl/users-api-server.js');
  assert.ok(fs.existsSync(path.join(root, 'src/etl/users-api-server.ts')), 'the compiled file comes from src/etl/users-api-server.ts');
  assert.equal(cmd[cmd.indexOf('--port') + 1], '8099');
  assert.equal(cmd[cmd.indexOf('--host') + 1], '0.0.0.0');
  assert.deepEqual(api.ports?.map((p) => [p.target, p.published]), [[8099, '8099']], 'the same port as the process stack (BQSFTP_USERS_API_PORT default)');
  assert.match(api.healthcheck?.test.join(' ') ?? '', /127\.0\.0\.1:8099\/health/);
  assert.equal(cfg.services.worker.depends_on?.users_api?.condition, 'service_healthy');
  const mounted = cfg.services.worker.configs?.find((c) => c.source === 'departments-csv');
  assert.equal(mounted?.target, '/app/etl/departments.csv');
  assert.equal(cfg.configs['departments-csv']?.content, departmentsCsv());
});
