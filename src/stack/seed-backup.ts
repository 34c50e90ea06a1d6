/**
 * The backup family's demo data (seed 003): a second BigQuery dataset, `backup_demo`, with mixed
 * types (ints, floats, unicode strings, dates, timestamps, booleans, NULLs), one table of
 * 200,000 rows whose backup takes several seconds, and a view (which backups skip).
 *
 * The tables are generated once into the stack's state folder and handed to the emulator in its
 * start-up YAML (inserting rows through the API is far slower); the view and the off-site bucket
 * are created through the APIs after start-up, on every `up` (the emulator keeps no state).
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

/** The dataset's YAML/JSON text, generated once and kept in the state folder. */
export function backupDemoDatasetJson(stateDir: string): string {
  const file = path.join(stateDir, `backup-demo-dataset.v${VERSION}.json`);
  if (!fs.existsSync(file)) {
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify({ id: BACKUP_DEMO_DATASET, tables: backupDemoTables() }));
    fs.renameSync(tmp, file);
  }
  return fs.readFileSync(file, 'utf8');
}

/** The emulator's start-up document with the backup demo dataset added to the first project. */
export function withBackupDemoDataset(yaml: string, stateDir: string): string {
  if (process.env.BQSFTP_BACKUP_DEMO === '0') return yaml;
  const doc = JSON.parse(yaml) as { projects: { datasets: unknown[] }[] };
  const marker = '"__bqsftp_backup_demo__"';
  doc.projects[0].datasets.push('__bqsftp_backup_demo__');
  return JSON.stringify(doc).replace(marker, () => backupDemoDatasetJson(stateDir));
}

/** After start-up: the view (views are skipped by backups) and the off-site bucket. */
export async function seedBackup(info: StackInfo): Promise<void> {
  if (process.env.BQSFTP_BACKUP_DEMO === '0') return;
  const storage = createStorage({ apiEndpoint: info.gcs.endpoint, projectId: info.gcs.projectId });
  const [exists] = await storage.bucket(BACKUP_OFFSITE_BUCKET).exists();
  if (!exists) await storage.createBucket(BACKUP_OFFSITE_BUCKET);
  const bq = createBigQuery({ apiEndpoint: info.bigquery.endpoint, projectId: info.bigquery.projectId });
  const ds = bq.dataset(BACKUP_DEMO_DATASET);
  const [hasView] = await ds.table(BACKUP_DEMO_VIEW).exists();
  if (!hasView) {
    await ds.createTable(BACKUP_DEMO_VIEW, {
      view: { query: `SELECT id, name, country FROM \`${info.bigquery.projectId}.${BACKUP_DEMO_DATASET}.customers_intl\` WHERE active`, useLegacySql: false },
    });
  }
}
