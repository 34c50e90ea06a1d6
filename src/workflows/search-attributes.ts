import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Registered on the dev server by `stack up` (see src/stack/services.ts). */
export const ExportNameKey = defineSearchAttributeKey('ExportName', SearchAttributeType.KEYWORD);
export const ExportDateKey = defineSearchAttributeKey('ExportDate', SearchAttributeType.KEYWORD);
export const ExportStatusKey = defineSearchAttributeKey('ExportStatus', SearchAttributeType.KEYWORD);

export type ExportStatus = 'running' | 'succeeded' | 'failed';
/** Set by Temporal on runs a Schedule starts. */
export const ScheduledStartTimeKey = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);
