import fs from 'node:fs';
import path from 'node:path';

/** The package root: the repo in a checkout (src/..), the installed package (dist/..). */
export const PACKAGE_ROOT = path.resolve(__dirname, '..');

function versionOf(file: string): string {
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
}

/** bq-sftp's own version (package.json). */
export function packageVersion(): string {
  return versionOf(path.join(PACKAGE_ROOT, 'package.json'));
}

/** The Temporal TypeScript SDK version the worker runs (@temporalio/worker). */
export function temporalSdkVersion(): string {
  return versionOf(require.resolve('@temporalio/worker/package.json'));
}

/** What `bq-sftp --version` prints. */
export function versionLine(): string {
  return `bq-sftp ${packageVersion()} (Temporal TypeScript SDK ${temporalSdkVersion()}, Node.js ${process.versions.node})`;
}
