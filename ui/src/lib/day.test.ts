import { describe, expect, it } from "vitest";
import { addDays, dayBounds } from "./day";

describe("local days", () => {
  it("spans exactly one calendar day, also across a DST change", () => {
    for (const d of [new Date(2026, 2, 29, 12), new Date(2026, 9, 25, 12), new Date(2026, 10, 23, 9)]) {
      const { from, to } = dayBounds(d);
      expect(new Date(from * 1000).getHours()).toBe(0);
      expect(new Date(to * 1000).getDate()).toBe(addDays(d, 1).getDate());
      expect(to - from).toBeGreaterThanOrEqual(23 * 3600);
      expect(to - from).toBeLessThanOrEqual(25 * 3600);
    }
  });
});
