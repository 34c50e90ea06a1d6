import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { temporal } from '@temporalio/proto';
import { ENCRYPTED_ENCODING, KEY_ID_METADATA } from '../../src/codec';
import { repoRoot, stackLayout } from '../../src/stack/layout';
import { connectClient } from '../../src/temporal/connection';
import type { TransferSummary } from '../../src/activities';
import { testConfig } from '../helpers/config';
import { exportName, listLocal, storage, withWorker } from '../helpers/export';
import { stack, uniqueId } from '../helpers/stack';

const info = stack();
const bin = path.join(repoRoot, 'bin/bq-sftp.js');
const temporalCli = path.join(stackLayout().toolsBin, 'temporal');

/**
 * Every place `marker` shows up in a JSON-like value: in a string, in the base64 decoding of a
 * string (payload data in proto JSON), or in bytes (payload data in a decoded proto).
 */
function findMarker(value: unknown, marker: string, at = '$'): string[] {
  if (typeof value === 'string') {
    if (value.includes(marker)) return [at];
    return Buffer.from(value, 'base64').includes(marker) ? [`${at} (base64)`] : [];
  }
  if (value instanceof Uint8Array) return Buffer.from(value).includes(marker) ? [`${at} (bytes)`] : [];
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) => findMarker(v, marker, `${at}.${k}`));
}

interface JsonPayload {
  metadata: Record<string, string>;
  data: string;
}

/** The payloads of the events that carry workflow and activity inputs and results. */
function historyPayloads(events: Record<string, unknown>[]): JsonPayload[] {
  const picks: [string, string][] = [
    ['workflowExecutionStartedEventAttributes', 'input'],
    ['activityTaskScheduledEventAttributes', 'input'],
    ['activityTaskCompletedEventAttributes', 'result'],
    ['workflowExecutionCompletedEventAttributes', 'result'],
  ];
  return events.flatMap((e) =>
    picks.flatMap(([attrs, field]) => ((e[attrs] as Record<string, { payloads?: JsonPayload[] }> | undefined)?.[field]?.payloads ?? [])),
  );
}

const b64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');

function startCodecServer(cfgPath: string, keys: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [bin, 'codec-server', '--port', '0', '-c', cfgPath], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, BQSFTP_ENCRYPTION_KEYS: keys },
  });
  let out = '';
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /codec server on (http:\/\/\S+)/.exec(out);
      if (m) resolve({ child, url: m[1] });
    });
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => reject(new Error(`codec-server exited with ${code}: ${out}`)));
  });
}

