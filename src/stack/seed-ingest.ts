/**
 * The ingest family's demo tenant on the local stack (seed 001): six GA4 event tables with a
 * month of events in the BigQuery emulator (≈106,000 rows, most of them page_view), and dated
 * users_*.csv / locations_*.csv reports in the tenant's SFTP folder. The event data is generated
 * once into the stack's state folder and handed to the emulator with the demo YAML at every start
 * (the emulator is in memory); inserting it through the API would take minutes.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { StackLayout } from './layout';
import type { StackInfo } from './stack-info';
import { EVENT_TYPES, eventColumns, type EventType } from '../ingest/event-types';

export const INGEST_DEMO_TENANT = 'demo';
export const INGEST_DEMO_DATASET = 'ga4_demo';
export const INGEST_DEMO_FOLDER = '/upload/ingest/demo';
export const INGEST_DEMO_START = '2025-01-01';
export const INGEST_DEMO_END = '2025-01-31';
/** rows per day and event type (31 days: 106,020 rows) */
export const INGEST_DEMO_PER_DAY: Record<EventType, number> = {
  page_view: 2200,
  view_item: 700,
  view_search_results: 300,
  add_to_cart: 150,
  no_search_results: 40,
  purchase: 30,
};
export const INGEST_DEMO_USERS = 5000;
export const INGEST_DEMO_LOCATIONS = 150;
const DATA_VERSION = 1;

/** A small deterministic generator (mulberry32), so counts and contents are the same on every machine. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function demoDates(start = INGEST_DEMO_START, end = INGEST_DEMO_END): string[] {
  const out: string[] = [];
  for (let d = Date.parse(`${start}T00:00:00Z`); d <= Date.parse(`${end}T00:00:00Z`); d += 86_400_000) out.push(new Date(d).toISOString().slice(0, 10));
  return out;
}

const PAGES = ['Home', 'Search', 'Category: Garden', 'Category: Kitchen', 'Product', 'Cart', 'Checkout', 'Account', 'Help'];
const TERMS = ['garden hose', 'teapot', 'lego', 'desk lamp', 'yoga mat', 'headphones', 'coffee', 'umbrella', 'backpack', 'candle'];
const COUNTRIES = ['United States', 'Germany', 'France', 'Japan', 'Brazil', 'India', 'Canada'];
const CATEGORIES = ['garden', 'kitchen', 'toys', 'books', 'outdoor'];

type Row = Record<string, string | number | null>;

/** The rows of one event type for one day (deterministic). */
export function demoEventRows(type: EventType, date: string, count: number): Row[] {
  const r = rng(Date.parse(date) / 86_400_000 + EVENT_TYPES.indexOf(type) * 100_003);
  const base = Date.parse(`${date}T00:00:00Z`) * 1000;
  const rows: Row[] = [];
  for (let k = 0; k < count; k++) {
    const user = 1 + Math.floor(r() * INGEST_DEMO_USERS);
    const item = 1 + Math.floor(r() * 500);
    const row: Row = {
      event_date: date,
      event_timestamp: base + Math.floor((k / count) * 86_400_000_000) + Math.floor(r() * 1000),
      user_pseudo_id: `pseudo-${user}`,
      user_id: r() < 0.7 ? `u${user}` : null,
      session_id: `s${user}-${Math.floor(r() * 5)}`,
      platform: r() < 0.6 ? 'WEB' : r() < 0.5 ? 'IOS' : 'ANDROID',
      country: COUNTRIES[Math.floor(r() * COUNTRIES.length)],
    };
    switch (type) {
      case 'purchase': {
        const n = 1 + Math.floor(r() * 3);
        const items = Array.from({ length: n }, () => ({ item_id: `i${1 + Math.floor(r() * 500)}`, quantity: 1 + Math.floor(r() * 2), price: Math.round(r() * 9000 + 100) / 100 }));
        Object.assign(row, {
          transaction_id: `T-${date.replace(/-/g, '')}-${k}`,
          revenue: Math.round(items.reduce((a, i) => a + i.price * i.quantity, 0) * 100) / 100,
          currency: 'USD',
          items: JSON.stringify(items),
        });
        break;
      }
      case 'add_to_cart':
        Object.assign(row, { item_id: `i${item}`, item_name: `Item ${item}`, quantity: 1 + Math.floor(r() * 3), price: Math.round(r() * 9000 + 100) / 100 });
        break;
      case 'page_view': {
        const page = PAGES[Math.floor(r() * PAGES.length)];
        Object.assign(row, { page_title: page, page_location: `https://shop.example.com/${page.toLowerCase().replace(/[^a-z]+/g, '-')}`, page_referrer: r() < 0.3 ? 'https://www.google.com/' : null });
        break;
      }
      case 'view_item':
        Object.assign(row, { item_id: `i${item}`, item_name: `Item ${item}`, item_category: CATEGORIES[item % CATEGORIES.length] });
        break;
      case 'view_search_results':
        Object.assign(row, { search_term: TERMS[Math.floor(r() * TERMS.length)], results_count: 1 + Math.floor(r() * 80) });
        break;
      case 'no_search_results':
        Object.assign(row, { search_term: `${TERMS[Math.floor(r() * TERMS.length)]} xl${Math.floor(r() * 9)}` });
        break;
    }
    rows.push(row);
  }
  return rows;
}

