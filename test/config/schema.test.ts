import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { configSchema, validateConfig, SECRET_FIELDS } from '../../src/config';
import { readStackInfo } from '../../src/stack/stack-info';
import { demoConfig } from '../../src/stack/demo-config';
import type { StackInfo } from '../../src/stack/stack-info';
import { configErrorOf, issueMap, minimalRaw } from './fixtures';

// placeholder key text, assembled so no file in the repo looks like a committed key
const FAKE_KEY_KIND = ['OPENSSH', 'PRIVATE', 'KEY'].join(' ');

const v = (raw: unknown) => validateConfig(raw);
const issuesOf = (raw: unknown) => issueMap(configErrorOf(() => v(raw)));

void describe('config schema: defaults and resolution', () => {
  void test('the seed example validates and gets every default', () => {
    const cfg = v(minimalRaw());
    assert.deepEqual(cfg.temporal, {
      address: '127.0.0.1:7233',
      namespace: 'default',
      task_queue: 'bq-sftp',
      ui_url: 'http://127.0.0.1:8233',
    });
    assert.equal(cfg.bigquery.location, 'US');
    assert.equal(cfg.gcs.expiration_days, 30);
    assert.equal(cfg.sftp!.port, 22);
    assert.equal(cfg.sftp!.insecure_skip_host_key_check, false);
    assert.equal(cfg.sftp!.keepalive_interval_ms, 10000);
    assert.equal(cfg.sftp!.ready_timeout_ms, 20000);
    assert.equal(cfg.sftp!.max_connections, 4);
    assert.equal(cfg.sftp!.temp_suffix, '.partial');
    assert.equal(cfg.sftp!.publish_mode, 'rename');
    assert.deepEqual(cfg.slack, {});
    assert.deepEqual(cfg.transfer, { concurrency: 4, requests_in_flight: 64, heartbeat_every_ms: 5000, stall_timeout_ms: 30_000 });
    assert.deepEqual(cfg.http, { port: 8080, host: '127.0.0.1' });
    assert.deepEqual(cfg.schedule, {
      cron: '0 6 * * *',
      timezone: 'UTC',
      date_offset_days: 1,
      overlap: 'skip',
      catchup_window: '1d',
      paused: false,
      max_parallel: 4,
    });
    const e = cfg.exports.product_data;
    assert.equal(e.format, 'CSV');
    assert.equal(e.compression, 'NONE');
    assert.equal(e.header, true);
    assert.equal(e.field_delimiter, ',');
    assert.equal(e.checksums, false);
    assert.equal(e.manifest, false);
    assert.equal(e.done_file, false);
    assert.equal(e.enabled, true);
  });

  void test('destination defaults to sftp.directory and file_prefix to the export name', () => {
    const raw = minimalRaw();
    (raw.exports as Record<string, unknown>).other = {
      query: 'SELECT 1',
      destination: '/uploads//other/',
      file_prefix: 'Other',
    };
    const cfg = v(raw);
    assert.equal(cfg.exports.product_data.destination, '/uploads');
    assert.equal(cfg.exports.product_data.file_prefix, 'product_data');
    assert.equal(cfg.exports.other.destination, '/uploads/other', 'normalised');
    assert.equal(cfg.exports.other.file_prefix, 'Other');
  });

  void test('exports may be empty or left out', () => {
    const raw = minimalRaw();
    raw.exports = {};
    assert.deepEqual(v(raw).exports, {});
    delete raw.exports;
    assert.deepEqual(v(raw).exports, {});
  });

  void test('format and compression accept lower case and are normalised', () => {
    const raw = minimalRaw();
    (raw.exports as Record<string, Record<string, unknown>>).product_data.format = 'parquet';
    (raw.exports as Record<string, Record<string, unknown>>).product_data.compression = 'snappy';
    const e = v(raw).exports.product_data;
    assert.equal(e.format, 'PARQUET');
    assert.equal(e.compression, 'SNAPPY');
  });

  void test('every allowed format/compression pair validates', () => {
    const pairs: [string, string[]][] = [
      ['CSV', ['NONE', 'GZIP']],
      ['JSON', ['NONE', 'GZIP']],
      ['AVRO', ['NONE', 'SNAPPY', 'DEFLATE']],
      ['PARQUET', ['NONE', 'SNAPPY', 'GZIP', 'ZSTD']],
    ];
    for (const [format, compressions] of pairs) {
      for (const compression of compressions) {
        const raw = minimalRaw();
        raw.exports = { e: { query: 'SELECT 1', format, compression } };
        assert.equal(v(raw).exports.e.compression, compression, `${format}/${compression}`);
      }
    }
  });

  void test('key auth: private_key_path alone, or private_key + passphrase, is enough', () => {
    const raw = minimalRaw();
    const sftp = raw.sftp as Record<string, unknown>;
    delete sftp.password;
    sftp.private_key_path = '/keys/id_ed25519';
    assert.equal(v(raw).sftp!.private_key_path, '/keys/id_ed25519');
    delete sftp.private_key_path;
    sftp.private_key = `-----BEGIN ${FAKE_KEY_KIND}-----\nabc\n-----END ${FAKE_KEY_KIND}-----\n`;
    sftp.passphrase = 'secret';
    assert.equal(v(raw).sftp!.passphrase, 'secret');
  });

  void test('host_key accepts a SHA256 fingerprint and a known_hosts line', () => {
    for (const hostKey of [
      'SHA256:0npeBQ7Zg7DJBtnkufLt5zh6raB4zsLsBwwHIb2vM4k',
      '[127.0.0.1]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ4MDTyx6ZETIiY9+rD5Mo+Nb65q+CjH9YRCi+7q9uGR',
      'sftp.example.com,10.0.0.1 ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTY= comment',
      'ssh-rsa AAAAB3NzaC1yc2E=',
    ]) {
      const raw = minimalRaw();
      (raw.sftp as Record<string, unknown>).host_key = hostKey;
      assert.equal(v(raw).sftp!.host_key, hostKey);
    }
    const raw = minimalRaw();
    (raw.sftp as Record<string, unknown>).host_key = 'MD5:aa:bb';
    assert.match(issuesOf(raw).get('sftp.host_key')!, /SHA256 fingerprint .* known_hosts line/);
  });

  void test('configSchema.parse gives the same Config as validateConfig', () => {
    assert.deepEqual(configSchema.parse(minimalRaw()), v(minimalRaw()));
  });

  void test('SECRET_FIELDS names real fields of the schema', () => {
    const cfg = v(minimalRaw()) as unknown as Record<string, Record<string, unknown>>;
    for (const [block] of SECRET_FIELDS) assert.ok(block in cfg, block);
  });
});

