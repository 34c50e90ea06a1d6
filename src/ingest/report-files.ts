/**
 * The two SFTP report files of seed 001 (users, locations): their columns, how a value is
 * checked, and the table and key they upsert into. No Node built-ins.
 */
export type ReportKind = 'users' | 'locations';

type Parsed = { ok: true; value: string | number | null } | { ok: false; error: string };
export interface ReportColumn {
  name: string;
  /** the header must have it */
  required: boolean;
  pgType: 'text' | 'date' | 'float8';
  parse: (raw: string) => Parsed;
}

const text = (raw: string): Parsed => ({ ok: true, value: raw === '' ? null : raw });
const key = (raw: string): Parsed => (raw.trim() === '' ? { ok: false, error: 'is empty' } : { ok: true, value: raw.trim() });
const email = (raw: string): Parsed =>
  raw === '' ? { ok: true, value: null } : /^[^\s@]+@[^\s@]+$/.test(raw.trim()) ? { ok: true, value: raw.trim() } : { ok: false, error: `is not an e-mail address: ${JSON.stringify(raw.slice(0, 60))}` };
const date = (raw: string): Parsed => {
  if (raw === '') return { ok: true, value: null };
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(raw.trim());
  if (!m) return { ok: false, error: `is not a date (YYYY-MM-DD): ${JSON.stringify(raw.slice(0, 40))}` };
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
  if (d.getUTCMonth() !== +m[2] - 1 || d.getUTCDate() !== +m[3]) return { ok: false, error: `is not a real date: ${JSON.stringify(raw.slice(0, 40))}` };
  return { ok: true, value: `${m[1]}-${m[2]}-${m[3]}` };
};
const coordinate = (limit: number) => (raw: string): Parsed => {
  if (raw.trim() === '') return { ok: true, value: null };
  const n = Number(raw);
  if (!Number.isFinite(n) || Math.abs(n) > limit) return { ok: false, error: `is not a number between -${limit} and ${limit}: ${JSON.stringify(raw.slice(0, 40))}` };
  return { ok: true, value: n };
};

export interface ReportSpec {
  kind: ReportKind;
  table: string;
  key: string;
  columns: ReportColumn[];
  /** the key of records_processed */
  recordKey: string;
}

export const REPORTS: Record<ReportKind, ReportSpec> = {
  users: {
    kind: 'users',
    table: 'users',
    key: 'user_id',
    recordKey: 'users_processed',
    columns: [
      { name: 'user_id', required: true, pgType: 'text', parse: key },
      { name: 'email', required: true, pgType: 'text', parse: email },
      { name: 'company_name', required: true, pgType: 'text', parse: text },
      { name: 'first_name', required: false, pgType: 'text', parse: text },
      { name: 'last_name', required: false, pgType: 'text', parse: text },
      { name: 'created_at', required: false, pgType: 'date', parse: date },
    ],
  },
  locations: {
    kind: 'locations',
    table: 'locations',
    key: 'location_id',
    recordKey: 'locations_processed',
    columns: [
      { name: 'location_id', required: true, pgType: 'text', parse: key },
      { name: 'location_name', required: true, pgType: 'text', parse: text },
      { name: 'city', required: true, pgType: 'text', parse: text },
      { name: 'country', required: false, pgType: 'text', parse: text },
      { name: 'latitude', required: false, pgType: 'float8', parse: coordinate(90) },
      { name: 'longitude', required: false, pgType: 'float8', parse: coordinate(180) },
    ],
  },
};

/** `users_*.csv` → a RegExp matching whole file names (`*` any run, `?` one character). */
export function globToRegExp(pattern: string): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}
