import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { configSecrets, loadConfig, loadConfigWithSource, redactConfig, sftpConnection, sftpConnectionNames, validateConfig } from '../../src/config';
import { sftpEndpointFor } from '../../src/activities/sftp-endpoint';
import { endpointKey } from '../../src/sftp/endpoint';
import { repoRoot } from '../../src/stack/layout';
import { configErrorOf, issueMap, minimalRaw, tempDir, writeJson } from './fixtures';

const dir = tempDir();

/** Today's single-block config plus two partners; the export ships to partner_a. */
function twoPartners(): Record<string, unknown> {
  const raw = minimalRaw();
  raw.connections = {
    sftp: {
      partner_a: { host: 'a.example.com', username: 'ua', password: { env: 'PARTNER_A_SFTP_PASSWORD' }, directory: '/in/a', max_connections: 1 },
      partner_b: { host: 'b.example.com', username: 'ub', private_key_path: '/keys/b', passphrase: { env: 'PARTNER_B_PASSPHRASE' }, directory: '/in/b' },
    },
  };
  (raw.exports as Record<string, Record<string, unknown>>).product_data.sftp = 'partner_a';
  return raw;
}
const partnerEnv = { PARTNER_A_SFTP_PASSWORD: 'pa-secret-42', PARTNER_B_PASSPHRASE: 'pb-phrase-43' };

function load(raw: unknown, env: Record<string, string> = {}) {
  const file = writeJson(dir, `cfg-${Math.random().toString(36).slice(2)}.json`, raw);
  return loadConfigWithSource({ path: file, env, cwd: dir });
}

