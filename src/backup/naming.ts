/**
 * Names shared by the backup workflows and activities (no Node built-ins: workflow code imports it).
 */

export const MANIFEST_NAME = '_BACKUP.json';

/** `backup-<name>-<date>`; a run narrowed to some tables gets a suffix naming them (stable across starts). */
export function backupWorkflowId(backup: string, date: string, tables?: string[]): string {
  const base = `backup-${backup}-${date}`;
  if (!tables?.length) return base;
  return `${base}-t${fnv1a([...new Set(tables)].sort().join(','))}`;
}

export function backupVerifyWorkflowId(backup: string, date: string): string {
  return `backup-verify-${backup}-${date}`;
}

export function backupRestoreWorkflowId(backup: string, date: string, toDataset: string): string {
  return `backup-restore-${backup}-${date}-to-${toDataset}`;
}

/** 32-bit FNV-1a, hex: a short stable tag for a list of names. */
export function fnv1a(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

export interface PathVars {
  backup: string;
  project: string;
  dataset: string;
  table: string;
  date: string;
}

/** The destination folder of one table's backup, relative to the destination's base, without slashes at either end. */
export function renderBackupPath(template: string, v: PathVars): string {
  const values: Record<string, string> = { ...v, date_nodash: v.date.replace(/-/g, '') };
  return template
    .replace(/\{([a-z_]+)\}/g, (_, k: string) => values[k] ?? `{${k}}`)
    .split('/')
    .filter((s) => s !== '')
    .join('/');
}

/**
 * The folder that holds one table's dated backups (the part of the template above `{date}`), and
 * the pattern of the dated folder names in it: what retention and `backup list` walk.
 */
export function tableBackupsFolder(template: string, v: Omit<PathVars, 'date'>): { folder: string; datePattern: RegExp; rest: string } {
  const segs = template.split('/').filter((s) => s !== '');
  const i = segs.findIndex((s) => s === '{date}' || s === '{date_nodash}');
  const folder = renderBackupPath(segs.slice(0, i).join('/'), { ...v, date: '' });
  const datePattern = segs[i] === '{date}' ? /^\d{4}-\d{2}-\d{2}$/ : /^\d{8}$/;
  return { folder, datePattern, rest: segs.slice(i + 1).join('/') };
}

/** The folder above `{table}`: listing it finds the tables of a backup. */
export function tablesFolder(template: string, v: Omit<PathVars, 'date' | 'table'>): string {
  const segs = template.split('/').filter((s) => s !== '');
  const i = segs.indexOf('{table}');
  return renderBackupPath(segs.slice(0, i).join('/'), { ...v, table: '', date: '' });
}

/** A dated folder name back to YYYY-MM-DD. */
export function folderDate(name: string): string {
  return /^\d{8}$/.test(name) ? `${name.slice(0, 4)}-${name.slice(4, 6)}-${name.slice(6)}` : name;
}

/** The GCS staging prefix of one table's run. */
export function stagingPrefix(backup: string, date: string, table: string): string {
  return `backup-staging/${backup}/${date.replace(/-/g, '')}/${table}/`;
}
