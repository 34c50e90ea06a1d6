import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  compactRunDate,
  configSecrets,
  ConfigError,
  exportNames,
  exportSchedule,
  getExport,
  isConfigError,
  parseRunDate,
  redactConfig,
  validateConfig,
} from '../../src/config';
import { locateJsonError } from '../../src/config/json';
import { configErrorOf, minimalRaw } from './fixtures';

// placeholder key text, assembled so no file in the repo looks like a committed key
const FAKE_KEY_KIND = ['OPENSSH', 'PRIVATE', 'KEY'].join(' ');

function fullConfig() {
  const raw = minimalRaw();
  raw.connections = {
    sftp: {
      keyed: {
        host: 'sftp2.example.com', username: 'k', directory: '/in',
        private_key: `-----BEGIN ${FAKE_KEY_KIND}-----\nKEYDATA\n-----END ${FAKE_KEY_KIND}-----\n`,
        passphrase: 'phrase-xyz',
      },
    },
  };
  raw.slack = { webhook_url: 'https://hooks.slack.example/services/T0/B0/SECRET', channel: '#data' };
  raw.temporal = { api_key: 'api-key-xyz' };
  raw.http = { auth_token: 'token-xyz' };
  (raw.exports as Record<string, unknown>).customer_data = { query: 'SELECT 1', enabled: false, schedule: { cron: '0 7 * * *' } };
  return validateConfig(raw);
}

void describe('redactConfig', () => {
  void test('replaces every secret that is set with ***, keeps everything else, leaves the input alone', () => {
    const cfg = fullConfig();
    const red = redactConfig(cfg);
    assert.equal(red.sftp!.password, '***');
    assert.equal(red.connections.sftp.keyed.private_key, '***');
    assert.equal(red.connections.sftp.keyed.passphrase, '***');
    assert.equal(red.slack.webhook_url, '***');
    assert.equal(red.temporal.api_key, '***');
    assert.equal(red.http.auth_token, '***');
    assert.equal(red.slack.channel, '#data');
    assert.equal(red.sftp!.host, cfg.sftp!.host);
    assert.deepEqual(red.exports, cfg.exports);
    assert.equal(cfg.sftp!.password, 'pw-0123456789', 'the original is untouched');
    const printed = JSON.stringify(red);
    for (const secret of configSecrets(cfg)) assert.ok(!printed.includes(secret), secret);
  });

  void test('secrets that are not set stay absent', () => {
    const red = redactConfig(validateConfig(minimalRaw()));
    assert.equal(red.sftp!.password, '***');
    assert.equal('passphrase' in red.sftp!, false);
    assert.equal('webhook_url' in red.slack, false);
  });

  void test('configSecrets lists the secret values', () => {
    assert.deepEqual(configSecrets(fullConfig()).sort(), [
      `-----BEGIN ${FAKE_KEY_KIND}-----\nKEYDATA\n-----END ${FAKE_KEY_KIND}-----\n`,
      'api-key-xyz',
      'https://hooks.slack.example/services/T0/B0/SECRET',
      'phrase-xyz',
      'pw-0123456789',
      'token-xyz',
    ]);
  });
});

void describe('exports lookup', () => {
  void test('exportNames in config order, optionally enabled only', () => {
    const cfg = fullConfig();
    assert.deepEqual(exportNames(cfg), ['product_data', 'customer_data']);
    assert.deepEqual(exportNames(cfg, { enabledOnly: true }), ['product_data']);
  });

  void test('getExport returns the resolved export', () => {
    const e = getExport(fullConfig(), 'product_data');
    assert.equal(e.file_prefix, 'product_data');
    assert.equal(e.destination, '/uploads');
  });

  void test('an unknown export is a ConfigError of type UnknownExport listing the known names', () => {
    const err = configErrorOf(() => getExport(fullConfig(), 'prodcut_data'));
    assert.equal(err.type, 'UnknownExport');
    assert.ok(isConfigError(err));
    assert.equal(err.retryable, false, 'permanent: activities make it nonRetryable');
    assert.equal(err.message, 'unknown export "prodcut_data": known exports are product_data, customer_data');
    const none = validateConfig({ ...minimalRaw(), exports: {} });
    assert.match(configErrorOf(() => getExport(none, 'x')).message, /defines no exports/);
    assert.equal(configErrorOf(() => getExport(none, 'constructor')).type, 'UnknownExport', 'no prototype keys');
  });

  void test('exportSchedule: the export overrides the top-level schedule', () => {
    const cfg = fullConfig();
    assert.deepEqual(exportSchedule(cfg, 'customer_data'), { cron: '0 7 * * *', timezone: 'UTC', paused: false });
    assert.deepEqual(exportSchedule(cfg, 'product_data'), { cron: '0 6 * * *', timezone: 'UTC', paused: false });
  });
});

void describe('parseRunDate', () => {
  const valid = ['2025-01-08', '2024-02-29', '2000-02-29', '1999-12-31', '2025-12-31', '0001-01-01'];
  const invalid = [
    '2025-02-30',
    '2025-02-29',
    '1900-02-29',
    '2025-04-31',
    '2025-13-01',
    '2025-00-10',
    '2025-01-00',
    '2025-2-3',
    '25-01-08',
    '20250108',
    '2025/01/08',
    '2025-01-08 ',
    ' 2025-01-08',
    '2025-01-08T00:00:00Z',
    "2025-01-08'; DROP TABLE x; --",
    '2025-01-08\n',
    '０２０２５-01-08',
    '',
  ];

  for (const s of valid) {
    void test(`accepts ${JSON.stringify(s)}`, () => assert.equal(parseRunDate(s), s));
  }
  for (const s of invalid) {
    void test(`rejects ${JSON.stringify(s)}`, () => {
      const err = configErrorOf(() => parseRunDate(s));
      assert.equal(err.type, 'InvalidDate');
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /expected a calendar date as YYYY-MM-DD, e\.g\. 2025-01-08/);
    });
  }

  void test('a non-string is rejected too', () => {
    assert.equal(configErrorOf(() => parseRunDate(20250108 as unknown as string)).type, 'InvalidDate');
  });

  void test('compactRunDate', () => {
    assert.equal(compactRunDate('2025-01-08'), '20250108');
    assert.throws(() => compactRunDate('2025-1-8'), /YYYY-MM-DD/);
  });
});

void describe('JSON error location', () => {
  const cases: [string, number, RegExp][] = [
    ['{"a": secret}', 6, /unexpected character/],
    ['{"a":1,}', 7, /trailing comma/],
    ['[1,]', 3, /trailing comma/],
    ['{"a": "x"', 9, /unexpected end of input/],
    ['{"a": 1}}', 8, /after the end/],
    ['{"a": tru}', 9, /invalid literal/],
    ['{"a": -}', 6, /invalid number/],
    ['{"a": "x\\q"}', 9, /bad escape/],
    ['{"a" 1}', 5, /expected ':'/],
    ['{"a": 1 "b": 2}', 8, /expected ',' or '}'/],
    ['{"a": "line\nbreak"}', 11, /control character/],
  ];
  for (const [text, pos, reason] of cases) {
    void test(JSON.stringify(text), () => {
      assert.throws(() => JSON.parse(text));
      const got = locateJsonError(text);
      assert.equal(got.pos, pos);
      assert.match(got.reason, reason);
    });
  }
});
