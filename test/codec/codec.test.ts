import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import type { Payload } from '@temporalio/common';
import { defaultPayloadConverter } from '@temporalio/common';
import { configSecrets, isConfigError, loadConfig, redactConfig, type ConfigError } from '../../src/config';
import {
  createCodecServer,
  dataConverterFor,
  EncryptionCodec,
  ENCRYPTED_ENCODING,
  KEY_ID_METADATA,
  PayloadEncryptionError,
  payloadsToJson,
} from '../../src/codec';
import { repoRoot } from '../../src/stack/layout';

const newKey = () => crypto.randomBytes(32).toString('base64');
const K1 = newKey();
const K2 = newKey();
const MARKER = `marker-${crypto.randomBytes(6).toString('hex')}`;

const plain = (value: unknown): Payload => defaultPayloadConverter.toPayload(value);
const meta = (p: Payload, k: string) => (p.metadata?.[k] ? Buffer.from(p.metadata[k]).toString() : undefined);

function encryptionError(fn: () => unknown): PayloadEncryptionError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof PayloadEncryptionError, `expected a PayloadEncryptionError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected an error');
}

void describe('EncryptionCodec', () => {
  void test('round trip: ciphertext only, key id in the metadata, a fresh IV each time, the original payload back', async () => {
    const codec = EncryptionCodec.fromKeyRing(`k1:${K1}`);
    const original = plain({ note: MARKER });
    const [enc] = await codec.encode([original]);
    assert.equal(meta(enc, 'encoding'), ENCRYPTED_ENCODING);
    assert.equal(meta(enc, KEY_ID_METADATA), 'k1');
    assert.deepEqual(Object.keys(enc.metadata!).sort(), ['encoding', KEY_ID_METADATA].sort(), 'the original metadata is inside the ciphertext');
    assert.ok(!Buffer.from(enc.data!).includes(MARKER));
    assert.ok(!Buffer.from(enc.data!).includes('json/plain'));
    const [again] = await codec.encode([original]);
    assert.notDeepEqual(Buffer.from(again.data!), Buffer.from(enc.data!), 'a random IV per payload');

    const [dec] = await codec.decode([enc]);
    assert.equal(meta(dec, 'encoding'), 'json/plain');
    assert.deepEqual(defaultPayloadConverter.fromPayload(dec), { note: MARKER });
    assert.deepEqual(Buffer.from(dec.data!), Buffer.from(original.data!));
  });

  void test('payloads that are not binary/encrypted pass through decode untouched', async () => {
    const codec = EncryptionCodec.fromKeyRing(`k1:${K1}`);
    const p = plain('hello');
    const [out] = await codec.decode([p]);
    assert.equal(out, p);
  });

  void test('rotation: encrypted with k1, decoded by a codec that encrypts with k2 and still holds k1', async () => {
    const old = EncryptionCodec.fromKeyRing(`k1:${K1}`);
    const [byK1] = await old.encode([plain(MARKER)]);

    const rotated = EncryptionCodec.fromKeyRing(`k2:${K2},k1:${K1}`);
    assert.equal(rotated.keyId, 'k2', 'the first key listed encrypts by default');
    assert.equal(defaultPayloadConverter.fromPayload((await rotated.decode([byK1]))[0]), MARKER);
    const [byK2] = await rotated.encode([plain(MARKER)]);
    assert.equal(meta(byK2, KEY_ID_METADATA), 'k2');

    const pinned = EncryptionCodec.fromKeyRing(`k2:${K2},k1:${K1}`, 'k1');
    assert.equal(meta((await pinned.encode([plain(1)]))[0], KEY_ID_METADATA), 'k1');
  });

  void test('an unknown key id is a clear error naming the key id, never the key', async () => {
    const [byK1] = await EncryptionCodec.fromKeyRing(`k1:${K1}`).encode([plain(MARKER)]);
    const onlyK2 = EncryptionCodec.fromKeyRing(`k2:${K2}`);
    const err = encryptionError(() => onlyK2.decrypt(byK1));
    assert.equal(err.code, 'UnknownEncryptionKey');
    assert.equal(err.keyId, 'k1');
    assert.match(err.message, /key "k1"/);
    assert.match(err.message, /BQSFTP_ENCRYPTION_KEYS/);
    for (const k of [K1, K2]) assert.ok(!err.message.includes(k));
  });

  void test('tampered ciphertext, tag or IV, and other key material under the same id, fail authentication', async () => {
    const codec = EncryptionCodec.fromKeyRing(`k1:${K1}`);
    const [enc] = await codec.encode([plain({ note: MARKER })]);
    const data = Buffer.from(enc.data!);
    for (const at of [0, 12, Math.floor(data.length / 2), data.length - 1]) {
      const bad = Buffer.from(data);
      bad[at] ^= 0x01;
      const err = encryptionError(() => codec.decrypt({ ...enc, data: bad }));
      assert.equal(err.code, 'PayloadDecryptionFailed', `byte ${at}`);
      assert.match(err.message, /key "k1"/);
      assert.ok(!err.message.includes(K1));
    }
    const otherMaterial = EncryptionCodec.fromKeyRing(`k1:${K2}`);
    assert.equal(encryptionError(() => otherMaterial.decrypt(enc)).code, 'PayloadDecryptionFailed');
    assert.equal(encryptionError(() => codec.decrypt({ ...enc, data: data.subarray(0, 20) })).code, 'MalformedEncryptedPayload');
    const noId = { metadata: { encoding: Buffer.from(ENCRYPTED_ENCODING) }, data };
    assert.equal(encryptionError(() => codec.decrypt(noId)).code, 'MalformedEncryptedPayload');
  });
});

void describe('encryption config', () => {
  const fileConfig = (encryption?: object) =>
    JSON.stringify({ sftp: { host: 'h', username: 'u', password: 'pw-0123456789', directory: '/x' }, gcs: { bucket: 'bkt' }, ...(encryption ? { encryption } : {}) });
  const load = (env: Record<string, string>) => loadConfig({ env, cwd: '/nonexistent' });
  const issues = (env: Record<string, string>) => {
    try {
      load(env);
    } catch (err) {
      assert.ok(isConfigError(err), String(err));
      return (err as ConfigError).issues;
    }
    return assert.fail('expected a ConfigError');
  };

  void test('off by default: no data converter, behaviour unchanged', () => {
    const cfg = load({ EXPORT_CONFIG: fileConfig() });
    assert.equal(cfg.encryption.keys, undefined);
    assert.equal(dataConverterFor(cfg.encryption), undefined);
  });

  void test('keys from BQSFTP_ENCRYPTION_KEYS over a file, key_id from the file; key material is a secret', () => {
    const cfg = load({ EXPORT_CONFIG: fileConfig({ key_id: 'k1' }), BQSFTP_ENCRYPTION_KEYS: `k2:${K2},k1:${K1}` });
    assert.equal(cfg.encryption.key_id, 'k1');
    const codecs = dataConverterFor(cfg.encryption)?.payloadCodecs;
    assert.equal(codecs?.length, 1);
    assert.equal((codecs![0] as EncryptionCodec).keyId, 'k1');
    const secrets = configSecrets(cfg);
    assert.ok(secrets.includes(K1) && secrets.includes(K2), 'each key counts as a secret on its own');
    const printed = JSON.stringify(redactConfig(cfg));
    for (const s of secrets) assert.ok(!printed.includes(s), 'a secret in the redacted config');
    assert.equal(redactConfig(cfg).encryption.keys, '***');
  });

  void test('the env-var form: BQSFTP_ENCRYPTION_KEYS alone turns it on, the first key encrypts', () => {
    const cfg = load({ SFTP_HOST: 'h', SFTP_USERNAME: 'u', SFTP_PASSWORD: 'p', SFTP_DIRECTORY: '/x', GCS_BUCKET: 'bkt', BQSFTP_ENCRYPTION_KEYS: `k2:${K2},k1:${K1}` });
    assert.equal(cfg.encryption.key_id, 'k2');
  });

  void test('bad keys are reported naming the field and the variable, never echoing key material', () => {
    const short = crypto.randomBytes(16).toString('base64');
    const all = issues({ EXPORT_CONFIG: fileConfig(), BQSFTP_ENCRYPTION_KEYS: `k1:${short},k2:not*base64,${K1},k1:${K2}` });
    const text = JSON.stringify(all);
    assert.ok(all.every((i) => i.path === 'encryption.keys'), text);
    assert.ok(all.every((i) => i.message.includes('(from BQSFTP_ENCRYPTION_KEYS)')), text);
    assert.match(text, /key \\"k1\\" must be 32 bytes for AES-256, got 16/);
    assert.match(text, /key \\"k2\\" is not valid base64/);
    assert.match(text, /entry 3 must be <id>:<base64 of 32 bytes>/);
    assert.match(text, /key \\"k1\\" is listed twice/);
    for (const secret of [short, K1, K2, 'not*base64']) assert.ok(!text.includes(secret), 'no key material in messages');
  });

  void test('key_id must be one of the keys; key_id without keys asks for the variable', () => {
    const wrongId = issues({ EXPORT_CONFIG: fileConfig({ key_id: 'k3' }), BQSFTP_ENCRYPTION_KEYS: `k2:${K2},k1:${K1}` });
    assert.deepEqual(wrongId.map((i) => i.path), ['encryption.key_id']);
    assert.match(wrongId[0].message, /"k3" is not among the encryption keys \(k2, k1\)/);

    const noKeys = issues({ EXPORT_CONFIG: fileConfig({ key_id: 'k1' }) });
    assert.deepEqual(noKeys.map((i) => i.path), ['encryption.keys']);
    assert.match(noKeys[0].message, /set BQSFTP_ENCRYPTION_KEYS=/);

    const typo = issues({ EXPORT_CONFIG: fileConfig({ keyid: 'k1' }) });
    assert.deepEqual(typo.map((i) => i.path), ['encryption.keyid']);
  });
});

void describe('codec server', () => {
  const codec = EncryptionCodec.fromKeyRing(`k2:${K2},k1:${K1}`);
  const UI = 'http://127.0.0.1:8233';

  async function withServer(fn: (base: string) => Promise<void>) {
    const server = createCodecServer({ codec, allowedOrigins: [UI] });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      await fn(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    } finally {
      await new Promise((r) => server.close(r));
    }
  }

  const post = (url: string, body: string, headers: Record<string, string> = {}) =>
    fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

  void test('POST /encode and /decode speak the remote codec JSON; CORS for the UI origin', async () => {
    await withServer(async (base) => {
      const input = JSON.stringify(payloadsToJson([plain({ note: MARKER }), plain(42)]));
      const encRes = await post(`${base}/encode`, input, { origin: UI, 'x-namespace': 'default' });
      assert.equal(encRes.status, 200);
      assert.equal(encRes.headers.get('access-control-allow-origin'), UI);
      assert.equal(encRes.headers.get('access-control-allow-credentials'), 'true');
      const encoded = (await encRes.json()) as { payloads: { metadata: Record<string, string>; data: string }[] };
      assert.equal(encoded.payloads.length, 2);
      for (const p of encoded.payloads) {
        assert.equal(Buffer.from(p.metadata.encoding, 'base64').toString(), ENCRYPTED_ENCODING);
        assert.equal(Buffer.from(p.metadata[KEY_ID_METADATA], 'base64').toString(), 'k2');
        assert.ok(!Buffer.from(p.data, 'base64').includes(MARKER));
      }
      const decRes = await post(`${base}/decode`, JSON.stringify(encoded), { origin: UI });
      assert.equal(decRes.status, 200);
      assert.deepEqual(await decRes.json(), JSON.parse(input));
      const templated = await post(`${base}/default/decode`, JSON.stringify(encoded));
      assert.equal(templated.status, 200, 'also under /<namespace>/');
      assert.deepEqual(await templated.json(), JSON.parse(input));
    });
  });

  void test('preflight, wrong origin, wrong method and bad bodies get clear answers; the server keeps serving', async () => {
    await withServer(async (base) => {
      const pre = await fetch(`${base}/decode`, {
        method: 'OPTIONS',
        headers: { origin: UI, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-namespace' },
      });
      assert.ok(pre.status === 200 || pre.status === 204, String(pre.status));
      assert.equal(pre.headers.get('access-control-allow-origin'), UI);
      assert.match(pre.headers.get('access-control-allow-methods') ?? '', /POST/);
      assert.match(pre.headers.get('access-control-allow-methods') ?? '', /OPTIONS/);
      const allowHeaders = (pre.headers.get('access-control-allow-headers') ?? '').toLowerCase();
      for (const h of ['content-type', 'x-namespace', 'authorization']) assert.ok(allowHeaders.includes(h), h);
      assert.equal(pre.headers.get('access-control-allow-credentials'), 'true');

      const evil = await post(`${base}/decode`, '{"payloads":[]}', { origin: 'http://evil.example' });
      assert.equal(evil.status, 403);
      assert.equal(evil.headers.get('access-control-allow-origin'), null);
      assert.match(((await evil.json()) as { error: string }).error, /--ui-origin http:\/\/evil\.example/);

      const cases: [string, string, RegExp][] = [
        ['/decode', 'not json', /must be JSON/],
        ['/decode', '{"payload":[]}', /"payloads" list/],
        ['/decode', '{"payloads":[1]}', /payloads\[0\] must be an object/],
        ['/decode', '{"payloads":[{"metadata":{"encoding":"%%%"},"data":""}]}', /payloads\[0\]\.metadata\.encoding must be a base64 string/],
        ['/encode', '{"payloads":[{"data":7}]}', /payloads\[0\]\.data must be a base64 string/],
      ];
      for (const [path, body, message] of cases) {
        const res = await post(base + path, body);
        assert.equal(res.status, 400, body);
        assert.match(((await res.json()) as { error: string }).error, message);
      }

      const [unknownKey] = await EncryptionCodec.fromKeyRing(`k9:${newKey()}`).encode([plain(MARKER)]);
      const unk = await post(`${base}/decode`, JSON.stringify(payloadsToJson([unknownKey])));
      assert.equal(unk.status, 400);
      assert.match(((await unk.json()) as { error: string }).error, /key "k9"/);

      assert.equal((await fetch(`${base}/decode`)).status, 405);
      assert.equal((await post(`${base}/nope`, '{}')).status, 404);

      const ok = await post(`${base}/decode`, JSON.stringify(payloadsToJson(await codec.encode([plain(MARKER)]))));
      assert.equal(ok.status, 200, 'still serving after the bad requests');
      const body = (await ok.json()) as { payloads: { data: string }[] };
      assert.equal(JSON.parse(Buffer.from(body.payloads[0].data, 'base64').toString()), MARKER);
    });
  });
});

void describe('bq-sftp codec-server: bad input', () => {
  const run = (env: Record<string, string>, args: string[] = []) =>
    spawnSync(process.execPath, [path.join(repoRoot, 'bin/bq-sftp.js'), 'codec-server', '--port', '0', ...args], {
      encoding: 'utf8',
      timeout: 60_000,
      cwd: '/',
      env: { PATH: process.env.PATH ?? '', EXPORT_CONFIG: JSON.stringify({ sftp: { host: 'h', username: 'u', password: 'pw-0123456789', directory: '/x' }, gcs: { bucket: 'bkt' } }), ...env },
    });

  void test('no keys, bad keys, a bad origin: exit 2 with one clear line, no key material', () => {
    const none = run({});
    assert.equal(none.status, 2, none.stderr);
    assert.match(none.stderr, /encryption is not configured: set BQSFTP_ENCRYPTION_KEYS/);

    const short = crypto.randomBytes(16).toString('base64');
    const bad = run({ BQSFTP_ENCRYPTION_KEYS: `k1:${short}` });
    assert.equal(bad.status, 2, bad.stderr);
    assert.match(bad.stderr, /encryption\.keys: key "k1" must be 32 bytes/);
    assert.ok(!bad.stderr.includes(short));

    const origin = run({ BQSFTP_ENCRYPTION_KEYS: `k1:${K1}` }, ['--ui-origin', 'http://127.0.0.1:8233/some/path']);
    assert.equal(origin.status, 2, origin.stderr);
    assert.match(origin.stderr, /--ui-origin must be an origin like/);
  });
});
