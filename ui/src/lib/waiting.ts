/** Whole minutes a patient has waited since `since` (unix seconds); never negative. */
export function waitedMinutes(since: number, nowMs: number): number {
  return Math.max(0, Math.floor((nowMs / 1000 - since) / 60));
}
