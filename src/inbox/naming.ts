/** Names shared by the inbox workflows and activities. No Node built-ins (workflow code imports it). */

/** Every poll of an inbox, scheduled or manual, runs under this one ID: polls never overlap. */
export const pollWorkflowId = (inbox: string) => `inbox-${inbox}-poll`;
/** A batch's ID comes from its files, so the same files can never be submitted as two batches. */
export const batchWorkflowId = (inbox: string, batchId: string) => `inbox-${inbox}-batch-${batchId}`;
export const inboxScheduleId = (taskQueue: string, inbox: string) => `${taskQueue}-inbox-${inbox}`;

/** `*.pdf` → a case-insensitive RegExp for whole file names (`*` any run, `?` one character). */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (const ch of glob) {
    if (ch === '*') re += '.*';
    else if (ch === '?') re += '.';
    else re += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 'is');
}

/** Why a listed name must be left alone (path separators, control characters), or undefined. */
export function hostileNameProblem(name: string): string | undefined {
  if (name.includes('/') || name.includes('\\')) return 'the name contains a path separator';
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || c === 0x2028 || c === 0x2029) return 'the name contains control characters';
  }
  if (name === '.' || name === '..' || name.trim() === '') return 'not a file name';
  return undefined;
}

/** The MMDDYYYY folder name of `when` in `timeZone` (the seed's folder format). */
export function folderDate(when: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(when);
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '';
  return `${get('month')}${get('day')}${get('year')}`;
}

/** MMDDYYYY → epoch ms of that day (UTC midnight), or undefined for other names. */
export function parseFolderDate(name: string): number | undefined {
  const m = /^(\d{2})(\d{2})(\d{4})$/.exec(name);
  if (!m) return undefined;
  const t = Date.UTC(Number(m[3]), Number(m[1]) - 1, Number(m[2]));
  const d = new Date(t);
  return d.getUTCMonth() === Number(m[1]) - 1 && d.getUTCDate() === Number(m[2]) ? t : undefined;
}

/** OpenPGP file names (src/pgp/config.ts PGP_INBOUND_SUFFIXES): `report.pdf.pgp` → `report.pdf`. */
const PGP_SUFFIX = /^(.+)(\.(?:pgp|gpg|asc))$/is;

/** `report.pdf` without its OpenPGP suffix (`report.pdf.gpg` → `report.pdf`), or undefined. */
export function pgpPlainName(name: string): string | undefined {
  return PGP_SUFFIX.exec(name)?.[1];
}

/**
 * `report.pdf`, n → `report_n.pdf` (a name already taken gets a suffix; nothing is overwritten);
 * an OpenPGP file keeps its suffix last: `report.pdf.pgp` → `report_n.pdf.pgp` (it decrypts to `report_n.pdf`).
 */
export function suffixedName(name: string, n: number): string {
  if (n === 0) return name;
  const m = PGP_SUFFIX.exec(name);
  if (m) return `${suffixedName(m[1], n)}${m[2]}`;
  const dot = name.lastIndexOf('.');
  return dot > 0 ? `${name.slice(0, dot)}_${n}${name.slice(dot)}` : `${name}_${n}`;
}

export function joinPath(...parts: string[]): string {
  return ('/' + parts.join('/')).replace(/\/+/g, '/').replace(/(.)\/$/, '$1');
}

export function baseName(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}

export function dirName(p: string): string {
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}
