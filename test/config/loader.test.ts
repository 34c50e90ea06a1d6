import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  loadConfig,
  loadConfigWithSource,
  resolveSftpPrivateKey,
  validateConfig,
  type Config,
} from '../../src/config';
import { configErrorOf, issueMap, minimalRaw, tempDir, writeJson } from './fixtures';

// placeholder key text, assembled so no file in the repo looks like a committed key
const FAKE_KEY_KIND = ['OPENSSH', 'PRIVATE', 'KEY'].join(' ');

/** One config in its three forms. Exports are left out: the env-var form cannot express them. */
const FILE_FORM = {
  temporal: { address: 'temporal.internal:7233', namespace: 'exports', task_queue: 'bq-sftp-prod', api_key: 'tmprl-key-123', ui_url: 'https://temporal.example.com' },
  bigquery: { project_id: 'acme-data', api_endpoint: 'http://127.0.0.1:9050' },
  gcs: { bucket: 'acme-exports', expiration_days: 7, project_id: 'acme-data', api_endpoint: 'http://127.0.0.1:4443' },
  sftp: {
    host: 'sftp.acme.com',
    port: 2222,
    username: 'acme',
    password: 'p@ss word!',
    directory: '/outgoing',
    host_key: 'SHA256:0npeBQ7Zg7DJBtnkufLt5zh6raB4zsLsBwwHIb2vM4k',
  },
  slack: { webhook_url: 'https://hooks.slack.example/services/T/B/X' },
};

const ENV_FORM = {
  SFTP_HOST: 'sftp.acme.com',
  SFTP_PORT: '2222',
  SFTP_USERNAME: 'acme',
  SFTP_PASSWORD: 'p@ss word!',
  SFTP_DIRECTORY: '/outgoing',
  SFTP_HOST_KEY: 'SHA256:0npeBQ7Zg7DJBtnkufLt5zh6raB4zsLsBwwHIb2vM4k',
  GCS_BUCKET: 'acme-exports',
  GCS_EXPIRATION_DAYS: '7',
  GCS_API_ENDPOINT: 'http://127.0.0.1:4443',
  GCP_PROJECT: 'acme-data',
  BIGQUERY_API_ENDPOINT: 'http://127.0.0.1:9050',
  SLACK_WEBHOOK_URL: 'https://hooks.slack.example/services/T/B/X',
  TEMPORAL_ADDRESS: 'temporal.internal:7233',
  TEMPORAL_NAMESPACE: 'exports',
  TEMPORAL_TASK_QUEUE: 'bq-sftp-prod',
  TEMPORAL_API_KEY: 'tmprl-key-123',
  TEMPORAL_UI_URL: 'https://temporal.example.com',
};

const dir = tempDir();

void describe('config sources give the same Config', () => {
  void test('file form, EXPORT_CONFIG form and env-var form are deep equal', () => {
    const file = writeJson(dir, 'same.json', FILE_FORM);
    const fromFile = loadConfig({ path: file, env: {} });
    const fromExportConfig = loadConfig({ env: { EXPORT_CONFIG: JSON.stringify(FILE_FORM) }, cwd: dir });
    const fromEnv = loadConfig({ env: ENV_FORM, cwd: dir });
    assert.deepEqual(fromExportConfig, fromFile);
    assert.deepEqual(fromEnv, fromFile);
    assert.equal(fromEnv.sftp!.port, 2222);
    assert.equal(fromEnv.gcs.expiration_days, 7);
  });

  void test('with exports: the file and EXPORT_CONFIG forms are deep equal', () => {
    const raw = minimalRaw();
    const file = writeJson(dir, 'with-exports.json', raw);
    const viaConfigPath = loadConfig({ env: { CONFIG_PATH: file } });
    const viaExportConfig = loadConfig({ env: { EXPORT_CONFIG: JSON.stringify(raw) }, cwd: dir });
    assert.deepEqual(viaExportConfig, viaConfigPath);
    assert.deepEqual(viaConfigPath, validateConfig(raw));
  });

  void test('GOOGLE_CLOUD_PROJECT works like GCP_PROJECT (GCP_PROJECT wins)', () => {
    const base = { SFTP_HOST: 'h', SFTP_USERNAME: 'u', SFTP_PASSWORD: 'p', SFTP_DIRECTORY: '/d', GCS_BUCKET: 'bkt' };
    const a = loadConfig({ env: { ...base, GOOGLE_CLOUD_PROJECT: 'g' }, cwd: dir });
    assert.equal(a.bigquery.project_id, 'g');
    assert.equal(a.gcs.project_id, 'g');
    const b = loadConfig({ env: { ...base, GOOGLE_CLOUD_PROJECT: 'g', GCP_PROJECT: 'p' }, cwd: dir });
    assert.equal(b.bigquery.project_id, 'p');
  });

  void test('SFTP_PRIVATE_KEY with literal \\n sequences becomes a multi-line key', () => {
    const env = {
      SFTP_HOST: 'h',
      SFTP_USERNAME: 'u',
      SFTP_DIRECTORY: '/d',
      GCS_BUCKET: 'bkt',
      SFTP_PRIVATE_KEY: `-----BEGIN ${FAKE_KEY_KIND}-----\\nAAAA\\n-----END ${FAKE_KEY_KIND}-----\\n`,
    };
    const cfg = loadConfig({ env, cwd: dir });
    assert.equal(cfg.sftp!.private_key, `-----BEGIN ${FAKE_KEY_KIND}-----\nAAAA\n-----END ${FAKE_KEY_KIND}-----\n`);
  });
});

