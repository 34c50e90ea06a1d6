/** The backups block: defaults, and every guard alone in an otherwise valid config. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from '../../src/config/loader';
import { minimalRaw, configErrorOf } from '../config/fixtures';
import { renderBackupPath, tableBackupsFolder, tablesFolder, backupWorkflowId } from '../../src/backup/naming';
import { desiredBackupSchedules } from '../../src/backup/schedules';

function withBackup(b: Record<string, unknown>, name = 'models') {
  return { ...minimalRaw(), backups: { [name]: { dataset: 'bqx_ml_v3_models', destination: { type: 'sftp' }, ...b } } };
}

function problems(b: Record<string, unknown>, name?: string): string {
  return configErrorOf(() => validateConfig(withBackup(b, name))).message;
}

test('defaults: Parquet with Snappy, the seed path, staging deleted, existing configs stay valid', () => {
  assert.equal(Object.keys(validateConfig(minimalRaw()).backups).length, 0);
  const b = validateConfig(withBackup({})).backups.models;
  assert.equal(b.format, 'PARQUET');
  assert.equal(b.compression, 'SNAPPY');
  assert.equal(b.path, 'GCP/bigquery/{dataset}/{table}/{date}/');
  assert.equal(b.delete_staging, true);
  assert.equal(b.parquet_writer, 'auto');
  assert.equal(validateConfig(withBackup({ format: 'csv' })).backups.models.compression, 'NONE');
});

test('each guard names its field', () => {
  assert.match(problems({ dataset: 'bad-name' }), /backups\.models\.dataset: .*dataset id/);
  assert.match(problems({}, 'bad name'), /backups.*not a valid backup name/);
  assert.match(problems({ format: 'ORC' }), /backups\.models\.format/);
  assert.match(problems({ format: 'CSV', compression: 'SNAPPY' }), /backups\.models\.compression: SNAPPY is not available for CSV backups: use NONE, GZIP/);
  assert.match(problems({ path: 'GCP/{dataset}/{date}/' }), /backups\.models\.path: must have a folder \{table\}/);
  assert.match(problems({ path: 'GCP/{table}/{when}/' }), /backups\.models\.path: unknown placeholder \{when\}/);
  assert.match(problems({ path: 'GCP/../{table}/{date}' }), /backups\.models\.path: .*'\.\.'/);
  assert.match(problems({ retention: 0 }), /backups\.models\.retention/);
  assert.match(problems({ schedule: { cron: 'daily please' } }), /backups\.models\.schedule\.cron: must be a cron expression/);
  assert.match(problems({ schedule: { cron: '0 2 * * *', timezone: 'Mars/Base' } }), /backups\.models\.schedule\.timezone/);
  assert.match(problems({ destination: { type: 'ftp' } }), /backups\.models\.destination\.type/);
  assert.match(problems({ destination: { type: 'gcs' } }), /backups\.models\.destination\.bucket: required for a gcs destination/);
  assert.match(problems({ destination: { type: 'gcs', bucket: 'offsite-bucket', directory: '/x' } }), /destination\.directory: does not apply to a gcs destination/);
  assert.match(problems({ destination: { type: 'sftp', sftp: 'partner_x' } }), /backups\.models\.destination\.sftp: unknown connection "partner_x"/);
  assert.match(problems({ destination: { type: 'box' } }), /destination\.auth: required for a box destination/);
  assert.match(problems({ destination: { type: 'box', auth: 'ccg', client_id: 'id', client_secret: 's' } }), /destination\.enterprise_id: set enterprise_id/);
  assert.match(problems({ destination: { type: 'box', auth: 'jwt' } }), /destination\.jwt_config_secret: required/);
  assert.match(problems({ destinaton: { type: 'sftp' } }), /destinaton.*destination/);
});

test('paths: the seed layout, the folders retention and verify walk, workflow IDs', () => {
  const v = { backup: 'm', project: 'p', dataset: 'ds', table: 't1', date: '2025-01-08' };
  assert.equal(renderBackupPath('GCP/bigquery/{dataset}/{table}/{date}/', v), 'GCP/bigquery/ds/t1/2025-01-08');
  assert.equal(renderBackupPath('/x/{table}/{date_nodash}', v), 'x/t1/20250108');
  assert.deepEqual(tableBackupsFolder('GCP/bigquery/{dataset}/{table}/{date}/', v).folder, 'GCP/bigquery/ds/t1');
  assert.equal(tablesFolder('GCP/bigquery/{dataset}/{table}/{date}/', v), 'GCP/bigquery/ds');
  assert.equal(backupWorkflowId('m', '2025-01-08'), 'backup-m-2025-01-08');
  assert.equal(backupWorkflowId('m', '2025-01-08', ['b', 'a']), backupWorkflowId('m', '2025-01-08', ['a', 'b']));
  assert.notEqual(backupWorkflowId('m', '2025-01-08', ['a']), backupWorkflowId('m', '2025-01-08'));
});

test("one schedule per scheduled backup (the seed's four Cloud Scheduler jobs)", () => {
  const raw = {
    ...minimalRaw(),
    backups: {
      models: { dataset: 'bqx_ml_v3_models', destination: { type: 'sftp' }, schedule: { cron: '0 2 * * *' } },
      features: { dataset: 'bqx_ml_v3_features', destination: { type: 'sftp' }, schedule: { cron: '0 3 * * 0' } },
      predictions: { dataset: 'bqx_ml_v3_predictions', destination: { type: 'sftp' }, schedule: { cron: '0 4 * * 1' } },
      analytics: { dataset: 'bqx_ml_v3_analytics_v2', destination: { type: 'sftp' }, schedule: { cron: '0 5 1 * *', timezone: 'UTC' } },
      adhoc: { dataset: 'scratch', destination: { type: 'sftp' } },
    },
  };
  const s = desiredBackupSchedules(validateConfig(raw));
  assert.deepEqual(s.map((d) => [d.id, d.cron, d.workflowType]), [
    ['bq-sftp-backup-analytics', '0 5 1 * *', 'BackupWorkflow'],
    ['bq-sftp-backup-features', '0 3 * * 0', 'BackupWorkflow'],
    ['bq-sftp-backup-models', '0 2 * * *', 'BackupWorkflow'],
    ['bq-sftp-backup-predictions', '0 4 * * 1', 'BackupWorkflow'],
  ]);
  assert.deepEqual(s[2].input, { backup: 'models', timezone: 'UTC' });
});