/** One emulator dataset (YAML/JSON shape) with the six event tables. */
export function ingestDemoDataset(perDay: Record<EventType, number> = INGEST_DEMO_PER_DAY, dates = demoDates()): object {
  return {
    id: INGEST_DEMO_DATASET,
    tables: EVENT_TYPES.map((type) => ({
      id: type,
      columns: eventColumns(type).map((c) => ({ name: c.name, type: c.bq, ...(c.name === 'event_date' || c.name === 'event_timestamp' ? { mode: 'REQUIRED' } : {}) })),
      data: dates.flatMap((d) => demoEventRows(type, d, perDay[type])),
    })),
  };
}

/** The demo counts per event type for a range (what a job over it must load). */
export function demoEventCounts(dates = demoDates()): Record<EventType, number> {
  return Object.fromEntries(EVENT_TYPES.map((t) => [t, INGEST_DEMO_PER_DAY[t] * dates.length])) as Record<EventType, number>;
}

function cachedDatasetPath(layout: StackLayout): string {
  return path.join(layout.stateDir, `ingest-demo-dataset.v${DATA_VERSION}.json`);
}

/**
 * With BQSFTP_INGEST_DEMO=yaml the demo events go into the emulator's start-up YAML (generated
 * once into the state folder). Off by default: the emulator inserts YAML rows one by one
 * (106,020 rows took 195 s to load, at every start, in every stack); `ensureIngestDemoData`
 * creates the same month with one SQL statement per table instead.
 */
export function withIngestDemo(layout: StackLayout, demoYaml: string): string {
  if (process.env.BQSFTP_INGEST_DEMO !== 'yaml') return demoYaml;
  const file = cachedDatasetPath(layout);
  if (!fs.existsSync(file)) {
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(ingestDemoDataset()));
    fs.renameSync(`${file}.tmp`, file);
  }
  const doc = JSON.parse(demoYaml) as { projects: { id: string; datasets: object[] }[] };
  const project = doc.projects.find((p) => p.id === layout.projectId) ?? doc.projects[0];
  const marker = '"__INGEST_DEMO_DATASET__"';
  project.datasets.push(marker as unknown as object);
  return JSON.stringify(doc).replace(JSON.stringify(marker), fs.readFileSync(file, 'utf8'));
}

