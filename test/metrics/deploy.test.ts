import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { registry } from '../../src/metrics';
import { configSchema } from '../../src/config';
import { parsePrometheusText } from './prom-text';

const root = path.resolve(__dirname, '..', '..');
/** our metric names, with the _bucket/_sum/_count series of histograms */
async function ourNames(): Promise<Set<string>> {
  const names = new Set<string>();
  for (const m of await registry.getMetricsAsJSON()) {
    names.add(m.name);
    if (String(m.type) === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(m.name + s);
  }
  return names;
}

void test('the alert rules, the Grafana dashboard and the README name only metrics that exist', async () => {
  const names = await ourNames();
  const alerts = fs.readFileSync(path.join(root, 'deploy/prometheus-alerts.yml'), 'utf8');
  const dashboard = JSON.parse(fs.readFileSync(path.join(root, 'deploy/grafana-dashboard.json'), 'utf8')) as { panels: { targets: { expr: string }[] }[] };
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const exprs = [...alerts.matchAll(/^\s+expr: (.*)$/gm)].map((m) => m[1]);
  assert.equal(exprs.length, 3, 'three alert rules');
  for (const t of dashboard.panels.flatMap((p) => p.targets)) exprs.push(t.expr);
  const referenced = new Set(exprs.join(' ').match(/\bbqsftp_[a-z_]+/g));
  const monitoring = readme.slice(readme.indexOf('## Monitoring'));
  for (const n of monitoring.slice(0, monitoring.indexOf('\n## ', 5)).match(/\bbqsftp_[a-z_]+/g) ?? []) referenced.add(n);
  assert.ok(referenced.size >= 8);
  for (const n of referenced) assert.ok(names.has(n) || n === 'bqsftp_sdk_metrics_up', `${n} is not a bq-sftp metric`);
  for (const n of names) if (!/_(bucket|sum|count)$/.test(n)) assert.ok(monitoring.includes(n), `README "Monitoring" does not list ${n}`);
});

void test('our registry alone renders valid Prometheus text', async () => {
  const samples = parsePrometheusText(await registry.metrics());
  assert.ok(Array.isArray(samples));
});

void test('config metrics.prometheus: port required and in range, unknown keys refused, block optional', () => {
  const base = { gcs: { bucket: 'my-exports' }, sftp: { host: 'h', username: 'u', password: 'p', directory: '/upload' } };
  assert.equal(configSchema.parse(base).metrics.prometheus, undefined);
  assert.deepEqual(configSchema.parse({ ...base, metrics: { prometheus: { port: 9464 } } }).metrics.prometheus, { port: 9464, host: '0.0.0.0' });
  const bad = configSchema.safeParse({ ...base, metrics: { prometheus: { port: 70000 } } });
  assert.ok(!bad.success && bad.error.issues.some((i) => i.path.join('.') === 'metrics.prometheus.port' && /between 1 and 65535/.test(i.message)));
  const unknown = configSchema.safeParse({ ...base, metrics: { prometheus: { port: 9464, bind: 'x' } } });
  assert.ok(!unknown.success && unknown.error.issues.some((i) => i.path.join('.').startsWith('metrics.prometheus')));
});