test('with encryption on, history holds no plaintext of a marker; the codec server and a client with the codec read it', async () => {
  const marker = `plainmark${crypto.randomBytes(6).toString('hex')}`;
  const name = `${exportName('enc')}_${marker}`;
  const keys = `k2:${crypto.randomBytes(32).toString('base64')},k1:${crypto.randomBytes(32).toString('base64')}`;
  const config = testConfig({
    encryption: { key_id: 'k2', keys },
    exports: { [name]: { query: 'SELECT 1', file_prefix: 'E' } },
  });
  const prefix = `${name}/${marker}/`;
  const files = [`E_${marker}_0.csv`, `E_${marker}_1.csv`];
  const bucket = storage().bucket(info.gcs.bucket);
  for (const f of files) await bucket.file(prefix + f).save(Buffer.from(`id,note\n1,${marker}\n`), { resumable: false });

  // the marker is in the input (export name, GCS path) and in the activity's and workflow's result (file names); never in the ID
  const workflowId = uniqueId('codec-history');
  const input = { exportName: name, date: '2025-01-08', gcsPath: `gs://${info.gcs.bucket}/${prefix}` };
  const result = await withWorker(config, async (client) => {
    // (c) a client with the codec reads the result normally
    const handle = await client.workflow.start('TransferWorkflow', { taskQueue: config.temporal.task_queue, workflowId, args: [input] });
    return (await handle.result()) as TransferSummary;
  });
  assert.deepEqual(result.files, files);
  assert.equal(result.export_name, name);
  assert.deepEqual(listLocal(config.sftp!.directory), files);

  // the leak detector itself finds a plain payload's marker, so a pass below means something
  const plainProbe = { data: Buffer.from(JSON.stringify({ padding: 'xy', exportName: name })).toString('base64') };
  assert.ok(findMarker(plainProbe, marker).length > 0, 'findMarker must see through base64');

  // (a) raw history through a client WITHOUT the codec
  const raw = await connectClient({ address: config.temporal.address, namespace: config.temporal.namespace });
  try {
    const handle = raw.workflow.getHandle(workflowId);
    const history = await handle.fetchHistory();
    assert.deepEqual(findMarker(history, marker), [], 'no plaintext marker in the raw history');
    for (const key of keys.split(',').map((k) => k.split(':')[1])) {
      assert.deepEqual(findMarker(history, key), [], 'no key material in the history');
    }
    const asJson = temporal.api.history.v1.History.toObject(temporal.api.history.v1.History.fromObject(history), { bytes: String, longs: String, enums: String });
    const payloads = historyPayloads(asJson.events as Record<string, unknown>[]);
    assert.ok(payloads.length >= 4, `workflow input, activity input, activity result, workflow result: got ${payloads.length}`);
    for (const p of payloads) {
      assert.equal(b64(p.metadata.encoding), ENCRYPTED_ENCODING);
      assert.equal(b64(p.metadata[KEY_ID_METADATA]), 'k2');
    }
    await assert.rejects(handle.result(), /binary\/encrypted/, 'without the codec the result cannot be read');
  } finally {
    await raw.connection.close();
  }

  // (a) the same through the temporal CLI
  const show = (extra: string[]) => {
    const r = spawnSync(temporalCli, ['workflow', 'show', '--workflow-id', workflowId, '--address', config.temporal.address, '--output', 'json', ...extra], {
      encoding: 'utf8',
      timeout: 180_000, // generous: on a busy 2-core machine the CLI can take a minute
    });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  };
  const cliText = show([]);
  const cliHistory = JSON.parse(cliText) as { events: Record<string, unknown>[] };
  assert.ok(!cliText.includes(marker));
  assert.deepEqual(findMarker(cliHistory, marker), [], 'no marker in `temporal workflow show`, also not base64-encoded');
  const cliPayloads = historyPayloads(cliHistory.events);
  assert.ok(cliPayloads.length >= 4);

  // (b) the history's payloads through `bq-sftp codec-server` over HTTP (keys from the env, not the file)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bqsftp-codec-'));
  const cfgPath = path.join(dir, 'config.json');
  fs.writeFileSync(cfgPath, JSON.stringify({ ...config, encryption: { key_id: 'k2' } }));
  const { child, url } = await startCodecServer(cfgPath, keys);
  // the default allowed origins come from temporal.ui_url (the stack's UI port may be moved)
  const uiOrigin = new URL(config.temporal.ui_url ?? 'http://127.0.0.1:8233').origin;
  const uiAsLocalhost = uiOrigin.replace('127.0.0.1', 'localhost');
  try {
    const res = await fetch(`${url}/decode`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-namespace': config.temporal.namespace, origin: uiOrigin },
      body: JSON.stringify({ payloads: cliPayloads }),
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), uiOrigin);
    const decoded = ((await res.json()) as { payloads: JsonPayload[] }).payloads;
    assert.equal(decoded.length, cliPayloads.length);
    for (const p of decoded) assert.equal(b64(p.metadata.encoding), 'json/plain');
    const values = decoded.map((p) => JSON.parse(b64(p.data)) as Record<string, unknown>);
    assert.deepEqual(values[0], input, 'the workflow input, decoded');
    assert.ok(values.some((v) => JSON.stringify(v.files) === JSON.stringify(files)), 'the result, decoded');

    const preflight = await fetch(`${url}/decode`, {
      method: 'OPTIONS',
      headers: { origin: uiAsLocalhost, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-namespace' },
    });
    assert.ok(preflight.ok, 'the UI opened as localhost is allowed too (default origins come from temporal.ui_url)');
    assert.equal(preflight.headers.get('access-control-allow-origin'), uiAsLocalhost);

    // Temporal's own CLI speaks the same protocol as the Web UI
    const viaCodec = JSON.parse(show(['--codec-endpoint', url])) as { events: Record<string, unknown>[] };
    const cliDecoded = historyPayloads(viaCodec.events);
    assert.ok(cliDecoded.every((p) => b64(p.metadata.encoding) === 'json/plain'), 'the CLI decodes through the codec server');
    assert.ok(findMarker(viaCodec, marker).length > 0);
  } finally {
    child.kill('SIGTERM');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