const SQL_SPECIFIC: Record<EventType, string> = {
  purchase: `CONCAT('T-', CAST(n AS STRING)) AS transaction_id, CAST(MOD(n * 37, 9000) AS FLOAT64) / 100 + 10 AS revenue, 'USD' AS currency,
    CONCAT('[{"item_id":"i', CAST(MOD(n, 500) + 1 AS STRING), '","quantity":', CAST(MOD(n, 3) + 1 AS STRING), '}]') AS items`,
  add_to_cart: `CONCAT('i', CAST(MOD(n * 13, 500) + 1 AS STRING)) AS item_id, CONCAT('Item ', CAST(MOD(n * 13, 500) + 1 AS STRING)) AS item_name,
    MOD(n, 3) + 1 AS quantity, CAST(MOD(n * 37, 9000) AS FLOAT64) / 100 + 1 AS price`,
  page_view: `['Home', 'Search', 'Category: Garden', 'Category: Kitchen', 'Product', 'Cart', 'Checkout', 'Account', 'Help'][OFFSET(MOD(n, 9))] AS page_title,
    CONCAT('https://shop.example.com/p', CAST(MOD(n, 97) AS STRING)) AS page_location, IF(MOD(n, 3) = 0, 'https://www.google.com/', NULL) AS page_referrer`,
  view_item: `CONCAT('i', CAST(MOD(n * 13, 500) + 1 AS STRING)) AS item_id, CONCAT('Item ', CAST(MOD(n * 13, 500) + 1 AS STRING)) AS item_name,
    ['garden', 'kitchen', 'toys', 'books', 'outdoor'][OFFSET(MOD(n, 5))] AS item_category`,
  view_search_results: `['garden hose', 'teapot', 'lego', 'desk lamp', 'yoga mat', 'headphones', 'coffee', 'umbrella', 'backpack', 'candle'][OFFSET(MOD(n, 10))] AS search_term,
    MOD(n * 7, 80) + 1 AS results_count`,
  no_search_results: `CONCAT(['garden hose', 'teapot', 'lego', 'desk lamp', 'yoga mat'][OFFSET(MOD(n, 5))], ' xl', CAST(MOD(n, 9) AS STRING)) AS search_term`,
};

/** The statement that creates one demo event table: `perDay` rows for each day of the month, generated by the emulator itself. */
export function demoTableSql(projectId: string, type: EventType, perDay = INGEST_DEMO_PER_DAY[type], dates = demoDates()): string {
  const days = dates.length;
  const startMicros = Date.parse(`${dates[0]}T00:00:00Z`) * 1000;
  const step = Math.floor(86_400_000_000 / perDay);
  return `CREATE OR REPLACE TABLE \`${projectId}.${INGEST_DEMO_DATASET}.${type}\` AS
SELECT DATE_ADD(DATE '${dates[0]}', INTERVAL d DAY) AS event_date, ${startMicros} + d * 86400000000 + k * ${step} AS event_timestamp,
  CONCAT('pseudo-', CAST(u AS STRING)) AS user_pseudo_id, IF(MOD(n, 10) < 7, CONCAT('u', CAST(u AS STRING)), NULL) AS user_id,
  CONCAT('s', CAST(u AS STRING), '-', CAST(d AS STRING)) AS session_id, ['WEB', 'IOS', 'ANDROID'][OFFSET(MOD(n, 3))] AS platform,
  ['United States', 'Germany', 'France', 'Japan', 'Brazil', 'India', 'Canada'][OFFSET(MOD(n, 7))] AS country,
  ${SQL_SPECIFIC[type]}
FROM (SELECT n, DIV(n, ${perDay}) AS d, MOD(n, ${perDay}) AS k, MOD(n * 7919, ${INGEST_DEMO_USERS}) + 1 AS u FROM UNNEST(GENERATE_ARRAY(0, ${perDay * days - 1})) AS n)`;
}

/**
 * Creates the six demo event tables in the emulator unless they already hold the demo month
 * (idempotent; the emulator keeps data in memory, so once per emulator start). Returns the seconds it took.
 */
