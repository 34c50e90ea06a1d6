// What a workflow result may carry: Temporal refuses payloads above 2 MB and every result is an
// event in the run's history, so lists of file names are capped (no Node built-ins: the workflow
// imports this too).

/** At most this many names of one list go into a result; the counts are always exact. */
export const FILE_SAMPLE = 100;

export function sampleOf<T>(items: T[]): T[] {
  return items.length > FILE_SAMPLE ? items.slice(0, FILE_SAMPLE) : items;
}
