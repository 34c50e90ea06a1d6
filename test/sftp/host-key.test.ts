import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describeHostKey, fingerprintOf, keyTypeOf, parseHostKeyPin, SftpError } from '../../src/sftp';
import { stack } from '../helpers/stack';
import { stackLayout } from '../../src/stack/layout';

const info = stack();
const pubLine = fs.readFileSync(path.join(stackLayout().stateDir, 'sshd', 'ssh_host_ed25519_key.pub'), 'utf8');
const blob = Buffer.from(pubLine.split(/\s+/)[1], 'base64');

void describe('host keys', () => {
  test("fingerprint and known_hosts line of the stack's host key match what ssh-keygen/ssh-keyscan give", () => {
    assert.equal(fingerprintOf(blob), info.sftp.hostKeyFingerprint);
    assert.equal(keyTypeOf(blob), 'ssh-ed25519');
    assert.equal(describeHostKey(blob, info.sftp.host, info.sftp.port).knownHostsLine, info.sftp.knownHostsLine);
    assert.equal(describeHostKey(blob, 'example.com', 22).knownHostsLine.split(' ')[0], 'example.com');
  });

  test('a pin matches by fingerprint, by known_hosts line (with or without hosts field, markers, comments), or any of several lines', () => {
    const other = Buffer.concat([blob.subarray(0, blob.length - 1), Buffer.from([blob[blob.length - 1] ^ 1])]);
    const pins = [
      info.sftp.hostKeyFingerprint,
      `${info.sftp.hostKeyFingerprint}=`,
      info.sftp.knownHostsLine,
      `ssh-ed25519 ${blob.toString('base64')} comment here`,
      `@cert-authority ${info.sftp.knownHostsLine}`,
    ];
    for (const p of pins) {
      const pin = parseHostKeyPin(p);
      assert.ok(pin.matches(blob), p);
      assert.ok(!pin.matches(other), p);
    }
    const several = parseHostKeyPin(`# old and new key\n${fingerprintOf(other)}\n${info.sftp.knownHostsLine}\n`);
    assert.ok(several.matches(blob) && several.matches(other));
    assert.equal(several.fingerprints.length, 2);
    assert.deepEqual(parseHostKeyPin(info.sftp.knownHostsLine).keyTypes, ['ssh-ed25519']);
  });

  test('unusable pins are refused with a message pointing to `check`', () => {
    for (const bad of ['', 'SHA256:short', 'not a key', '[h]:22 ssh-ed25519 !!!', `@revoked ${info.sftp.knownHostsLine}`, `ssh-rsa ${blob.toString('base64')}`]) {
      assert.throws(
        () => parseHostKeyPin(bad),
        (err: unknown) => err instanceof SftpError && err.type === 'SftpConfigInvalid' && /bq-sftp sftp check/.test(err.message),
        bad,
      );
    }
  });
});
