/**
 * The backup family's demo data (seed 003): a second BigQuery dataset, `backup_demo`, with mixed
 * types (ints, floats, unicode strings, dates, timestamps, booleans, NULLs), one table of
 * 200,000 rows whose backup takes several seconds, and a view (which backups skip).
 *
 * The rows are generated once into the stack's state folder (newline-delimited JSON) and loaded
 * with load jobs after start-up; the view and the off-site bucket are created through the APIs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createBigQuery } from '../bigquery/client';
import { createStorage } from '../gcs/client';
import type { StackInfo } from './stack-info';

export const BACKUP_DEMO_DATASET = 'backup_demo';
export const BACKUP_DEMO_BIG_TABLE = 'events_big';
export const BACKUP_DEMO_BIG_ROWS = 200_000;
export const BACKUP_DEMO_VIEW = 'active_customers';
/** the "second GCS bucket" an off-site copy goes to */
export const BACKUP_OFFSITE_BUCKET = 'bq-sftp-offsite';
export const BACKUP_DEMO_ROWS: Record<string, number> = { customers_intl: 40, orders: 1500, [BACKUP_DEMO_BIG_TABLE]: BACKUP_DEMO_BIG_ROWS };
const VERSION = 1;

type Row = Record<string, string | number | boolean | null>;
interface Table {
  id: string;
  columns: { name: string; type: string; mode?: string }[];
  data: Row[];
}

const NAMES = ['Zoë Ångström', '山田 太郎', 'Müller & Söhne', 'José Ñúñez', 'Ольга Петрова', 'Αλέξης', 'محمد', 'Chloé 🚀', 'O\'Brien "Bob"', 'plain ascii'];
const COUNTRIES = ['DE', 'JP', 'US', 'FR', 'BR', 'IN', null];
const EVENTS = ['page_view', 'add_to_cart', 'purchase', 'sign_up', 'search'];

const day = (base: string, plus: number) => new Date(Date.parse(`${base}T00:00:00Z`) + plus * 86_400_000).toISOString().slice(0, 10);
const ts = (ms: number) => new Date(ms).toISOString().replace('Z', '').replace(/\.000$/, '');

export function backupDemoTables(): Table[] {
  const customers: Row[] = [];
  for (let i = 1; i <= BACKUP_DEMO_ROWS.customers_intl; i++) {
    customers.push({
      id: i,
      name: `${NAMES[i % NAMES.length]} #${i}`,
      email: i % 7 === 0 ? null : `user${i}@exämple.com`,
      country: COUNTRIES[i % COUNTRIES.length],
      signup_date: day('2023-01-01', i * 9),
      last_login: i % 5 === 0 ? null : ts(Date.UTC(2025, 0, 1) + i * 3_600_123),
      active: i % 3 !== 0,
      balance: i % 4 === 0 ? null : Math.round(i * 123.457) / 100,
    });
  }
  const orders: Row[] = [];
  for (let i = 1; i <= BACKUP_DEMO_ROWS.orders; i++) {
    orders.push({
      order_id: 100_000 + i,
      customer_id: (i % BACKUP_DEMO_ROWS.customers_intl) + 1,
      amount: Math.round(((i * 37) % 10_000) * 1.01) / 100,
      status: ['new', 'paid', 'shipped', 'returned ↩'][i % 4],
      ordered_at: ts(Date.UTC(2024, 5, 1) + i * 600_000),
      ship_date: i % 6 === 0 ? null : day('2024-06-02', Math.floor(i / 144)),
      gift: i % 10 === 0 ? null : i % 3 === 0,
      note: i % 50 === 0 ? `Geschenk für ${NAMES[i % NAMES.length]}` : null,
    });
  }
  const events: Row[] = [];
  const t0 = Date.UTC(2025, 0, 1);
  for (let i = 1; i <= BACKUP_DEMO_BIG_ROWS; i++) {
    events.push({
      event_id: i,
      user_id: (i * 7919) % 50_000,
      event_name: EVENTS[i % EVENTS.length],
      event_ts: ts(t0 + i * 13_001),
      event_date: day('2025-01-01', Math.floor((i * 13_001) / 86_400_000)),
      value: i % 5 === 2 ? Math.round(i % 1000) / 10 : null,
      country: COUNTRIES[i % COUNTRIES.length],
      is_mobile: i % 2 === 0,
    });
  }
  return [
    {
      id: 'customers_intl',
      columns: [
        { name: 'id', type: 'INTEGER', mode: 'REQUIRED' },
        { name: 'name', type: 'STRING' },
        { name: 'email', type: 'STRING' },
        { name: 'country', type: 'STRING' },
        { name: 'signup_date', type: 'DATE' },
        { name: 'last_login', type: 'TIMESTAMP' },
        { name: 'active', type: 'BOOLEAN' },
        { name: 'balance', type: 'FLOAT' },
      ],
      data: customers,
    },
    {
      id: 'orders',
      columns: [
        { name: 'order_id', type: 'INTEGER', mode: 'REQUIRED' },
        { name: 'customer_id', type: 'INTEGER' },
        { name: 'amount', type: 'FLOAT' },
        { name: 'status', type: 'STRING' },
        { name: 'ordered_at', type: 'TIMESTAMP' },
        { name: 'ship_date', type: 'DATE' },
        { name: 'gift', type: 'BOOLEAN' },
        { name: 'note', type: 'STRING' },
      ],
      data: orders,
    },
    {
      id: BACKUP_DEMO_BIG_TABLE,
      columns: [
        { name: 'event_id', type: 'INTEGER', mode: 'REQUIRED' },
        { name: 'user_id', type: 'INTEGER' },
        { name: 'event_name', type: 'STRING' },
        { name: 'event_ts', type: 'TIMESTAMP' },
        { name: 'event_date', type: 'DATE' },
        { name: 'value', type: 'FLOAT' },
        { name: 'country', type: 'STRING' },
        { name: 'is_mobile', type: 'BOOLEAN' },
      ],
      data: events,
    },
  ];
}