export async function ensureIngestDemoData(info: StackInfo, log: (s: string) => void = () => undefined): Promise<number> {
  const started = Date.now();
  await waitForBackgroundSeed(info, log);
  process.env.METADATA_SERVER_DETECTION ??= 'none';
  const { BigQuery } = await import('@google-cloud/bigquery');
  const bq = new BigQuery({ projectId: info.bigquery.projectId, apiEndpoint: info.bigquery.endpoint });
  const dataset = bq.dataset(INGEST_DEMO_DATASET);
  const [exists] = await dataset.exists();
  if (!exists) await dataset.create();
  const want = demoEventCounts();
  // one query for the six counts (a table that does not exist yet fails it: then each alone)
  const have = new Map<EventType, number>();
  const count = (type: EventType) => `SELECT '${type}' AS t, COUNT(*) AS n FROM \`${info.bigquery.projectId}.${INGEST_DEMO_DATASET}.${type}\``;
  try {
    const [rows] = await bq.query({ query: EVENT_TYPES.map(count).join(' UNION ALL ') });
    for (const r of rows as { t: EventType; n: number }[]) have.set(r.t, Number(r.n));
  } catch {
    for (const type of EVENT_TYPES) {
      try {
        const [rows] = await bq.query({ query: count(type) });
        have.set(type, Number((rows as { n: number }[])[0].n));
      } catch {
        /* no table yet */
      }
    }
  }
  for (const type of EVENT_TYPES) {
    if (have.get(type) === want[type]) continue;
    const t = Date.now();
    await bq.query({ query: demoTableSql(info.bigquery.projectId, type) });
    log(`  ingest demo: ${INGEST_DEMO_DATASET}.${type} with ${want[type]} rows in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  }
  return (Date.now() - started) / 1000;
}

/** The PID file of the background creation `stack up` starts (in the stack's state folder). */
function seedPidPath(info: StackInfo): string {
  return path.join(path.dirname(info.demoConfigPath), 'ingest-demo-seed.pid');
}

/** The PID of a running background creation (not this process), if any. */
function runningSeeder(info: StackInfo): number | undefined {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(seedPidPath(info), 'utf8').trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return undefined;
  try {
    // the PID file may outlive its process; a reused PID is some other program
    if (!fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('seed-ingest')) return undefined;
  } catch {
    return undefined;
  }
  return pid;
}

/** Waits while `stack up`'s background creation of the demo tables runs (two creations at once would race). */
async function waitForBackgroundSeed(info: StackInfo, log: (s: string) => void): Promise<void> {
  const pid = runningSeeder(info);
  if (pid === undefined) return;
  log(`  ingest demo: waiting for the demo tables \`stack up\` is creating in the background (pid ${pid}) …`);
  const deadline = Date.now() + 15 * 60_000;
  while (runningSeeder(info) === pid && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
}

/**
 * `stack up`: creates the six demo event tables in the BigQuery emulator in a background process
 * (0.5–3 min by load; the emulator holds them until it stops), so `up` stays fast and the demo, the tests and
 * the bench find them ready (they wait for it when it is still running). Returns its PID, or
 * undefined when one is already running.
 */
export function startIngestDemoSeed(info: StackInfo, credentialsFile: string, logsDir: string): { pid: number; log: string } | undefined {
  if (runningSeeder(info) !== undefined) return undefined;
  const logPath = path.join(logsDir, 'ingest-demo-seed.log');
  const fd = fs.openSync(logPath, 'a');
  const child = spawn(process.execPath, [...(__filename.endsWith('.ts') ? ['--import', 'tsx'] : []), __filename, credentialsFile], {
    cwd: path.resolve(__dirname, '..', '..'),
    detached: true,
    stdio: ['ignore', fd, fd],
    env: { ...process.env, METADATA_SERVER_DETECTION: 'none' },
  });
  fs.closeSync(fd);
  child.unref();
  fs.writeFileSync(seedPidPath(info), String(child.pid));
  return { pid: child.pid!, log: logPath };
}

export function demoUsersCsv(version: 1 | 2 = 2): string {
  const r = rng(4242);
  const lines = ['user_id,email,company_name,first_name,last_name,created_at'];
  const n = version === 1 ? INGEST_DEMO_USERS - 200 : INGEST_DEMO_USERS;
  for (let u = 1; u <= n; u++) {
    const company = `"Company ${1 + Math.floor(r() * 400)}, Inc."`;
    const month = String(1 + Math.floor(r() * 12)).padStart(2, '0');
    lines.push(`u${u},user${u}${version === 1 && u % 10 === 0 ? '.old' : ''}@example.com,${company},First${u},Last${u},2024-${month}-15`);
  }
  return lines.join('\n') + '\n';
}

export function demoLocationsCsv(): string {
  const r = rng(777);
  const cities = [['Berlin', 'DE', 52.52, 13.4], ['Paris', 'FR', 48.86, 2.35], ['Austin', 'US', 30.27, -97.74], ['Osaka', 'JP', 34.69, 135.5], ['Toronto', 'CA', 43.65, -79.38]] as const;
  const lines = ['location_id,location_name,city,country,latitude,longitude'];
  for (let l = 1; l <= INGEST_DEMO_LOCATIONS; l++) {
    const [city, country, lat, lon] = cities[Math.floor(r() * cities.length)];
    lines.push(`L${String(l).padStart(4, '0')},Store ${l},${city},${country},${(lat + r() / 10).toFixed(4)},${(lon + r() / 10).toFixed(4)}`);
  }
  return lines.join('\n') + '\n';
}

/** Writes the dated report files into the demo tenant's SFTP folder (on disk, owned like the user's /upload). */
export function seedIngestSftp(info: StackInfo): void {
  const root = info.sftp.passwordUser.localRoot;
  const upload = path.join(root, 'upload');
  if (!fs.existsSync(upload)) return;
  const { uid, gid } = fs.statSync(upload);
  let dir = upload;
  for (const part of INGEST_DEMO_FOLDER.split('/').filter(Boolean).slice(1)) {
    dir = path.join(dir, part);
    if (!fs.existsSync(dir)) {
      fs.mkdirSync(dir);
      fs.chownSync(dir, uid, gid);
    }
  }
  const files: [string, string, string][] = [
    ['users_20250115.csv', demoUsersCsv(1), '2025-01-15T06:00:00Z'],
    ['users_20250131.csv', demoUsersCsv(2), '2025-01-31T06:00:00Z'],
    ['locations_20250131.csv', demoLocationsCsv(), '2025-01-31T06:00:00Z'],
  ];
  for (const [name, text, mtime] of files) {
    const p = path.join(dir, name);
    if (!fs.existsSync(p)) {
      fs.writeFileSync(p, text);
      fs.chownSync(p, uid, gid);
      fs.utimesSync(p, new Date(mtime), new Date(mtime));
    }
  }
}

/** The demo config's PostgreSQL DSN and demo tenant. */
export function ingestDemoConfig(info: StackInfo): Record<string, unknown> {
  return {
    postgres: { url: `postgres://${info.postgres.user}@${info.postgres.host}:${info.postgres.port}/${info.postgres.database}` },
    ingest: {
      tenants: {
        [INGEST_DEMO_TENANT]: {
          name: 'Demo shop',
          // the emulator reloads every stored job (with its result) on every request: leave none behind
          bigquery: { project_id: info.bigquery.projectId, dataset: INGEST_DEMO_DATASET, delete_query_jobs: true },
          sftp: 'default',
          users_file: { folder: INGEST_DEMO_FOLDER, pattern: 'users_*.csv' },
          locations_file: { folder: INGEST_DEMO_FOLDER, pattern: 'locations_*.csv' },
        },
      },
    },
  };
}

// the background creation started by `stack up`: `node [--import tsx] seed-ingest.(ts|js) <stack.json>`
if (require.main === module) {
  const info = JSON.parse(fs.readFileSync(process.argv[2], 'utf8')) as StackInfo;
  const out = (m: string) => process.stdout.write(`${new Date().toISOString()} ${m}\n`);
  out(`creating the ingest demo tables in ${info.bigquery.endpoint} …`);
  ensureIngestDemoData(info, out).then(
    (s) => {
      out(`ingest demo tables ready (${s.toFixed(1)} s)`);
      process.exit(0);
    },
    (err: unknown) => {
      out(`failed: ${(err as Error).message} (the demo, the tests and the bench create them on first use)`);
      process.exit(1);
    },
  );
}
