/**
 * The inbox with OpenPGP uploads, on the real stack: files gpg encrypted to us (and the partner
 * signed) are decrypted while they stream, SFTP → SFTP, and submitted once under their plaintext
 * name; a tampered file or one signed by another key is never submitted: it moves to
 * failed/MMDDYYYY/ with `<name>.error.json` saying why, and the poll sends one Slack message.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { buildActivityDeps } from '../../src/activities/deps';
import { createInboxActivities } from '../../src/inbox/activities';
import { startInboxReceiver } from '../../src/inbox/receiver';
import { pgpPlainName, suffixedName } from '../../src/inbox/naming';
import { localSftpPath, withWorker } from '../helpers/export';
import { startSlackReceiver } from '../helpers/slack-receiver';
import { dropFiles, inboxTestConfig, listDisk, pdf, poll, SECRET, today } from '../inbox/helpers';
import { gpgParty, trust } from './gpg';

const us = gpgParty('us', { passphrase: 'inbox-pass' });
const partner = gpgParty('partner');
const stranger = gpgParty('stranger');
trust(partner, us);
trust(stranger, us);

const keyId = (fpr: string) => fpr.slice(-16).toUpperCase();
const pgpBlock = { decryption_private_key: us.secretArmored, passphrase: us.passphrase, verification_keys: [partner.publicArmored] };
const sealed = (by: typeof partner, data: Buffer, extra: string[] = []) => by.gpg(['--recipient', us.fingerprint, '--sign', '--encrypt', ...extra], data);

test('an OpenPGP name keeps its suffix last when it must be renamed', () => {
  assert.equal(suffixedName('a.pdf.pgp', 1), 'a_1.pdf.pgp');
  assert.equal(suffixedName('A.PDF.GPG', 2), 'A_2.PDF.GPG');
  assert.equal(suffixedName('a.pdf', 1), 'a_1.pdf');
  assert.equal(pgpPlainName('a.pdf.asc'), 'a.pdf');
  assert.equal(pgpPlainName('.pgp'), undefined);
  assert.equal(pgpPlainName('a.pdf'), undefined);
});

test('encrypted + signed uploads are decrypted and submitted once as plaintext; tampered and wrongly signed ones go to failed/ with the reason, one Slack message', async () => {
  const receiver = await startInboxReceiver({ secret: SECRET });
  const slack = await startSlackReceiver();
  try {
    const { config, name, base } = inboxTestConfig(receiver.url, {}, { pgp: pgpBlock, slack: { webhook_url: slack.url } });
    const good = Buffer.concat([pdf(1), crypto.randomBytes(300_000)]);
    const armored = pdf(2, 5000);
    const dup = pdf(3);
    const tampered = sealed(partner, pdf(4, 50_000), ['--compress-algo', 'none']);
    tampered[tampered.length - 200] ^= 0x10;
    dropFiles(`${base}/input`, {
      'good.pdf.pgp': sealed(partner, good),
      'armored.pdf.asc': sealed(partner, armored, ['--armor']),
      // a plain file and an encrypted one that decrypts to the same name: neither replaces the other
      'dup.pdf': pdf(9),
      'dup.pdf.gpg': sealed(partner, dup),
      'tampered.pdf.gpg': tampered,
      'stranger.pdf.pgp': sealed(stranger, pdf(5)),
      'other.txt.pgp': sealed(partner, Buffer.from('not a pdf')),
    });
    const result = await withWorker(config, (client) => poll(client, config, name));
    const date = today(config, name);
    const inProgress = `${base}/in_progress/${date}`;

    const got = receiver.accepted().flatMap((r) => r.files.map((f) => f.filename)).sort();
    assert.deepEqual(got, ['armored.pdf', 'dup.pdf', 'dup_1.pdf', 'good.pdf'], 'the decrypted files and the plain one, each exactly once; nothing refused');
    assert.ok(receiver.requests.every((r) => !r.signature_problem));
    for (const r of receiver.accepted()) for (const f of r.files) assert.equal(f.backup_path, `${inProgress}/${f.filename}`);
    assert.deepEqual(fs.readFileSync(localSftpPath(`${inProgress}/good.pdf`)), good, 'plaintext bytes equal what the partner encrypted');
    assert.deepEqual(fs.readFileSync(localSftpPath(`${inProgress}/armored.pdf`)), armored);
    assert.deepEqual(fs.readFileSync(localSftpPath(`${inProgress}/dup.pdf`)), pdf(9), 'the plain dup.pdf is untouched');
    assert.deepEqual(fs.readFileSync(localSftpPath(`${inProgress}/dup_1.pdf`)), dup);
    assert.deepEqual(listDisk(inProgress), ['armored.pdf', 'dup.pdf', 'dup_1.pdf', 'good.pdf'], 'no encrypted file and no temp file left');
    assert.deepEqual(listDisk(`${base}/input`), ['other.txt.pgp'], 'a file whose plaintext name does not match the pattern is left alone');
    assert.deepEqual(listDisk(`${base}/.bq-sftp/decrypting/${date}`), []);

    assert.deepEqual(listDisk(`${base}/failed/${date}`), ['stranger.pdf.pgp', 'stranger.pdf.pgp.error.json', 'tampered.pdf.gpg', 'tampered.pdf.gpg.error.json']);
    const report = (f: string) => JSON.parse(fs.readFileSync(localSftpPath(`${base}/failed/${date}/${f}.error.json`), 'utf8'));
    const t = report('tampered.pdf.gpg');
    assert.match(t.error.type, /^(PgpIntegrityFailed|PgpSignatureInvalid|PgpDecryptionFailed)$/);
    assert.match(t.error.message, /tampered\.pdf\.gpg/);
    assert.equal(t.claimed_as, `${inProgress}/tampered.pdf.gpg`);
    const w = report('stranger.pdf.pgp');
    assert.equal(w.error.type, 'PgpSignatureInvalid');
    assert.match(w.error.message, /stranger\.pdf\.pgp/);
    assert.ok(w.error.key_ids.includes(keyId(stranger.fingerprint)), `the stranger's key id is named: ${w.error.key_ids}`);
    assert.match(w.error.message, new RegExp(keyId(stranger.fingerprint)));
    assert.deepEqual(fs.readFileSync(localSftpPath(`${base}/failed/${date}/tampered.pdf.gpg`)), tampered, 'the refused file is kept as it came');

    assert.equal(result.decrypted?.length, 3);
    assert.deepEqual(result.refused_pgp?.map((r) => r.file.slice(r.file.lastIndexOf('/') + 1)).sort(), ['stranger.pdf.pgp', 'tampered.pdf.gpg']);
    assert.deepEqual(result.pgp_errors, []);
    assert.equal(slack.messages.length, 1, 'exactly one Slack message for the poll');
    const text = JSON.stringify(slack.messages[0]);
    assert.match(text, /stranger\.pdf\.pgp/);
    assert.match(text, /tampered\.pdf\.gpg/);
    assert.match(text, new RegExp(name));

    // nothing is submitted twice, nothing refused is tried again, no second message
    const again = await withWorker(config, (client) => poll(client, config, name));
    assert.equal(again.batches.length, 0);
    assert.equal(again.claimed.length, 0);
    assert.equal(receiver.accepted().length, result.batches.length);
    assert.equal(slack.messages.length, 1);
  } finally {
    await receiver.close();
    await slack.close();
  }
});

test('a file decrypted by an attempt that stopped before moving it into place is placed and submitted once; a second encrypted copy of it does not come back', async () => {
  const receiver = await startInboxReceiver({ secret: SECRET });
  try {
    const { config, name, base } = inboxTestConfig(receiver.url, {}, { pgp: pgpBlock });
    const date = today(config, name);
    // as a crash after "decrypted, encrypted file removed" leaves it: the plaintext in the state folder only
    const plain = pdf(7, 10_000);
    dropFiles(`${base}/.bq-sftp/decrypting/${date}`, { 'late.pdf.pgp': plain });
    dropFiles(`${base}/in_progress/${date}`, {});
    const result = await withWorker(config, (client) => poll(client, config, name));
    assert.deepEqual(result.decrypted?.map((d) => d.backup_path), [`${base}/in_progress/${date}/late.pdf`]);
    assert.deepEqual(result.stranded, [], 'a decrypted file is not reported as stranded');
    assert.deepEqual(receiver.accepted().flatMap((r) => r.files.map((f) => f.filename)), ['late.pdf']);
    assert.deepEqual(fs.readFileSync(localSftpPath(`${base}/in_progress/${date}/late.pdf`)), plain);
    assert.deepEqual(listDisk(`${base}/.bq-sftp/decrypting/${date}`), []);
    const again = await withWorker(config, (client) => poll(client, config, name));
    assert.equal(again.batches.length, 0);
  } finally {
    await receiver.close();
  }
});

test('"decrypt": false passes OpenPGP files through as they are; with decryption on and no key, the file waits in in_progress/ with a ConfigInvalid naming pgp', async () => {
  const receiver = await startInboxReceiver({ secret: SECRET });
  try {
    const sealedPdf = sealed(partner, pdf(1));
    const off = inboxTestConfig(receiver.url, { decrypt: false, pattern: '*.pgp' }, { pgp: pgpBlock });
    dropFiles(`${off.base}/input`, { 'as-is.pdf.pgp': sealedPdf });
    await withWorker(off.config, (client) => poll(client, off.config, off.name));
    assert.deepEqual(receiver.accepted().flatMap((r) => r.files.map((f) => f.filename)), ['as-is.pdf.pgp']);
    assert.deepEqual(fs.readFileSync(localSftpPath(`${off.base}/in_progress/${today(off.config, off.name)}/as-is.pdf.pgp`)), sealedPdf, 'bytes unchanged');

    const noKey = inboxTestConfig(receiver.url, { decrypt: true });
    dropFiles(`${noKey.base}/input`, { 'wait.pdf.pgp': sealedPdf });
    const r = await withWorker(noKey.config, (client) => poll(client, noKey.config, noKey.name));
    assert.equal(receiver.accepted().length, 1, 'nothing more submitted');
    assert.equal(r.pgp_errors?.length, 1);
    assert.match(r.pgp_errors![0].error, /^ConfigInvalid:[\s\S]*\bpgp\b/);
    assert.deepEqual(listDisk(`${noKey.base}/in_progress/${today(noKey.config, noKey.name)}`), ['wait.pdf.pgp'], 'left for a poll after the key is configured');
  } finally {
    await receiver.close();
  }
});

test('inboxDecrypt refuses a path outside in_progress/<day>/ or without an OpenPGP suffix (InboxDecryptRefused), touching nothing', async () => {
  const { config, name, base } = inboxTestConfig('http://127.0.0.1:9/unused', {}, { pgp: pgpBlock });
  const date = today(config, name);
  dropFiles(`${base}/input`, { 'x.pdf.pgp': sealed(partner, pdf(1)) });
  dropFiles(`${base}/in_progress/${date}`, { 'plain.pdf': pdf(2) });
  const { inboxDecrypt } = createInboxActivities(buildActivityDeps(config));
  for (const path of [`${base}/input/x.pdf.pgp`, `${base}/in_progress/${date}/plain.pdf`, `${base}/in_progress/x.pdf.pgp`]) {
    const err = await new MockActivityEnvironment().run(inboxDecrypt, { inbox: name, path }).then(() => assert.fail(`${path} should be refused`), (e: unknown) => e);
    assert.ok(err instanceof ApplicationFailure, String(err));
    assert.equal(err.type, 'InboxDecryptRefused');
    assert.equal(err.nonRetryable, true);
  }
  assert.deepEqual(listDisk(`${base}/input`), ['x.pdf.pgp']);
  assert.deepEqual(listDisk(`${base}/in_progress/${date}`), ['plain.pdf']);
});