void describe('named SFTP connections', () => {
  void test("today's single sftp block is the connection 'default' and exports use it unchanged", () => {
    const cfg = validateConfig(minimalRaw());
    assert.deepEqual(sftpConnectionNames(cfg), ['default']);
    assert.equal(cfg.exports.product_data.sftp, 'default');
    assert.equal(cfg.exports.product_data.destination, '/uploads');
    assert.equal(sftpConnection(cfg).host, 'sftp.example.com');
  });

  void test('an export names its connection; its default folder is that connection’s', () => {
    const { config } = load(twoPartners(), partnerEnv);
    assert.equal(config.exports.product_data.sftp, 'partner_a');
    assert.equal(config.exports.product_data.destination, '/in/a');
    assert.equal(sftpConnection(config, 'partner_a').password, 'pa-secret-42');
    assert.equal(sftpConnection(config, 'partner_b').passphrase, 'pb-phrase-43');
  });

  void test('an unknown connection names the path and the known ones', () => {
    const raw = twoPartners();
    (raw.exports as Record<string, Record<string, unknown>>).product_data.sftp = 'partnr_a';
    const err = configErrorOf(() => load(raw, partnerEnv));
    assert.deepEqual([...issueMap(err)], [['exports.product_data.sftp', 'unknown connection "partnr_a"; known: partner_a, partner_b, default']]);
  });

  void test('at run time an unknown name is an UnknownConnection error listing the known ones', () => {
    const cfg = validateConfig(minimalRaw());
    const err = configErrorOf(() => sftpConnection(cfg, 'nope'));
    assert.equal(err.type, 'UnknownConnection');
    assert.match(err.message, /unknown SFTP connection "nope"; known: default/);
  });

  void test('without a default connection, an export must name one', () => {
    const raw = twoPartners();
    delete raw.sftp;
    (raw.exports as Record<string, unknown>).other = { query: 'SELECT 1' };
    const err = configErrorOf(() => load(raw, partnerEnv));
    assert.deepEqual([...issueMap(err).keys()], ['exports.other.sftp']);
    assert.match(issueMap(err).get('exports.other.sftp')!, /no default connection.*known: partner_a, partner_b/);
  });

  void test('the top-level sftp block and connections.sftp.default together are refused', () => {
    const raw = twoPartners();
    (raw.connections as { sftp: Record<string, unknown> }).sftp.default = { host: 'x', username: 'u', password: 'p', directory: '/d' };
    const err = configErrorOf(() => load(raw, partnerEnv));
    assert.deepEqual([...issueMap(err).keys()], ['connections.sftp.default']);
  });

  void test('a password and a key on one connection are refused, naming the connection field', () => {
    const raw = twoPartners();
    (raw.connections as { sftp: Record<string, Record<string, unknown>> }).sftp.partner_b.password = 'also';
    const err = configErrorOf(() => load(raw, partnerEnv));
    assert.deepEqual([...issueMap(err).keys()], ['connections.sftp.partner_b.password']);
    assert.match(issueMap(err).get('connections.sftp.partner_b.password')!, /either a password or a key .*not both/);
  });

  void test('a misspelt key inside a connection is reported at its path with a hint', () => {
    const raw = twoPartners();
    (raw.connections as { sftp: Record<string, Record<string, unknown>> }).sftp.partner_a.max_conections = 2;
    const err = configErrorOf(() => load(raw, partnerEnv));
    assert.match(issueMap(err).get('connections.sftp.partner_a.max_conections') ?? '', /max_connections/);
  });

  void test('each connection has its own pool slot and limit', () => {
    const raw = twoPartners();
    const keyFile = writeJson(dir, 'key-b', `-----BEGIN ${['OPENSSH', 'PRIVATE', 'KEY'].join(' ')}-----\nAAAA\n-----END ${['OPENSSH', 'PRIVATE', 'KEY'].join(' ')}-----\n`);
    (raw.connections as { sftp: Record<string, Record<string, unknown>> }).sftp.partner_b.private_key_path = keyFile;
    const { config } = load(raw, partnerEnv);
    const a = sftpEndpointFor(config, 'partner_a');
    const b = sftpEndpointFor(config, 'partner_b');
    assert.equal(a.maxConnections, 1);
    assert.equal(b.maxConnections, 4);
    const sameServer = { ...a, connection: 'other' };
    assert.notEqual(endpointKey(a), endpointKey(sameServer), 'two names for one server do not share a slot');
  });

  void test("a connection's unreadable key file is reported at that connection's field", () => {
    const { config } = load(twoPartners(), partnerEnv);
    const err = configErrorOf(() => sftpEndpointFor(config, 'partner_b'));
    assert.deepEqual([...issueMap(err)], [['connections.sftp.partner_b.private_key_path', 'file not found: /keys/b']]);
  });
});

