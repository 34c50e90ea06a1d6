/**
 * The logical date of a scheduled run (Airflow's `ds`): the scheduled time's calendar day in the
 * schedule's time zone, minus an offset. Derived from the scheduled time, not the clock, so late
 * and catch-up runs export the right day.
 */
export function logicalDate(scheduledTime: Date, offsetDays: number, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(scheduledTime);
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value);
  const day = new Date(Date.UTC(get('year'), get('month') - 1, get('day') - offsetDays));
  return day.toISOString().slice(0, 10);
}
