import { describe, expect, it } from "vitest";
import { waitedMinutes } from "./waiting";

describe("waitedMinutes", () => {
  it("counts whole minutes and never goes below zero", () => {
    expect(waitedMinutes(1000, 1000_000)).toBe(0);
    expect(waitedMinutes(1000, (1000 + 59) * 1000)).toBe(0);
    expect(waitedMinutes(1000, (1000 + 240) * 1000)).toBe(4);
    expect(waitedMinutes(2000, 1000_000)).toBe(0);
  });
});