void describe('secrets by reference', () => {
  void test('a missing variable names the field and the variable, never a value', () => {
    const err = configErrorOf(() => load(twoPartners(), { PARTNER_B_PASSPHRASE: 'pb-phrase-43' }));
    assert.deepEqual([...issueMap(err)], [
      ['connections.sftp.partner_a.password', 'environment variable PARTNER_A_SFTP_PASSWORD is not set (the config reads this field from it)'],
    ]);
    assert.ok(!err.message.includes('pb-phrase-43'));
  });

  void test('a reference that does not name a variable is refused', () => {
    const raw = twoPartners();
    (raw.connections as { sftp: Record<string, Record<string, unknown>> }).sftp.partner_a.password = { env: 'not a name' };
    const err = configErrorOf(() => load(raw, partnerEnv));
    assert.deepEqual([...issueMap(err).keys()], ['connections.sftp.partner_a.password.env']);
  });

  void test('BQSFTP_REQUIRE_SECRET_REFS=1 refuses a secret written as a plain string, and only that', () => {
    // minimalRaw's top-level sftp.password is plain text; the partners' secrets are references
    const err = configErrorOf(() => load(twoPartners(), { ...partnerEnv, BQSFTP_REQUIRE_SECRET_REFS: '1' }));
    assert.deepEqual([...issueMap(err).keys()], ['sftp.password']);
    assert.match(issueMap(err).get('sftp.password')!, /BQSFTP_REQUIRE_SECRET_REFS=1 requires secrets by reference/);
    // the same secret from the loader's own env variable, or by reference, passes
    const raw = twoPartners();
    delete (raw.sftp as Record<string, unknown>).password;
    assert.ok(load(raw, { ...partnerEnv, SFTP_PASSWORD: 'from-env', BQSFTP_REQUIRE_SECRET_REFS: '1' }).config);
    (raw.sftp as Record<string, unknown>).password = { env: 'DEFAULT_PW' };
    assert.ok(load(raw, { ...partnerEnv, DEFAULT_PW: 'x', BQSFTP_REQUIRE_SECRET_REFS: '1' }).config);
  });

  void test('redaction and the secret list cover every connection', () => {
    const { config, secretRefs } = load(twoPartners(), partnerEnv);
    const printed = JSON.stringify(redactConfig(config));
    for (const s of ['pa-secret-42', 'pb-phrase-43', 'pw-0123456789']) {
      assert.ok(configSecrets(config).includes(s), s);
      assert.ok(!printed.includes(s), `${s} is redacted`);
    }
    assert.deepEqual(secretRefs.get('connections.sftp.partner_a.password'), { env: 'PARTNER_A_SFTP_PASSWORD', set: true });
  });

  void test('`bq-sftp config show` names where each referenced secret comes from, never its value', () => {
    const file = writeJson(dir, 'show.json', twoPartners());
    const run = spawnSync(process.execPath, [path.join(repoRoot, 'bin/bq-sftp.js'), 'config', 'show', '-c', file], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', ...partnerEnv },
    });
    assert.equal(run.status, 0, run.stderr);
    const shown = JSON.parse(run.stdout);
    assert.equal(shown.connections.sftp.partner_a.password, '*** (env PARTNER_A_SFTP_PASSWORD, set)');
    assert.equal(shown.connections.sftp.partner_b.passphrase, '*** (env PARTNER_B_PASSPHRASE, set)');
    assert.equal(shown.connections.sftp.partner_b.host, 'b.example.com');
    assert.ok(!run.stdout.includes('pa-secret-42') && !run.stdout.includes('pb-phrase-43'));
    // and `config check` of the same file without the variables exits 2 naming field and variable
    const check = spawnSync(process.execPath, [path.join(repoRoot, 'bin/bq-sftp.js'), 'config', 'check', '-c', file], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '' },
    });
    assert.equal(check.status, 2);
    assert.match(check.stderr, /connections\.sftp\.partner_a\.password: environment variable PARTNER_A_SFTP_PASSWORD is not set/);
  });

  void test('loadConfig resolves references in EXPORT_CONFIG too', () => {
    const cfg = loadConfig({ env: { EXPORT_CONFIG: JSON.stringify(twoPartners()), ...partnerEnv }, cwd: dir });
    assert.equal(sftpConnection(cfg, 'partner_a').password, 'pa-secret-42');
  });
});

void describe('round trip', () => {
  void test('a resolved config written back out loads again to the same config, env overrides included', () => {
    const { config } = load(twoPartners(), partnerEnv);
    assert.deepEqual(validateConfig(JSON.parse(JSON.stringify(config))), config);
    assert.equal(sftpConnection(validateConfig(JSON.parse(JSON.stringify(config))), 'default').host, 'sftp.example.com');
    // a worker given such a file and SFTP_PASSWORD uses the password from the environment for `default`
    const again = loadConfig({ env: { EXPORT_CONFIG: JSON.stringify(config), SFTP_PASSWORD: 'from-env-99' }, cwd: dir });
    assert.equal(sftpConnection(again, 'default').password, 'from-env-99');
  });
});

void describe('references and odd keys', () => {
  void test('a "__proto__" key survives reference resolution and is refused by name', () => {
    const text = JSON.stringify(minimalRaw()).replace('"gcs":', '"__proto__": {"x": 1}, "gcs":');
    const err = configErrorOf(() => loadConfig({ env: { EXPORT_CONFIG: text }, cwd: dir }));
    assert.ok(issueMap(err).has('__proto__'), [...issueMap(err).keys()].join(', '));
  });
});
