// Bundles the workflow code into one file (run by workflow-bundle.ts in its own process).
import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';

async function main(): Promise<void> {
  const [workflowsPath, out] = process.argv.slice(2);
  // the run-outcome metrics interceptor (src/metrics/workflow-interceptors) goes into the bundle
  const workflowInterceptorModules = [path.join(__dirname, '..', 'metrics', 'workflow-interceptors')];
  const { code } = await bundleWorkflowCode({ workflowsPath, workflowInterceptorModules });
  fs.writeFileSync(out, code);
}

main().catch((err: unknown) => {
  process.stderr.write(`bundling the workflow code failed: ${(err as Error).stack}\n`);
  process.exit(1);
});
