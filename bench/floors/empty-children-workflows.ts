// Workflows of bench/floors/empty-children.ts: a parent that runs `n` child workflows that do nothing, `width` at a time.
import { executeChild, workflowInfo } from '@temporalio/workflow';

export async function emptyChild(): Promise<number> {
  return 1;
}

export async function emptyChildrenParent(n: number, width: number): Promise<number> {
  let next = 0;
  let done = 0;
  const lane = async () => {
    while (next < n) {
      const i = next++;
      await executeChild(emptyChild, { workflowId: `${workflowInfo().workflowId}-child-${i}` });
      done++;
    }
  };
  await Promise.all(Array.from({ length: width }, lane));
  return done;
}
