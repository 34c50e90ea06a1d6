/* global process, setTimeout */
// Preloaded into every test file's process (scripts/run-tests.sh). The test runner ends a file
// that overran --test-timeout with SIGTERM and then waits for it to exit; a file that runs a
// Temporal worker in-process gets the SDK's SIGTERM handler, which shuts the worker down
// gracefully — waiting for whatever activity is stuck — so the file, and with it the whole test
// run, would never end. After SIGTERM, a file has this long to finish, then it exits.
const GRACE_MS = Number(process.env.BQSFTP_TEST_SIGTERM_GRACE_MS) || 15_000;
process.once('SIGTERM', () => {
  setTimeout(() => {
    process.stderr.write(`test file still running ${GRACE_MS / 1000} s after SIGTERM (timed out?): exiting\n`);
    process.exit(143);
  }, GRACE_MS).unref();
});
