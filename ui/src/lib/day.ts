// Local-day arithmetic for the schedule: the core stores UTC instants, the clinician thinks in
// their computer's days. DST-safe: days are built from calendar dates, never by adding 86400 s.

/** Midnight (local) of the day containing `d`. */
export function startOfDay(d: Date): Date {
  return new Date(d.getFullYear(), d.getMonth(), d.getDate());
}

/** The same local day `n` days later (negative: earlier). */
export function addDays(d: Date, n: number): Date {
  return new Date(d.getFullYear(), d.getMonth(), d.getDate() + n);
}

/** [start, end) of the local day as unix seconds, what the core's day query takes. */
export function dayBounds(d: Date): { from: number; to: number } {
  const s = startOfDay(d);
  return { from: Math.floor(s.getTime() / 1000), to: Math.floor(addDays(s, 1).getTime() / 1000) };
}

export function isSameDay(a: Date, b: Date): boolean {
  return startOfDay(a).getTime() === startOfDay(b).getTime();
}

export function timeOf(unix: number): string {
  return new Date(unix * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

export function dayTitle(d: Date): string {
  return d.toLocaleDateString([], { weekday: "long", day: "numeric", month: "long", year: "numeric" });
}

/** "10:42" today, else "Mon 23 Nov, 10:42". */
export function whenSynced(unix: number, now = new Date()): string {
  const d = new Date(unix * 1000);
  return isSameDay(d, now)
    ? `${timeOf(unix)} today`
    : `${d.toLocaleDateString([], { weekday: "short", day: "numeric", month: "short" })}, ${timeOf(unix)}`;
}