void describe('which source is used', () => {
  const fileRaw = minimalRaw();
  const otherRaw = { ...minimalRaw(), gcs: { bucket: 'from-export-config' } };

  void test('opts.path wins over CONFIG_PATH and EXPORT_CONFIG', () => {
    const a = writeJson(dir, 'a.json', fileRaw);
    const b = writeJson(dir, 'b.json', otherRaw);
    const loaded = loadConfigWithSource({ path: a, env: { CONFIG_PATH: b, EXPORT_CONFIG: JSON.stringify(otherRaw) } });
    assert.equal(loaded.config.gcs.bucket, 'my-bucket');
    assert.deepEqual(loaded.source, { kind: 'file', path: a, via: 'option' });
  });

  void test('CONFIG_PATH is resolved against cwd and wins over EXPORT_CONFIG', () => {
    writeJson(dir, 'sub/c.json', fileRaw);
    const loaded = loadConfigWithSource({ cwd: dir, env: { CONFIG_PATH: 'sub/c.json', EXPORT_CONFIG: JSON.stringify(otherRaw) } });
    assert.equal(loaded.config.gcs.bucket, 'my-bucket');
    assert.deepEqual(loaded.source, { kind: 'file', path: path.join(dir, 'sub/c.json'), via: 'CONFIG_PATH' });
  });

  void test('configs/exports.json in cwd is used when nothing else is set', () => {
    const cwd = path.join(dir, 'with-default');
    writeJson(cwd, 'configs/exports.json', fileRaw);
    const loaded = loadConfigWithSource({ cwd, env: { SFTP_HOST: 'ignored' } });
    assert.equal(loaded.source.kind, 'file');
    assert.equal(loaded.config.sftp!.host, 'sftp.example.com', 'non-secret env vars do not override a file');
  });

  void test('an EXPORT_CONFIG set on purpose wins over a default file that merely exists', () => {
    const cwd = path.join(dir, 'with-default-2');
    writeJson(cwd, 'configs/exports.json', fileRaw);
    const loaded = loadConfigWithSource({ cwd, env: { EXPORT_CONFIG: JSON.stringify(otherRaw) } });
    assert.equal(loaded.source.kind, 'EXPORT_CONFIG');
    assert.equal(loaded.config.gcs.bucket, 'from-export-config');
  });

  void test('the env-var form when there is no file and no EXPORT_CONFIG', () => {
    const loaded = loadConfigWithSource({ env: ENV_FORM, cwd: dir });
    assert.equal(loaded.source.kind, 'env');
    assert.ok(loaded.envVars.includes('SFTP_HOST'));
    assert.match(loaded.description, /^environment variables \(SFTP_HOST, /);
  });

  void test('opts.env given → process.env is never read', () => {
    const saved = { ...process.env };
    Object.assign(process.env, ENV_FORM, { EXPORT_CONFIG: JSON.stringify(minimalRaw()) });
    try {
      const err = configErrorOf(() => loadConfig({ env: {}, cwd: dir }));
      assert.equal(issueMap(err).get('sftp.host'), 'required: set SFTP_HOST');
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
    }
  });
});

void describe('env vars over a file or EXPORT_CONFIG', () => {
  void test('secrets from env override and fill in the file config', () => {
    const raw = minimalRaw();
    const sftp = raw.sftp as Record<string, unknown>;
    delete sftp.password;
    const file = writeJson(dir, 'no-secrets.json', raw);
    const loaded = loadConfigWithSource({
      path: file,
      env: {
        SFTP_PASSWORD: 'from-env',
        SLACK_WEBHOOK_URL: 'https://hooks.slack.example/x',
        TEMPORAL_API_KEY: 'k',
        SFTP_HOST: 'not-used-with-a-file',
      },
    });
    assert.equal(loaded.config.sftp!.password, 'from-env');
    assert.equal(loaded.config.slack.webhook_url, 'https://hooks.slack.example/x');
    assert.equal(loaded.config.temporal.api_key, 'k');
    assert.equal(loaded.config.sftp!.host, 'sftp.example.com');
    assert.deepEqual(loaded.envVars, ['SFTP_PASSWORD', 'SLACK_WEBHOOK_URL', 'TEMPORAL_API_KEY']);
    assert.match(loaded.description, /\(SFTP_PASSWORD, SLACK_WEBHOOK_URL, TEMPORAL_API_KEY from the environment\)$/);

    const overridden = loadConfig({ env: { EXPORT_CONFIG: JSON.stringify(minimalRaw()), SFTP_PASSWORD: 'rotated' }, cwd: dir });
    assert.equal(overridden.sftp!.password, 'rotated', 'env beats the value in the JSON');
  });

  void test('SFTP_PASSPHRASE and SFTP_PRIVATE_KEY fill in key auth', () => {
    const raw = minimalRaw();
    const sftp = raw.sftp as Record<string, unknown>;
    delete sftp.password;
    sftp.private_key_path = '/keys/id';
    const cfg = loadConfig({ env: { EXPORT_CONFIG: JSON.stringify(raw), SFTP_PASSPHRASE: 'pp' }, cwd: dir });
    assert.equal(cfg.sftp!.passphrase, 'pp');
  });

  void test('Temporal connection env vars override the file (deployment settings)', () => {
    const file = writeJson(dir, 'temporal.json', minimalRaw());
    const cfg = loadConfig({ path: file, env: { TEMPORAL_ADDRESS: 'temporal:7233', TEMPORAL_NAMESPACE: 'ns' } });
    assert.equal(cfg.temporal.address, 'temporal:7233');
    assert.equal(cfg.temporal.namespace, 'ns');
  });

  void test('empty env vars count as unset', () => {
    const file = writeJson(dir, 'empty-env.json', minimalRaw());
    const cfg = loadConfig({ env: { CONFIG_PATH: file, EXPORT_CONFIG: '', SFTP_PASSWORD: '', TEMPORAL_ADDRESS: '  ' } });
    assert.equal(cfg.sftp!.password, 'pw-0123456789');
    assert.equal(cfg.temporal.address, '127.0.0.1:7233');

    const viaExport = loadConfigWithSource({ env: { CONFIG_PATH: '', EXPORT_CONFIG: JSON.stringify(minimalRaw()) }, cwd: dir });
    assert.equal(viaExport.source.kind, 'EXPORT_CONFIG');

    const err = configErrorOf(() => loadConfig({ env: { ...ENV_FORM, SFTP_HOST: '', SFTP_PASSWORD: '', SFTP_PORT: '' }, cwd: dir }));
    const issues = issueMap(err);
    assert.equal(issues.get('sftp.host'), 'required: set SFTP_HOST');
    assert.match(issues.get('sftp.password')!, /^set sftp\.password, or/);
    assert.ok(!issues.has('sftp.port'), 'empty SFTP_PORT → default 22');
  });
});

void describe('errors from the loader', () => {
  void test('env-var form: every missing variable named at once', () => {
    const err = configErrorOf(() => loadConfig({ env: {}, cwd: dir }));
    assert.equal(err.type, 'ConfigInvalid');
    assert.deepEqual(
      err.issues.map((i) => i.path),
      ['gcs.bucket', 'sftp.host', 'sftp.username', 'sftp.directory', 'sftp.password'],
    );
    assert.equal(issueMap(err).get('gcs.bucket'), 'required: set GCS_BUCKET');
    assert.match(err.message, /environment variables \(none set; no configs\/exports\.json/);
    assert.match(err.message, /^ {2}- sftp\.username: required: set SFTP_USERNAME$/m);
  });

  void test('a bad value from an env var says which variable it came from', () => {
    const err = configErrorOf(() => loadConfig({ env: { ...ENV_FORM, SFTP_PORT: 'twenty-two' }, cwd: dir }));
    assert.equal(issueMap(err).get('sftp.port'), 'must be a number, got a string (from SFTP_PORT)');
  });

  void test('the message says where the config came from and lists path: message lines', () => {
    const raw = minimalRaw();
    (raw.sftp as Record<string, unknown>).port = 0;
    const file = writeJson(dir, 'bad-port.json', raw);
    const err = configErrorOf(() => loadConfig({ path: file, env: {} }));
    assert.equal(err.source, `file ${file}`);
    assert.ok(err.message.startsWith(`Invalid config from file ${file}: 1 problem\n`));
    assert.match(err.message, /^ {2}- sftp\.port: must be a whole number between 1 and 65535$/m);
    assert.match(err.message, new RegExp(`Fix the fields above in ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  });

  void test('invalid JSON: one issue naming the source and the position, no text of the file', () => {
    const text = '{\n  "sftp": {\n    "password": hunter2-secret\n  }\n}\n';
    const file = writeJson(dir, 'broken.json', text);
    const err = configErrorOf(() => loadConfig({ path: file, env: {} }));
    assert.equal(err.type, 'ConfigInvalid');
    assert.deepEqual(err.issues, [{ path: file, message: 'is not valid JSON: unexpected character at line 3, column 17' }]);
    assert.ok(!err.message.includes('hunter2'));

    const err2 = configErrorOf(() => loadConfig({ env: { EXPORT_CONFIG: '{"sftp": {"password": "x",}}' }, cwd: dir }));
    assert.deepEqual(err2.issues, [{ path: 'EXPORT_CONFIG', message: "is not valid JSON: trailing comma before } at line 1, column 27" }]);
    assert.match(err2.message, /EXPORT_CONFIG environment variable/);

    const err3 = configErrorOf(() => loadConfig({ env: { EXPORT_CONFIG: "{'a': 1}" }, cwd: dir }));
    assert.match(err3.issues[0].message, /single quotes are not JSON/);
    const err4 = configErrorOf(() => loadConfig({ env: { EXPORT_CONFIG: '{"a": [1, 2' }, cwd: dir }));
    assert.match(err4.issues[0].message, /unexpected end of input at line 1, column 12/);
  });

  void test('a file given explicitly that does not exist', () => {
    const missing = path.join(dir, 'nope.json');
    const err = configErrorOf(() => loadConfig({ path: missing, env: {} }));
    assert.equal(err.type, 'ConfigNotFound');
    assert.match(err.message, /from --config\): file not found: .*nope\.json/);
    const err2 = configErrorOf(() => loadConfig({ env: { CONFIG_PATH: missing } }));
    assert.deepEqual(err2.issues, [{ path: 'CONFIG_PATH', message: `file not found: ${missing}` }]);
    const err3 = configErrorOf(() => loadConfig({ path: dir, env: {} }));
    assert.match(err3.message, /is a directory/);
  });

  void test('no secret value is echoed in any message', () => {
    const raw = minimalRaw();
    Object.assign(raw.sftp as object, { password: ['s3cr3t-in-a-list'], passphrase: 424242, port: 's3cr3t-port' });
    raw.slack = { webhook_url: 'not a url s3cr3t-hook' };
    raw.temporal = { api_key: { k: 's3cr3t-api' } };
    raw.http = { auth_token: 12345678 };
    const err = configErrorOf(() => loadConfig({ env: { EXPORT_CONFIG: JSON.stringify(raw) }, cwd: dir }));
    for (const secret of ['s3cr3t', '424242', '12345678', 'pw-0123456789']) {
      assert.ok(!err.message.includes(secret), secret);
      assert.ok(!JSON.stringify(err.issues).includes(secret), secret);
    }
    const issues = issueMap(err);
    assert.equal(issues.get('sftp.password'), 'must be a string, got an array');
    assert.equal(issues.get('temporal.api_key'), 'must be a string, got an object');
  });
});

void describe('resolveSftpPrivateKey', () => {
  const withKey = (sftp: Record<string, unknown>): Config =>
    validateConfig({ ...minimalRaw(), sftp: { host: 'h', username: 'u', directory: '/d', ...sftp } });
  const PEM = `-----BEGIN ${FAKE_KEY_KIND}-----\nAAAA\n-----END ${FAKE_KEY_KIND}-----\n`;

  void test('inline key, key file, password only', () => {
    assert.equal(resolveSftpPrivateKey(withKey({ private_key: PEM }).sftp!), PEM);
    const keyFile = path.join(dir, 'id_test');
    fs.writeFileSync(keyFile, PEM, { mode: 0o600 });
    assert.equal(resolveSftpPrivateKey(withKey({ private_key_path: keyFile }).sftp!), PEM);
    assert.equal(resolveSftpPrivateKey(withKey({ password: 'p' }).sftp!), undefined);
  });

  void test('a missing or wrong key file is a clear error naming the field', () => {
    const missing = path.join(dir, 'no-such-key');
    const err = configErrorOf(() => resolveSftpPrivateKey(withKey({ private_key_path: missing }).sftp!));
    assert.equal(err.type, 'ConfigInvalid');
    assert.deepEqual(err.issues, [{ path: 'sftp.private_key_path', message: `file not found: ${missing}` }]);
    assert.match(err.message, /sftp\.private_key_path: file not found/);

    const notAKey = path.join(dir, 'not-a-key');
    fs.writeFileSync(notAKey, 'hello secret\n');
    const err2 = configErrorOf(() => resolveSftpPrivateKey(withKey({ private_key_path: notAKey }).sftp!));
    assert.match(err2.issues[0].message, /does not hold a private key/);
    assert.ok(!err2.message.includes('hello secret'));
  });
});
