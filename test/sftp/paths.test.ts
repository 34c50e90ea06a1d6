import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertSafeName, resolveInside, SftpError } from '../../src/sftp';

function unsafe(fn: () => unknown): SftpError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof SftpError, `expected an SftpError, got ${String(err)}`);
    assert.equal(err.type, 'SftpUnsafePath');
    assert.equal(err.retryable, false);
    return err;
  }
  assert.fail('expected the path to be refused');
}

void describe('assertSafeName', () => {
  test('accepts plain file names, including dots and spaces inside', () => {
    for (const name of ['a.csv', 'F_20250108-000000000000.csv.gz', '.hidden', 'x..y', 'name with spaces', 'ünïcödé.txt']) {
      assert.doesNotThrow(() => assertSafeName(name), name);
    }
  });

  test('refuses empty, . and .., separators, traversal, NUL and control characters', () => {
    const cases: [string, RegExp][] = [
      ['', /empty/],
      ['.', /directory/],
      ['..', /directory/],
      ['../etc/passwd', /"\.\."/],
      ['a/../../b', /"\.\."/],
      ['/etc/passwd', /starts with "\/"/],
      ['dir/file.csv', /without "\/"/],
      ['a\u0000b', /control/],
      ['line\nbreak', /control/],
      ['tab\there', /control/],
      ['del\u007f', /control/],
      ['c1\u0085next-line', /control/],
      ['line\u2028separator', /control/],
      ['windows\\separator.csv', /without "\\"/],
    ];
    for (const [name, why] of cases) assert.match(unsafe(() => assertSafeName(name)).message, why, JSON.stringify(name));
  });
});

void describe('resolveInside', () => {
  test('resolves relative and absolute paths inside the base', () => {
    assert.equal(resolveInside('/upload', 'a.csv'), '/upload/a.csv');
    assert.equal(resolveInside('/upload/', 'sub/dir/'), '/upload/sub/dir');
    assert.equal(resolveInside('/upload', '/upload/x/y'), '/upload/x/y');
    assert.equal(resolveInside('/upload', 'x/../y'), '/upload/y');
    assert.equal(resolveInside('/', 'anything'), '/anything');
  });

  test('refuses anything outside the base, including look-alike prefixes', () => {
    for (const p of ['..', '../x', '/etc/passwd', '/uploadx/a', '/upload/../etc', 'a/../../b', '/']) {
      assert.match(unsafe(() => resolveInside('/upload', p)).message, /outside the folder \/upload|is the folder/, p);
    }
  });

  test('refuses the base itself unless allowed', () => {
    unsafe(() => resolveInside('/upload', '.'));
    unsafe(() => resolveInside('/upload', '/upload/'));
    assert.equal(resolveInside('/upload', '.', { allowBase: true }), '/upload');
  });

  test('refuses NUL or control characters and a relative base', () => {
    unsafe(() => resolveInside('/upload', 'a\u0000/../../etc'));
    unsafe(() => resolveInside('upload', 'a'));
    unsafe(() => resolveInside('/upload', ''));
  });
});
