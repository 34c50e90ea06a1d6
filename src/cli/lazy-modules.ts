/**
 * Modules several commands need only when they run, not to print the help (see
 * test/cli/lazy-load.test.ts): each accessor loads its module on first call.
 */
import type * as TemporalClientModule from '@temporalio/client';
import type * as NotifyModule from '../activities/notify';
import type * as DescribeFailureModule from '../workflows/describe-failure';

/* eslint-disable @typescript-eslint/no-require-imports */
export const temporalClient = () => require('@temporalio/client') as typeof TemporalClientModule;
export const notify = () => require('../activities/notify') as typeof NotifyModule;
export const failures = () => require('../workflows/describe-failure') as typeof DescribeFailureModule;
/* eslint-enable @typescript-eslint/no-require-imports */
