import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redactConfig, validateConfig } from '../../src/config';
import { desiredSchedules, toScheduleOptions } from '../../src/export/schedules/desired';
import { retryAfterMs } from '../../src/inbox/activities';
import { batchIdOf } from '../../src/inbox/ledger';
import { folderDate, globToRegExp, hostileNameProblem, parseFolderDate, suffixedName } from '../../src/inbox/naming';
import { signatureHeaders, signatureProblem, signBody } from '../../src/inbox/signature';
import { configErrorOf, minimalRaw } from '../config/fixtures';

const SECRET = 'unit-test-hmac-secret-0123456789';
const inbox = (over: Record<string, unknown> = {}, api: Record<string, unknown> = {}) => ({
  ...minimalRaw(),
  inboxes: { partner_a: { path: '/upload/inbox', ...over, api: { url: 'https://api.example.com/batches', secret: SECRET, ...api } } },
});

test('inbox config: defaults as the seed (input, in_progress, *.pdf, batches of 5, 1.2 s stable, 1 min poll)', () => {
  const c = validateConfig(inbox());
  const i = c.inboxes.partner_a;
  assert.equal(i.source_dir, 'input');
  assert.equal(i.in_progress_dir, 'in_progress');
  assert.equal(i.failed_dir, 'failed');
  assert.equal(i.pattern, '*.pdf');
  assert.equal(i.batch_size, 5);
  assert.equal(i.stable_for, '1200ms');
  assert.equal(i.poll_interval, '1m');
  assert.equal(i.timezone, 'UTC');
  assert.equal(i.done_dir, undefined);
  assert.equal(validateConfig(minimalRaw()).inboxes && Object.keys(validateConfig(minimalRaw()).inboxes).length, 0, 'existing configs stay valid');
});

test('inbox config: every guard names its field when it is the only thing wrong', () => {
  const cases: [Record<string, unknown>, Record<string, unknown>, RegExp][] = [
    [{ path: 'relative/inbox' }, {}, /inboxes\.partner_a\.path: must be an absolute path/],
    [{ path: '/upload/../etc' }, {}, /inboxes\.partner_a\.path: must not contain '\.\.'/],
    [{ source_dir: '/abs' }, {}, /inboxes\.partner_a\.source_dir: must be relative/],
    [{ in_progress_dir: '../up' }, {}, /inboxes\.partner_a\.in_progress_dir: must not contain/],
    [{ pattern: 'a/*.pdf' }, {}, /inboxes\.partner_a\.pattern: must be a file name pattern/],
    [{ batch_size: 0 }, {}, /inboxes\.partner_a\.batch_size: must be a whole number between 1 and 1000/],
    [{ stable_for: 'soon' }, {}, /inboxes\.partner_a\.stable_for: must be a duration/],
    [{ poll_interval: '10ms' }, {}, /inboxes\.partner_a\.poll_interval: must be at least 1s/],
    [{ timezone: 'Mars/Base' }, {}, /inboxes\.partner_a\.timezone: must be an IANA time zone/],
    [{ pattren: '*.pdf' }, {}, /inboxes\.partner_a.*pattren/],
    [{}, { url: 'ftp://x' }, /inboxes\.partner_a\.api\.url: must be the http/],
    [{}, { secret: 'short' }, /inboxes\.partner_a\.api\.secret: must be at least 16 characters/],
    [{}, { max_attempts: 0 }, /inboxes\.partner_a\.api\.max_attempts/],
  ];
  for (const [over, api, re] of cases) {
    const err = configErrorOf(() => validateConfig(inbox(over, api)));
    assert.match(err.message, re, JSON.stringify({ over, api }));
    assert.equal(err.issues.length, 1, `only one problem for ${JSON.stringify({ over, api })}: ${err.message}`);
  }
  const bad = configErrorOf(() => validateConfig({ ...minimalRaw(), inboxes: { 'bad name!': inbox().inboxes.partner_a } }));
  assert.match(bad.message, /not a valid inbox name/);
});

test('the secret never shows in an error message, and config show redacts it', () => {
  const err = configErrorOf(() => validateConfig(inbox({ batch_size: 0 })));
  assert.ok(!err.message.includes(SECRET));
  assert.equal(redactConfig(validateConfig(inbox())).inboxes.partner_a.api.secret, '***');
});