void describe('config schema: every problem at once, naming the field', () => {
  void test('missing required fields and absent password/key are all reported together', () => {
    const err = configErrorOf(() => v({ sftp: { port: 22 }, gcs: {}, exports: { a: {} } }));
    assert.equal(err.type, 'ConfigInvalid');
    const issues = issueMap(err);
    assert.equal(issues.get('sftp.host'), 'required');
    assert.equal(issues.get('sftp.username'), 'required');
    assert.equal(issues.get('sftp.directory'), 'required');
    assert.equal(issues.get('gcs.bucket'), 'required');
    assert.equal(issues.get('exports.a.query'), 'required');
    assert.equal(
      issues.get('sftp.password'),
      'set sftp.password, or sftp.private_key / sftp.private_key_path (with sftp.passphrase if the key is encrypted)',
    );
    assert.equal(err.issues.filter((i) => i.path.startsWith('sftp.pass')).length, 1, 'ONE auth issue');
    for (const p of ['sftp.host', 'sftp.username', 'sftp.directory', 'gcs.bucket', 'exports.a.query', 'sftp.password']) {
      assert.match(err.message, new RegExp(`^  - ${p.replace('.', '\\.')}: `, 'm'));
    }
  });

  void test('missing or wrong-typed blocks are named', () => {
    const issues = issuesOf({});
    assert.equal(issues.get('sftp'), 'required');
    assert.equal(issues.get('gcs'), 'required');
    const wrong = issuesOf({ sftp: 'sftp://u:secret@h', gcs: [], exports: { a: 'SELECT 1' }, temporal: null });
    assert.equal(wrong.get('sftp'), 'must be an object, got a string');
    assert.equal(wrong.get('gcs'), 'must be an object, got an array');
    assert.equal(wrong.get('exports.a'), 'must be an object, got a string');
    assert.equal(wrong.get('temporal'), 'must be an object, got null');
  });

  void test('a config that is not an object', () => {
    const err = configErrorOf(() => v([1, 2]));
    assert.deepEqual(err.issues, [{ path: '', message: 'must be an object, got an array' }]);
    assert.match(err.message, /\(root\): must be an object/);
  });

  void test('wrong types name the field and the expected type, never the value', () => {
    const raw = minimalRaw();
    Object.assign(raw.sftp as object, { port: '22x', password: 987654321, insecure_skip_host_key_check: 'yes', ciphers: 'aes' });
    Object.assign(raw.gcs as object, { expiration_days: 1.5 });
    (raw.exports as Record<string, Record<string, unknown>>).product_data.header = 'true';
    const err = configErrorOf(() => v(raw));
    const issues = issueMap(err);
    assert.equal(issues.get('sftp.port'), 'must be a number, got a string');
    assert.equal(issues.get('sftp.password'), 'must be a string, got a number');
    assert.equal(issues.get('sftp.insecure_skip_host_key_check'), 'must be true or false, got a string');
    assert.equal(issues.get('sftp.ciphers'), 'must be a list, got a string');
    assert.match(issues.get('gcs.expiration_days')!, /whole number between 1 and 3650/);
    assert.equal(issues.get('exports.product_data.header'), 'must be true or false, got a string');
    assert.ok(!err.message.includes('987654321'), 'the wrong-typed password is not echoed');
    assert.ok(!err.message.includes('pw-0123456789'));
  });

  void test('out-of-range numbers', () => {
    const raw = minimalRaw();
    Object.assign(raw.sftp as object, { port: 70000, max_connections: 0 });
    raw.transfer = { concurrency: 100 };
    const issues = issuesOf(raw);
    assert.match(issues.get('sftp.port')!, /between 1 and 65535/);
    assert.match(issues.get('sftp.max_connections')!, /between 1 and 64/);
    assert.match(issues.get('transfer.concurrency')!, /between 1 and 64/);
  });

  void test('unknown keys are named, at the top level and inside blocks, with a hint for typos', () => {
    const raw = minimalRaw();
    raw.sftpp = {};
    (raw.sftp as Record<string, unknown>).pasword = 'x';
    (raw.gcs as Record<string, unknown>).expiration = 3;
    (raw.exports as Record<string, Record<string, unknown>>).product_data.fromat = 'CSV';
    (raw.exports as Record<string, Record<string, unknown>>).product_data.schedule = { crons: '* * * * *' };
    raw.temporal = { tls: { cert: 'x', cert_path: 'c', key_path: 'k' } };
    raw.slack = { webhook: 'x' };
    const issues = issuesOf(raw);
    assert.equal(issues.get('sftpp'), 'unknown key (did you mean "sftp"?)');
    assert.equal(issues.get('sftp.pasword'), 'unknown key (did you mean "password"?)');
    assert.match(issues.get('gcs.expiration')!, /^unknown key/);
    assert.equal(issues.get('exports.product_data.fromat'), 'unknown key (did you mean "format"?)');
    assert.equal(issues.get('exports.product_data.schedule.crons'), 'unknown key (did you mean "cron"?)');
    assert.match(issues.get('temporal.tls.cert')!, /^unknown key/);
    assert.match(issues.get('slack.webhook')!, /^unknown key/);
  });

  void test('an unknown key far from any known one lists the allowed keys', () => {
    const raw = minimalRaw();
    (raw.gcs as Record<string, unknown>).zzzzzzzz = 1;
    assert.equal(issuesOf(raw).get('gcs.zzzzzzzz'), 'unknown key: allowed keys are bucket, expiration_days, project_id, api_endpoint');
  });

  void test('bad export names are reported at exports.<name>', () => {
    const raw = minimalRaw();
    raw.exports = { 'bad name': { query: 'SELECT 1' }, '_x': { query: 'SELECT 1' }, ['a'.repeat(65)]: { query: 'SELECT 1' }, ok: { query: 'SELECT 1' } };
    const issues = issuesOf(raw);
    for (const name of ['bad name', '_x', 'a'.repeat(65)]) {
      assert.match(issues.get(`exports.${name}`)!, /is not a valid export name/);
    }
    assert.ok(!issues.has('exports.ok'));
  });

  void test('compression that the format does not support → exports.<name>.compression', () => {
    const cases: [string, string, string][] = [
      ['CSV', 'SNAPPY', 'NONE, GZIP'],
      ['json', 'zstd', 'NONE, GZIP'],
      ['AVRO', 'GZIP', 'NONE, SNAPPY, DEFLATE'],
      ['PARQUET', 'DEFLATE', 'NONE, SNAPPY, GZIP, ZSTD'],
    ];
    for (const [format, compression, allowed] of cases) {
      const raw = minimalRaw();
      raw.exports = { e: { query: 'SELECT 1', format, compression } };
      const issues = issuesOf(raw);
      assert.equal(
        issues.get('exports.e.compression'),
        `${compression.toUpperCase()} is not available for ${format.toUpperCase()} exports: use ${allowed}`,
      );
    }
  });

  void test('the compression check runs even when another field of the export is wrong', () => {
    const raw = minimalRaw();
    raw.exports = { e: { query: '', format: 'CSV', compression: 'ZSTD' } };
    const issues = issuesOf(raw);
    assert.equal(issues.get('exports.e.query'), 'must not be empty');
    assert.match(issues.get('exports.e.compression')!, /ZSTD is not available for CSV/);
  });

  void test('unknown format and compression list the choices', () => {
    const raw = minimalRaw();
    raw.exports = { e: { query: 'SELECT 1', format: 'xml', compression: 'lz4' } };
    const issues = issuesOf(raw);
    assert.equal(issues.get('exports.e.format'), 'must be one of CSV, JSON, AVRO, PARQUET');
    assert.equal(issues.get('exports.e.compression'), 'must be one of NONE, GZIP, SNAPPY, DEFLATE, ZSTD');
  });

  void test('passphrase without a key, and both key forms at once', () => {
    const raw = minimalRaw();
    (raw.sftp as Record<string, unknown>).passphrase = 'p';
    assert.match(issuesOf(raw).get('sftp.passphrase')!, /no key is/);
    Object.assign(raw.sftp as object, { private_key: `-----BEGIN RSA ${'PRIVATE'} KEY-----\nx`, private_key_path: '/k' });
    assert.match(issuesOf(raw).get('sftp.private_key_path')!, /not both/);
  });

  void test('private_key must look like a key, and is never echoed', () => {
    const raw = minimalRaw();
    (raw.sftp as Record<string, unknown>).private_key = 'not-a-key-0xSECRET';
    const err = configErrorOf(() => v(raw));
    assert.match(issueMap(err).get('sftp.private_key')!, /BEGIN \.\.\. PRIVATE KEY/);
    assert.ok(!err.message.includes('0xSECRET'));
  });

  void test('paths, file names and names that would be unsafe', () => {
    const raw = minimalRaw();
    Object.assign(raw.sftp as object, { directory: 'uploads', temp_suffix: 'x/y' });
    raw.exports = {
      a: { query: 'SELECT 1', destination: '/up/../etc', file_prefix: 'a b', file_name_template: '{prefix}_{dte}.{ext}' },
      b: { query: 'SELECT 1', file_name_template: '../{prefix}-{index}.{ext}' },
      c: { query: '   ', field_delimiter: ';;' },
    };
    const issues = issuesOf(raw);
    assert.match(issues.get('sftp.directory')!, /absolute path/);
    assert.match(issues.get('sftp.temp_suffix')!, /must not contain '\/'/);
    assert.match(issues.get('exports.a.destination')!, /'\.\.'/);
    assert.match(issues.get('exports.a.file_prefix')!, /letters, digits/);
    // never implemented, so refused whatever it holds (issue 19 item 7)
    assert.match(issues.get('exports.a.file_name_template')!, /is not supported .*set file_prefix/);
    assert.match(issues.get('exports.b.file_name_template')!, /is not supported/);
    assert.equal(issues.get('exports.c.query'), 'must not be empty');
    assert.match(issues.get('exports.c.field_delimiter')!, /one character/);
  });

  void test('GCS bucket naming rules', () => {
    const good = ['my-bucket', 'abc', 'a_b.c-d', 'exports.example.com'];
    const bad = ['ab', 'My-Bucket', '-abc', 'abc-', 'a..b', '192.168.1.1', 'goog-exports', 'my-google-bucket', 'a'.repeat(64), 'gs://x'];
    for (const bucket of good) {
      const raw = minimalRaw();
      (raw.gcs as Record<string, unknown>).bucket = bucket;
      assert.equal(v(raw).gcs.bucket, bucket);
    }
    for (const bucket of bad) {
      const raw = minimalRaw();
      (raw.gcs as Record<string, unknown>).bucket = bucket;
      assert.ok(issuesOf(raw).has('gcs.bucket'), bucket);
    }
  });

  void test('URLs, cron, time zone, duration, temporal address', () => {
    const raw = minimalRaw();
    raw.slack = { webhook_url: 'ftp://hooks.example.com/x' };
    raw.gcs = { bucket: 'my-bucket', api_endpoint: 'localhost:4443' };
    raw.temporal = { address: 'http://localhost:7233' };
    raw.schedule = { cron: 'every day', timezone: 'Mars/Olympus', catchup_window: 'a while', overlap: 'never' };
    const issues = issuesOf(raw);
    assert.match(issues.get('slack.webhook_url')!, /http:\/\/ or https:\/\/ URL/);
    assert.match(issues.get('gcs.api_endpoint')!, /URL/);
    assert.match(issues.get('temporal.address')!, /host:port/);
    assert.match(issues.get('schedule.cron')!, /cron expression/);
    assert.match(issues.get('schedule.timezone')!, /IANA time zone/);
    assert.match(issues.get('schedule.catchup_window')!, /duration/);
    assert.equal(issues.get('schedule.overlap'), 'must be one of skip, buffer_one, allow_all, cancel_other, terminate_other');
    assert.ok(!configErrorOf(() => v(raw)).message.includes('hooks.example.com'), 'the webhook URL is a secret');
  });

  void test('per-export schedule overrides validate', () => {
    const raw = minimalRaw();
    raw.schedule = { cron: '@daily', timezone: 'Europe/Berlin', overlap: 'buffer_one' };
    (raw.exports as Record<string, Record<string, unknown>>).product_data.schedule = { cron: '30 7 * * 1-5', paused: true };
    const cfg = v(raw);
    assert.equal(cfg.schedule.timezone, 'Europe/Berlin');
    assert.deepEqual(cfg.exports.product_data.schedule, { cron: '30 7 * * 1-5', paused: true });
  });
});

