import type { InjectedSinks } from '@temporalio/worker';
import type { MetricsSinks } from './workflow-interceptors';
import { familyOf, metrics } from './registry';

/** The worker side of the run-outcome sink (see workflow-interceptors.ts). */
export function metricsSinks(): InjectedSinks<MetricsSinks> {
  return {
    bqsftpMetrics: {
      runFinished: {
        fn: (info, status, job) => metrics.runFinished({ family: familyOf(info.workflowType), workflow: info.workflowType, job, status }),
        callDuringReplay: false,
      },
    },
  };
}
