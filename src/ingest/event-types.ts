/**
 * The six GA4 event types of seed 001, one BigQuery table and one PostgreSQL table each, and the
 * columns they carry. No Node built-ins: the workflow imports this module.
 */
export const EVENT_TYPES = ['purchase', 'add_to_cart', 'page_view', 'view_item', 'view_search_results', 'no_search_results'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const DATA_TYPES = ['events', 'users', 'locations'] as const;
export type DataType = (typeof DATA_TYPES)[number];

export type BqType = 'STRING' | 'INTEGER' | 'FLOAT' | 'DATE';
export interface EventColumn {
  name: string;
  bq: BqType;
  pg: string;
}

const COMMON: EventColumn[] = [
  { name: 'event_date', bq: 'DATE', pg: 'date NOT NULL' },
  { name: 'event_timestamp', bq: 'INTEGER', pg: 'bigint NOT NULL' },
  { name: 'user_pseudo_id', bq: 'STRING', pg: 'text' },
  { name: 'user_id', bq: 'STRING', pg: 'text' },
  { name: 'session_id', bq: 'STRING', pg: 'text' },
  { name: 'platform', bq: 'STRING', pg: 'text' },
  { name: 'country', bq: 'STRING', pg: 'text' },
];

const s = (name: string): EventColumn => ({ name, bq: 'STRING', pg: 'text' });
const i = (name: string): EventColumn => ({ name, bq: 'INTEGER', pg: 'bigint' });
const f = (name: string): EventColumn => ({ name, bq: 'FLOAT', pg: 'double precision' });

const SPECIFIC: Record<EventType, EventColumn[]> = {
  purchase: [s('transaction_id'), f('revenue'), s('currency'), { name: 'items', bq: 'STRING', pg: 'jsonb' }],
  add_to_cart: [s('item_id'), s('item_name'), i('quantity'), f('price')],
  page_view: [s('page_title'), s('page_location'), s('page_referrer')],
  view_item: [s('item_id'), s('item_name'), s('item_category')],
  view_search_results: [s('search_term'), i('results_count')],
  no_search_results: [s('search_term')],
};

/** The columns of an event type, in the order they are selected and copied. */
export function eventColumns(type: EventType): EventColumn[] {
  return [...COMMON, ...SPECIFIC[type]];
}

/** The PostgreSQL table of an event type. */
export function eventTable(type: EventType): string {
  return `event_${type}`;
}

/** The keys of the seed's `records_processed`, in the seed's order, for the types a job pulls. */
export function recordKeys(dataTypes: readonly DataType[], eventTypes: readonly EventType[]): string[] {
  const keys: string[] = [];
  if (dataTypes.includes('events')) keys.push(...eventTypes);
  if (dataTypes.includes('users')) keys.push('users_processed');
  if (dataTypes.includes('locations')) keys.push('locations_processed');
  return keys;
}