void describe('the demo config validates', () => {
  const fakeStack: StackInfo = {
    temporal: { address: '127.0.0.1:7233', namespace: 'default', uiUrl: 'http://127.0.0.1:8233' },
    gcs: { endpoint: 'http://127.0.0.1:4443', projectId: 'bq-sftp-demo', bucket: 'bq-sftp-exports' },
    bigquery: { endpoint: 'http://127.0.0.1:9050', projectId: 'bq-sftp-demo', dataset: 'demo' },
    sftp: {
      host: '127.0.0.1',
      port: 2222,
      hostKeyFingerprint: 'SHA256:0npeBQ7Zg7DJBtnkufLt5zh6raB4zsLsBwwHIb2vM4k',
      knownHostsLine: '[127.0.0.1]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ4MDTyx6ZETIiY9+rD5Mo+Nb65q+CjH9YRCi+7q9uGR',
      passwordUser: { username: 'bqsftp_pw', password: 'pw', directory: '/upload', localRoot: '/tmp/pw' },
      keyUser: { username: 'bqsftp_key', privateKeyPath: '/tmp/key', passphrase: 'pp', directory: '/upload', localRoot: '/tmp/k' },
    },
    postgres: { host: '127.0.0.1', port: 5433, user: 'bqsftp', database: 'bqsftp', socketDir: '/tmp' },
    demoConfigPath: '/tmp/demo-config.json',
  };

  void test('demoConfig(info) validates', () => {
    const cfg = v(demoConfig(fakeStack));
    assert.deepEqual(Object.keys(cfg.exports).sort(), ['customer_data', 'product_data']);
    assert.equal(cfg.exports.product_data.compression, 'GZIP');
    assert.equal(cfg.exports.product_data.file_prefix, 'Product');
    assert.equal(cfg.exports.product_data.destination, '/upload');
  });

  void test("the running stack's generated demo config validates", () => {
    const file = readStackInfo().demoConfigPath;
    const cfg = v(JSON.parse(fs.readFileSync(file, 'utf8')));
    assert.ok(Object.keys(cfg.exports).length > 0);
  });
});