/** One newline-delimited JSON file per table, generated once into the state folder. */
export function backupDemoFiles(stateDir: string): { table: Table; file: string }[] {
  const dir = path.join(stateDir, `backup-demo.v${VERSION}`);
  const tables = backupDemoTables();
  if (!fs.existsSync(path.join(dir, 'done'))) {
    fs.mkdirSync(dir, { recursive: true });
    for (const t of tables) fs.writeFileSync(path.join(dir, `${t.id}.json`), t.data.map((r) => JSON.stringify(r)).join('\n') + '\n');
    fs.writeFileSync(path.join(dir, 'done'), '');
  }
  return tables.map((t) => ({ table: { ...t, data: [] }, file: path.join(dir, `${t.id}.json`) }));
}

/**
 * After start-up: the dataset's tables through load jobs from GCS (the emulator keeps no state,
 * so this runs on every `up`; the emulator's YAML loader needs minutes and gigabytes for 200,000
 * rows, a load job seconds), the view (backups skip views) and the off-site bucket.
 */
export async function seedBackup(info: StackInfo, stateDir: string): Promise<void> {
  if (process.env.BQSFTP_BACKUP_DEMO === '0') return;
  const storage = createStorage({ apiEndpoint: info.gcs.endpoint, projectId: info.gcs.projectId });
  const [exists] = await storage.bucket(BACKUP_OFFSITE_BUCKET).exists();
  if (!exists) await storage.createBucket(BACKUP_OFFSITE_BUCKET);
  const bq = createBigQuery({ apiEndpoint: info.bigquery.endpoint, projectId: info.bigquery.projectId });
  const ds = bq.dataset(BACKUP_DEMO_DATASET);
  const [hasDataset] = await ds.exists();
  if (!hasDataset) await ds.create();
  await Promise.all(
    backupDemoFiles(stateDir).map(async ({ table, file }) => {
      const [has] = await ds.table(table.id).exists();
      if (has) return;
      const object = storage.bucket(info.gcs.bucket).file(`_seed/${BACKUP_DEMO_DATASET}/v${VERSION}/${table.id}.json`);
      const [uploaded] = await object.exists();
      if (!uploaded) await object.save(fs.readFileSync(file), { resumable: false, contentType: 'application/json' });
      const [job] = await bq.createJob({
        configuration: {
          load: {
            sourceUris: [`gs://${info.gcs.bucket}/${object.name}`],
            destinationTable: { projectId: info.bigquery.projectId, datasetId: BACKUP_DEMO_DATASET, tableId: table.id },
            sourceFormat: 'NEWLINE_DELIMITED_JSON',
            schema: { fields: table.columns },
            writeDisposition: 'WRITE_TRUNCATE',
          },
        },
      });
      for (;;) {
        const [m] = await job.getMetadata();
        const status = (m as { status?: { state?: string; errorResult?: { message?: string } } }).status;
        if (status?.state === 'DONE') {
          if (status.errorResult) throw new Error(`loading the backup demo table ${table.id}: ${status.errorResult.message}`);
          break;
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    }),
  );
  const [hasView] = await ds.table(BACKUP_DEMO_VIEW).exists();
  if (!hasView) {
    await ds.createTable(BACKUP_DEMO_VIEW, {
      view: { query: `SELECT id, name, country FROM \`${info.bigquery.projectId}.${BACKUP_DEMO_DATASET}.customers_intl\` WHERE active`, useLegacySql: false },
    });
  }
}
