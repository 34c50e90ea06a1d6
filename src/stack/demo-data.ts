/**
 * The demo dataset the stack seeds into the BigQuery emulator: products with a `created_at`
 * timestamp, customers, and GA4-like events. Deterministic, so tests can count rows.
 */
export const DEMO_DATES = ['2025-01-06', '2025-01-07', '2025-01-08', '2025-01-09', '2025-01-10'];
export const DEMO_DATE = '2025-01-08';
export const PRODUCTS_PER_DAY = 8;
export const CUSTOMERS = 20;
export const EVENT_TYPES = ['page_view', 'session_start', 'add_to_cart', 'begin_checkout', 'purchase', 'sign_up'];
export const EVENTS_PER_TYPE_PER_DAY = 3;

type Row = Record<string, string | number | boolean | null>;
interface Column {
  name: string;
  type: string;
  mode?: string;
}
interface Table {
  id: string;
  columns: Column[];
  data: Row[];
}

export function demoTables(): Table[] {
  const categories = ['books', 'garden', 'kitchen', 'toys'];
  const products: Row[] = [];
  let id = 1;
  for (const date of DEMO_DATES) {
    for (let i = 0; i < PRODUCTS_PER_DAY; i++, id++) {
      products.push({
        id,
        name: `Product ${id}`,
        category: categories[id % categories.length],
        price: Math.round((id * 7.31) % 100 * 100) / 100 + 1,
        created_at: `${date}T${String(6 + i).padStart(2, '0')}:15:00`,
      });
    }
  }
  const customers: Row[] = [];
  for (let c = 1; c <= CUSTOMERS; c++) {
    customers.push({ id: c, name: `Customer ${c}`, email: `customer${c}@example.com`, country: ['US', 'DE', 'FR', 'JP'][c % 4] });
  }
  const events: Row[] = [];
  for (const date of DEMO_DATES) {
    const compact = date.replace(/-/g, '');
    const base = Date.parse(`${date}T00:00:00Z`) * 1000;
    EVENT_TYPES.forEach((name, t) => {
      for (let k = 0; k < EVENTS_PER_TYPE_PER_DAY; k++) {
        const user = ((t * 7 + k * 3) % CUSTOMERS) + 1;
        events.push({
          event_date: compact,
          event_timestamp: base + (t * 3600 + k * 60) * 1_000_000,
          event_name: name,
          user_pseudo_id: `pseudo-${user}`,
          user_id: String(user),
          platform: k % 2 ? 'WEB' : 'IOS',
          geo_country: ['United States', 'Germany', 'France'][k % 3],
          value: name === 'purchase' ? 10 + k : null,
        });
      }
    });
  }
  return [
    {
      id: 'products',
      columns: [
        { name: 'id', type: 'INTEGER', mode: 'REQUIRED' },
        { name: 'name', type: 'STRING' },
        { name: 'category', type: 'STRING' },
        { name: 'price', type: 'FLOAT' },
        { name: 'created_at', type: 'TIMESTAMP' },
      ],
      data: products,
    },
    {
      id: 'customers',
      columns: [
        { name: 'id', type: 'INTEGER', mode: 'REQUIRED' },
        { name: 'name', type: 'STRING' },
        { name: 'email', type: 'STRING' },
        { name: 'country', type: 'STRING' },
      ],
      data: customers,
    },
    {
      id: 'events',
      columns: [
        { name: 'event_date', type: 'STRING' },
        { name: 'event_timestamp', type: 'INTEGER' },
        { name: 'event_name', type: 'STRING' },
        { name: 'user_pseudo_id', type: 'STRING' },
        { name: 'user_id', type: 'STRING' },
        { name: 'platform', type: 'STRING' },
        { name: 'geo_country', type: 'STRING' },
        { name: 'value', type: 'FLOAT' },
      ],
      data: events,
    },
  ];
}

/** The emulator's `--data-from-yaml` document (JSON is valid YAML). */
export function demoYaml(projectId: string, dataset: string): string {
  return JSON.stringify({ projects: [{ id: projectId, datasets: [{ id: dataset, tables: demoTables() }] }] }, null, 1);
}