test('names: pattern case-insensitive, hostile names, MMDDYYYY folders, suffixes', () => {
  const re = globToRegExp('*.pdf');
  assert.ok(re.test('a.pdf') && re.test('A.PDF') && re.test('x y#.Pdf'));
  assert.ok(!re.test('a.pdf.partial') && !re.test('a.txt'));
  assert.ok(globToRegExp('scan_??.pdf').test('scan_01.pdf'));
  assert.ok(globToRegExp('a+b(1).pdf').test('a+b(1).pdf'), 'regex characters are literal');
  assert.equal(hostileNameProblem('ok name #1 ünï.pdf'), undefined);
  assert.match(hostileNameProblem('a\\b.pdf')!, /path separator/);
  assert.match(hostileNameProblem('a\u0000b.pdf')!, /control/);
  assert.match(hostileNameProblem('a\u2028b.pdf')!, /control/);
  assert.equal(folderDate(new Date('2025-01-08T23:30:00Z'), 'UTC'), '01082025');
  assert.equal(folderDate(new Date('2025-01-08T23:30:00Z'), 'Asia/Tokyo'), '01092025');
  assert.equal(parseFolderDate('01082025'), Date.UTC(2025, 0, 8));
  assert.equal(parseFolderDate('13012025'), undefined);
  assert.equal(suffixedName('a.pdf', 2), 'a_2.pdf');
  assert.equal(suffixedName('noext', 1), 'noext_1');
});

test('batch ID: from the inbox and the set of files, whatever their order', () => {
  const f = (p: string) => ({ filename: p.split('/').pop()!, backup_path: p });
  const a = batchIdOf('x', [f('/i/1.pdf'), f('/i/2.pdf')]);
  assert.equal(a, batchIdOf('x', [f('/i/2.pdf'), f('/i/1.pdf')]));
  assert.notEqual(a, batchIdOf('y', [f('/i/1.pdf'), f('/i/2.pdf')]));
  assert.notEqual(a, batchIdOf('x', [f('/i/1.pdf')]));
  assert.match(a, /^[0-9a-f]{20}$/);
  const sized = { ...f('/i/1.pdf'), size: 10, mtime: 1000 };
  assert.notEqual(batchIdOf('x', [sized]), batchIdOf('x', [{ ...sized, mtime: 2000 }]), 'a re-upload at the same path is another batch');
});

test('signature: HMAC-SHA256 over "<timestamp>.<body>"; any change to body, timestamp or key is refused', () => {
  const body = JSON.stringify({ files: [{ filename: 'a.pdf', backup_path: '/x/a.pdf' }] });
  const h = signatureHeaders(SECRET, body, 'batch-1', 1_700_000_000_000);
  assert.equal(h['x-timestamp'], '1700000000');
  assert.equal(h['idempotency-key'], 'batch-1');
  assert.equal(h['x-signature'], signBody(SECRET, 1_700_000_000, body));
  const now = 1_700_000_010_000;
  assert.equal(signatureProblem(SECRET, h, Buffer.from(body), { now }), undefined);
  assert.match(signatureProblem(SECRET, h, Buffer.from(body + ' '), { now })!, /does not match/);
  assert.match(signatureProblem('another-secret-0123456789', h, Buffer.from(body), { now })!, /does not match/);
  assert.match(signatureProblem(SECRET, { ...h, 'x-timestamp': '1700000001' }, Buffer.from(body), { now })!, /does not match/);
  assert.match(signatureProblem(SECRET, h, Buffer.from(body), { now: now + 3_600_000 })!, /too far/);
  assert.match(signatureProblem(SECRET, { ...h, 'x-timestamp': undefined }, Buffer.from(body), { now })!, /missing/);
});

test('Retry-After: seconds or an HTTP date', () => {
  assert.equal(retryAfterMs('3'), 3000);
  assert.equal(retryAfterMs(new Date(10_000).toUTCString(), 5000), 5000);
  assert.equal(retryAfterMs('soon'), undefined);
  assert.equal(retryAfterMs(null), undefined);
});

test('schedules: one per enabled inbox, every poll_interval, overlap skip, starting InboxScheduledPollWorkflow', () => {
  const c = validateConfig({ ...inbox({ poll_interval: '30s' }), temporal: { task_queue: 'tq1' } });
  const mine = desiredSchedules(c).filter((d) => d.id.startsWith('tq1-inbox-'));
  assert.equal(mine.length, 1);
  const o = toScheduleOptions(mine[0]);
  assert.equal(o.scheduleId, 'tq1-inbox-partner_a');
  assert.deepEqual(o.spec.intervals, [{ every: '30000ms' }]);
  assert.equal(o.policies?.overlap, 'SKIP');
  assert.equal(o.action.workflowType, 'InboxScheduledPollWorkflow');
  assert.deepEqual(o.action.args, [{ inbox: 'partner_a' }]);
  const off = validateConfig({ ...inbox({ enabled: false }), temporal: { task_queue: 'tq1' } });
  assert.equal(desiredSchedules(off).filter((d) => d.id.startsWith('tq1-inbox-')).length, 0);
});
